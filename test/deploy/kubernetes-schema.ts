/**
 * Offline validation of Kubernetes objects against the API's schemas, in two passes that catch different
 * mistakes:
 *
 * 1. {@link validateAgainstSchema}: kubernetes-models' JSON-schema validators (generated from the Kubernetes
 *    OpenAPI document) — required fields, types, enums, formats. They accept unknown fields, as the API
 *    server does without field validation.
 * 2. {@link findUnknownFields}: the same models' TypeScript interfaces, checked by the TypeScript compiler
 *    on an in-memory file that assigns each object to its kind's interface. Object literals get excess-property
 *    checks at every depth, so a misspelt or misplaced field (`paht`, `readinesProbe`) is an error, as it is
 *    for `kubectl apply --validate=strict`.
 *
 * The kind → model mapping is `kubernetes-models/<apiVersion>` (`apps/v1`, `v1`, `policy/v1`, …): an
 * apiVersion or kind the models do not have is itself an error, never a skip.
 */
import { resolve } from "node:path";
import ts from "typescript";
import type { K8sObject } from "./kustomize.js";

/** A short name for messages: `Deployment/entra-gateway`. */
export function describeObject(obj: K8sObject): string {
  return `${obj.kind}/${obj.metadata.name}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/**
 * Validates one object with its kubernetes-models class.
 *
 * @param obj the object
 * @returns the problems found (empty when valid)
 */
export async function validateAgainstSchema(obj: K8sObject): Promise<string[]> {
  let module: Record<string, unknown>;
  try {
    module = (await import(/* @vite-ignore */ `kubernetes-models/${obj.apiVersion}`)) as Record<string, unknown>;
  } catch {
    return [`${describeObject(obj)}: no Kubernetes schema for apiVersion ${obj.apiVersion}`];
  }
  const Model = module[obj.kind] as ModelClass | undefined;
  if (typeof Model !== "function") return [`${describeObject(obj)}: ${obj.apiVersion} has no kind ${obj.kind}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    const details = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (details === undefined) return [`${describeObject(obj)}: ${(err as Error).message}`];
    return details.map((d) => `${describeObject(obj)}: ${d.instancePath || "/"} ${d.message ?? "is invalid"}`);
  }
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ["lib.es2022.d.ts"],
  types: [],
};

/** Library and model declarations, parsed once per test file (they never change during a run). */
const declarations = new Map<string, ts.SourceFile | undefined>();

/**
 * Type-checks objects against their kinds' TypeScript interfaces (unknown fields, wrong types, missing
 * required fields), all in one compiler run.
 *
 * @param objects the objects to check
 * @returns one entry per object that has problems, keyed by {@link describeObject}
 */
export function findUnknownFields(objects: readonly K8sObject[]): Map<string, string[]> {
  // The file never touches the disk; it sits in test/deploy/ so `kubernetes-models` resolves from the repo.
  const virtualFile = resolve(import.meta.dirname, "__manifests__.ts");
  const lines = objects.map(
    (obj, i) => `import type { I${obj.kind} as K${i} } from "kubernetes-models/${obj.apiVersion}/${obj.kind}";`,
  );
  const spans: { name: string; from: number; to: number }[] = [];
  for (const [i, obj] of objects.entries()) {
    const body = `export const m${i}: K${i} = ${JSON.stringify(obj, null, 1)};`;
    const from = lines.length;
    lines.push(...body.split("\n"));
    spans.push({ name: describeObject(obj), from, to: lines.length });
  }
  const text = lines.join("\n");
  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (file, language, ...rest) => {
    if (file === virtualFile) return ts.createSourceFile(file, text, language);
    if (!declarations.has(file)) declarations.set(file, getSourceFile(file, language, ...rest));
    return declarations.get(file);
  };
  host.fileExists = (file) => file === virtualFile || fileExists(file);
  const program = ts.createProgram([virtualFile], COMPILER_OPTIONS, host);

  const problems = new Map<string, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    let name = "(manifests)";
    let where = "";
    if (d.file?.fileName === virtualFile && d.start !== undefined) {
      const line = d.file.getLineAndCharacterOfPosition(d.start).line;
      const span = spans.find((s) => line >= s.from && line < s.to);
      if (span !== undefined) name = span.name;
      where = ` near ${text.split("\n")[line]?.trim() ?? ""}`;
    }
    problems.set(name, [...(problems.get(name) ?? []), `${message}${where}`]);
  }
  return problems;
}
