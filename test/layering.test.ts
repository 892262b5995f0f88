/**
 * The folders' dependencies point down only (docs/architecture.md § Layout and dependencies): every `.ts` file
 * of the repository (outside node_modules, dist and hidden folders) is parsed, each import between two
 * top-level folders becomes an edge, and:
 * - a simulator (`entra-simulator/`, `mp-simulator/`, `client-simulator/`) imports neither `gateway/` nor `stack/`;
 * - `lib/` imports no folder of the project;
 * - `gateway/` imports no folder of the project but `lib/`;
 * - no folder imports, directly or through others, a folder that imports it back.
 * Type-only imports count: they tie the folders' code together just the same.
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const SIMULATORS = ["entra-simulator", "mp-simulator", "client-simulator"];

/** One import of a file in one top-level folder from a file in another. */
interface Edge {
  readonly from: string;
  readonly to: string;
  /** `file → specifier`, for the failure message. */
  readonly where: string;
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules" || entry.name === "dist") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await tsFiles(path)));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Every module specifier of a file: static imports and re-exports, `import()`, `import("…").Type`. */
function specifiersOf(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      out.push(node.arguments[0].text);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      out.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The top-level folder of a repository path ("" for a file at the root). */
function folderOf(path: string): string {
  const rel = relative(ROOT, path);
  return rel.includes(sep) ? (rel.split(sep)[0] ?? "") : "";
}

async function scanEdges(): Promise<Edge[]> {
  const edges: Edge[] = [];
  for (const file of await tsFiles(ROOT)) {
    const from = folderOf(file);
    for (const specifier of specifiersOf(file, await readFile(file, "utf8"))) {
      if (!specifier.startsWith(".")) continue; // a package or a built-in
      const to = folderOf(resolve(dirname(file), specifier));
      if (to !== from) edges.push({ from, to, where: `${relative(ROOT, file)} → ${specifier}` });
    }
  }
  return edges;
}

let scanned: Promise<Edge[]> | undefined;
/** The edges of the whole repository, scanned once per run. */
function folderEdges(): Promise<Edge[]> {
  scanned ??= scanEdges();
  return scanned;
}

/** Every cycle of the folder graph, each once, as `a → b → … → a` with one import per step. */
function cycles(edges: readonly Edge[]): string[] {
  const next = new Map<string, Map<string, Edge>>();
  for (const edge of edges) {
    const out = next.get(edge.from) ?? new Map<string, Edge>();
    if (!out.has(edge.to)) out.set(edge.to, edge);
    next.set(edge.from, out);
  }
  const found = new Set<string>();
  const walk = (path: readonly string[]): void => {
    const last = path[path.length - 1] ?? "";
    for (const to of next.get(last)?.keys() ?? []) {
      const at = path.indexOf(to);
      if (at >= 0) {
        const loop = [...path.slice(at), to];
        // One name per cycle, whichever folder it starts from: rotate to its smallest folder.
        const ring = loop.slice(0, -1);
        const start = ring.indexOf([...ring].sort()[0] ?? "");
        const rotated = [...ring.slice(start), ...ring.slice(0, start)];
        const steps = rotated.map((f, i) => next.get(f)?.get(rotated[(i + 1) % rotated.length] ?? "")?.where);
        found.add(`${[...rotated, rotated[0]].join(" → ")} (${steps.join("; ")})`);
      } else walk([...path, to]);
    }
  };
  for (const folder of next.keys()) walk([folder]);
  return [...found].sort();
}

describe("folder layering", () => {
  it("when every .ts file is parsed, then the imports between folders are seen (the scan works)", async () => {
    const edges = await folderEdges();
    // Known edges of today's layout: the stack wires the product and the simulators, everything uses lib/.
    const pairs = new Set(edges.map((e) => `${e.from}→${e.to}`));
    for (const pair of ["stack→gateway", "stack→client-simulator", "entra-simulator→lib", "test→gateway"]) {
      expect(pairs, pair).toContain(pair);
    }
  });

  it("when a simulator imports something of the project, then it is lib/ or another simulator, never gateway/ or stack/", async () => {
    const bad = (await folderEdges()).filter(
      (e) => SIMULATORS.includes(e.from) && (e.to === "gateway" || e.to === "stack"),
    );
    expect(bad.map((e) => e.where)).toEqual([]);
  });

  it("when lib/ imports, then it imports no folder of the project", async () => {
    const bad = (await folderEdges()).filter((e) => e.from === "lib");
    expect(bad.map((e) => e.where)).toEqual([]);
  });

  it("when gateway/ imports another folder, then it is lib/ (the product never imports a simulator, the stack, the bench or the tests)", async () => {
    const bad = (await folderEdges()).filter((e) => e.from === "gateway" && e.to !== "lib");
    expect(bad.map((e) => e.where)).toEqual([]);
  });

  it("when the folders import each other, then no folder reaches itself again (no cycle)", async () => {
    expect(cycles(await folderEdges())).toEqual([]);
  });
});
