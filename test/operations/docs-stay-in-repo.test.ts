/**
 * The repository owns its documentation: code, tests and docs cite `docs/…` sections that exist, no link
 * leaves the repository, and the README stays a one-screen entry point (docs/architecture.md, intro).
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const SKIP = new Set(["node_modules", "dist", ".git", ".state", "coverage", "results"]);
const SOURCE = /\.(ts|md|ya?ml)$|(^|\/)(Dockerfile|run)$/;

/** Every source and documentation file of the repository (build output, state and dependencies aside). */
async function repoFiles(dir = ROOT): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await repoFiles(path)));
    else if (SOURCE.test(relative(ROOT, path))) out.push(path);
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, "")
    .replace(/ /g, "-");
}

/** The headings of a markdown file (outside fenced code). */
function headings(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (m) out.push(m[1]!.trim());
  }
  return out;
}

describe("the repository's documents", () => {
  it("when any file cites a document, then it is one in this repository (no outside design notes)", async () => {
    // Built from parts so this file does not match itself.
    const outside = new RegExp(
      [["DESIGN", "§"].join(" "), ["ENTRA", "md"].join("\\."), ["\\.\\.", "shared", ""].join("/")].join("|"),
    );
    const offenders: string[] = [];
    for (const file of await repoFiles()) {
      const lines = (await readFile(file, "utf8")).split("\n");
      lines.forEach((line, i) => {
        if (outside.test(line)) offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it("when code or docs cite 'docs/<file>.md § <section>', then that file has that section", async () => {
    const cache = new Map<string, string[]>();
    const broken: string[] = [];
    let citations = 0;
    for (const file of await repoFiles()) {
      // A citation may wrap onto the next comment line: join lines, dropping comment markers.
      const text = (await readFile(file, "utf8")).replace(/\n\s*(?:\*|\/\/|#)?\s*/g, " ");
      for (const m of text.matchAll(/docs\/([a-z-]+\.md) § (.{1,80})/g)) {
        citations++;
        const doc = m[1]!;
        if (!cache.has(doc)) {
          const body = await readFile(join(ROOT, "docs", doc), "utf8").catch(() => "");
          cache.set(doc, headings(body));
        }
        const cited = m[2]!;
        // The heading, then anything but a letter or digit (so § Cache is not § Caches).
        const names = (h: string) => cited.startsWith(h) && !/[\p{L}\p{N}]/u.test(cited.charAt(h.length));
        if (!cache.get(doc)!.some(names)) broken.push(`${relative(ROOT, file)}: ${m[0]}`);
      }
    }
    expect(citations).toBeGreaterThan(50);
    expect(broken).toEqual([]);
  });

  it("when the README or a docs/ page links somewhere, then the target is in the repository and the anchor exists", async () => {
    const pages = [
      "README.md",
      ...(await readdir(join(ROOT, "docs"))).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
    ];
    expect(pages.length).toBeGreaterThanOrEqual(7);
    const broken: string[] = [];
    for (const page of pages) {
      const text = await readFile(join(ROOT, page), "utf8");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        const [path, fragment] = target.split("#", 2) as [string, string | undefined];
        if (/^[a-z]+:/i.test(path)) {
          broken.push(`${page}: ${target} leaves the repository`);
          continue;
        }
        const file = path === "" ? page : normalize(join(dirname(page), path));
        const body = await readFile(join(ROOT, file), "utf8").catch(() => undefined);
        if (body === undefined) broken.push(`${page}: ${target} (no such file)`);
        else if (fragment && file.endsWith(".md") && !headings(body).map(anchor).includes(fragment))
          broken.push(`${page}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("when the README is read, then it is at most 200 lines and gives the two commands", async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    expect(readme.trimEnd().split("\n").length).toBeLessThanOrEqual(200);
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toContain("npm test");
  });
});
