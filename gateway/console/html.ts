/**
 * HTML for the console, escaped by construction: {@link html} escapes every interpolated value unless it is
 * already {@link SafeHtml} (the result of another `html` template). Tenant names, service names, routes and
 * error texts come from the configuration, from Entra or from clients, and are treated as hostile.
 */

/** A fragment of HTML that is safe to insert as it is (built by {@link html} or {@link joinHtml}). */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/**
 * Escapes text for an HTML element body or a quoted attribute value.
 *
 * @example
 * escapeHtml('<b title="x">') // "&lt;b title=&quot;x&quot;&gt;"
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** A value that may appear in an {@link html} template. */
export type HtmlValue = SafeHtml | string | number | boolean | undefined | null | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.text;
  if (value === undefined || value === null || value === false) return "";
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/**
 * Tagged template: the literal parts are trusted markup, every `${value}` is escaped (arrays are joined,
 * `undefined`/`null`/`false` render nothing, nested `html` fragments are kept).
 *
 * @example
 * html`<td>${tenant.name}</td>` // a name "<script>" renders as "&lt;script&gt;"
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Joins fragments (each already safe) into one. */
export function joinHtml(parts: readonly SafeHtml[], separator = ""): SafeHtml {
  return new SafeHtml(parts.map((p) => p.text).join(separator));
}
