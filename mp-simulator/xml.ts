/**
 * A small, strict XML reader and writer helpers for the CM message bodies: elements, attributes, text and
 * CDATA, nothing else. DTDs and entity declarations are refused (no entity expansion, no external fetch);
 * depth and element count are bounded. Malformed input throws `body_malformed`.
 */
import { MpError } from "./errors.js";

/** A parsed element. */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Concatenated text and CDATA directly inside this element. */
  readonly text: string;
}

const MAX_DEPTH = 64;
const MAX_ELEMENTS = 10_000;
const NAME = /^[A-Za-z_][\w.:-]*$/;

/** Escapes text or attribute content. */
export function escapeXml(value: string): string {
  return value.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] as string,
  );
}

function decodeEntities(raw: string): string {
  return raw.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos|[^;\s]*);?/g, (whole, ent: string) => {
    if (!whole.endsWith(";")) throw new MpError("body_malformed", "XML: unterminated entity reference.");
    if (ent.startsWith("#x")) return String.fromCodePoint(Number.parseInt(ent.slice(2), 16));
    if (ent.startsWith("#")) return String.fromCodePoint(Number.parseInt(ent.slice(1), 10));
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
    const value = named[ent];
    if (value === undefined) throw new MpError("body_malformed", `XML: unknown entity '&${ent};'.`);
    return value;
  });
}

function parseAttributes(raw: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  const re = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/gy;
  let rest = raw;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  let consumed = 0;
  // biome-ignore lint/suspicious/noAssignInExpressions: the usual regex loop
  while ((m = re.exec(rest)) !== null) {
    const name = m[1]!;
    if (name in attributes) throw new MpError("body_malformed", `XML: attribute '${name}' is repeated.`);
    attributes[name] = decodeEntities(m[3] ?? m[4] ?? "");
    consumed = re.lastIndex;
  }
  rest = rest.slice(consumed);
  if (rest.trim() !== "") throw new MpError("body_malformed", "XML: malformed attributes.");
  return attributes;
}

interface Building {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** Parses a document with exactly one root element. */
export function parseXml(input: string): XmlElement {
  const xml = input.replace(/^\uFEFF/, "");
  const stack: Building[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  let i = 0;
  const fail = (why: string): never => {
    throw new MpError("body_malformed", `XML: ${why}`);
  };
  const appendText = (text: string) => {
    const top = stack[stack.length - 1];
    if (top) top.text += text;
    else if (text.trim() !== "") fail("text outside the root element.");
  };
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    if (lt < 0) {
      appendText(decodeEntities(xml.slice(i)));
      break;
    }
    if (lt > i) appendText(decodeEntities(xml.slice(i, lt)));
    if (xml.startsWith("<!--", lt)) {
      const end = xml.indexOf("-->", lt + 4);
      if (end < 0) fail("unterminated comment.");
      i = end + 3;
    } else if (xml.startsWith("<![CDATA[", lt)) {
      const end = xml.indexOf("]]>", lt + 9);
      if (end < 0) fail("unterminated CDATA section.");
      if (stack.length === 0) fail("CDATA outside the root element.");
      appendText(xml.slice(lt + 9, end));
      i = end + 3;
    } else if (xml.startsWith("<?", lt)) {
      const end = xml.indexOf("?>", lt + 2);
      if (end < 0) fail("unterminated processing instruction.");
      i = end + 2;
    } else if (xml.startsWith("<!", lt)) {
      fail("DTDs and declarations are not accepted.");
    } else {
      const gt = xml.indexOf(">", lt + 1);
      if (gt < 0) fail("unterminated tag.");
      const inner = xml.slice(lt + 1, gt);
      i = gt + 1;
      if (inner.startsWith("/")) {
        const name = inner.slice(1).trim();
        const open = stack.pop();
        if (!open || open.name !== name) fail(`unexpected closing tag '</${name}>'.`);
        const done: XmlElement = {
          name: open!.name,
          attributes: open!.attributes,
          children: open!.children,
          text: open!.text,
        };
        const parent = stack[stack.length - 1];
        if (parent) parent.children.push(done);
        else root = done;
        continue;
      }
      const selfClosing = inner.endsWith("/");
      const body = selfClosing ? inner.slice(0, -1) : inner;
      const nameEnd = body.search(/\s|$/);
      const name = body.slice(0, nameEnd);
      if (!NAME.test(name)) fail(`invalid element name '${name}'.`);
      if (root !== undefined || (stack.length === 0 && count > 0)) fail("more than one root element.");
      count += 1;
      if (count > MAX_ELEMENTS) fail("too many elements.");
      const element: Building = { name, attributes: parseAttributes(body.slice(nameEnd)), children: [], text: "" };
      if (selfClosing) {
        const parent = stack[stack.length - 1];
        if (parent) parent.children.push(element);
        else root = element;
      } else {
        stack.push(element);
        if (stack.length > MAX_DEPTH) fail("nesting too deep.");
      }
    }
  }
  if (stack.length > 0) fail(`element '${stack[stack.length - 1]!.name}' is not closed.`);
  if (!root) fail("no root element.");
  return root!;
}

/** The first child named `name` (case-insensitive), searching depth-first below `element`. */
export function findElement(element: XmlElement, name: string): XmlElement | undefined {
  const wanted = name.toLowerCase();
  for (const child of element.children) {
    if (child.name.toLowerCase() === wanted) return child;
    const deeper = findElement(child, name);
    if (deeper) return deeper;
  }
  return undefined;
}

/** Trimmed text of the first descendant named `name`, or `undefined`. */
export function textOf(element: XmlElement, name: string): string | undefined {
  const found = findElement(element, name);
  const text = found?.text.trim();
  return text === undefined || text === "" ? undefined : text;
}

/** `<Property Name="…" Value="…"/>` pairs below `element` (CM's DiscoveryProperties shape). */
export function propertiesOf(element: XmlElement): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (e: XmlElement) => {
    for (const child of e.children) {
      const name = child.attributes.Name;
      if (child.name === "Property" && name !== undefined) out.set(name, child.attributes.Value ?? child.text.trim());
      walk(child);
    }
  };
  walk(element);
  return out;
}
