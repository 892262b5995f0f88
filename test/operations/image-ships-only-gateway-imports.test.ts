/**
 * The production image installs `package.json` `dependencies` only (`npm ci --omit=dev` in the Dockerfile's
 * deps stage), so `dependencies` must be exactly the packages `gateway/` imports at run time: each one
 * present (or the image fails at start), nothing else (or the image ships code it never runs). The
 * simulators' and tests' packages are devDependencies (docs/operations.md § Docker).
 *
 * "At run time" is read from what TypeScript emits, so `import type` and type-only specifiers do not count.
 * Files outside `gateway/` that it loads (from `lib/`) count as its own, and the image must copy exactly those.
 */
import { readdir, readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(path)));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for relative and built-in ones. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
  return builtinModules.includes(name) ? undefined : name;
}

/** What `gateway/` loads when it runs: packages (specifiers left in the emitted JavaScript) and files outside it. */
async function runtimeImports(): Promise<{ packages: Map<string, string[]>; outside: Set<string> }> {
  const tsconfig = ts.readConfigFile(join(ROOT, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(tsconfig.config, ts.sys, ROOT);
  // ESM output as in dist/ (package.json "type": "module"); transpileModule alone would pick CommonJS.
  const options = {
    ...parsed.options,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  };
  const found = new Map<string, string[]>();
  const outside = new Set<string>();
  const queue = await sources(join(ROOT, "gateway"));
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const js = ts.transpileModule(await readFile(file, "utf8"), {
      compilerOptions: options,
      fileName: file,
    }).outputText;
    const specifiers = [
      ...js.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm),
      ...js.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
      ...js.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
    ].map((m) => m[1] ?? "");
    for (const specifier of specifiers) {
      if (specifier.startsWith(".")) {
        // A file of the repository: follow it when it lies outside gateway/ (gateway/ is scanned whole).
        const target = resolve(dirname(file), specifier).replace(/\.js$/, ".ts");
        const path = relative(ROOT, target);
        if (!path.startsWith("gateway/") && !outside.has(path)) {
          outside.add(path);
          queue.push(target);
        }
        continue;
      }
      const name = packageOf(specifier);
      if (name === undefined) continue;
      found.set(name, [...(found.get(name) ?? []), file.slice(ROOT.length + 1)]);
    }
  }
  return { packages: found, outside };
}

let scanned: ReturnType<typeof runtimeImports> | undefined;
/** {@link runtimeImports}, scanned once for both tests (the sources do not change during a run). */
const scan = () => {
  scanned ??= runtimeImports();
  return scanned;
};

describe("the production image's packages", () => {
  it("when gateway/ is compiled, then the packages it imports are exactly package.json dependencies", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const imported = (await scan()).packages;
    expect(imported.size).toBeGreaterThan(5); // the scan sees imports at all
    const missing = [...imported.keys()].filter((name) => !(name in pkg.dependencies));
    const unused = Object.keys(pkg.dependencies).filter((name) => !imported.has(name));
    expect(
      missing.map((name) => `${name} (imported by ${imported.get(name)?.join(", ")})`),
      "imported by gateway/ but not in dependencies",
    ).toEqual([]);
    expect(unused, "in dependencies but never imported by gateway/ (make it a devDependency)").toEqual([]);
  });

  it("when the Dockerfile builds the gateway image, then it installs dependencies only and copies dist/gateway and the lib/ files gateway/ loads, nothing else", async () => {
    const dockerfile = await readFile(join(ROOT, "Dockerfile"), "utf8");
    const stage = (name: string) =>
      dockerfile.split(/^FROM /m).find((s) => new RegExp(`\\bAS ${name}\\b`).test(s)) ?? "";
    expect(stage("deps")).toMatch(/npm ci --omit=dev/);
    const gateway = stage("gateway");
    expect(gateway).toMatch(/COPY --from=deps \/app\/node_modules/);
    const { outside } = await scan();
    const copies = [...outside].sort().map((path) => `COPY --from=build /src/dist/${path.replace(/\.ts$/, ".js")}`);
    expect(gateway.match(/COPY --from=build \S+/g)).toEqual(["COPY --from=build /src/dist/gateway", ...copies]);
  });
});
