/**
 * An offline renderer for the part of kustomize that `deploy/kubernetes/` uses (no `kubectl` or `kustomize`
 * binary on these machines): resources (files and directories), components, namespace, labels, images,
 * strategic-merge patches, and ConfigMap / Secret generators.
 *
 * It fails closed: a kustomization key, patch form or generator option it does not implement throws, so a
 * manifest can never pass these tests by using a feature the renderer silently ignores. Generated names
 * carry no hash suffix (kustomize's suffix and the reference rewriting that follows it change no field's
 * validity); every generated object is reported in {@link Rendered.generated} so tests can check references.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

/** A Kubernetes object as parsed from YAML. */
export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> } & Record<string, unknown>;
};

/** What {@link renderKustomization} produced. */
export interface Rendered {
  readonly objects: K8sObject[];
  /** Generated ConfigMaps and Secrets, by kind and name, with the file each key came from. */
  readonly generated: { kind: "ConfigMap" | "Secret"; name: string; files: Record<string, string> }[];
  /** Every file this kustomization (and what it includes) read. */
  readonly files: Set<string>;
}

/** Options: where generator files are read from (tests provide secret files that are never committed). */
export interface RenderOptions {
  /** Reads a generator file; default: from disk. */
  readonly readGeneratorFile?: (path: string) => Buffer;
}

const KUSTOMIZATION_KEYS = new Set([
  "apiVersion",
  "kind",
  "resources",
  "components",
  "namespace",
  "labels",
  "images",
  "patches",
  "configMapGenerator",
  "secretGenerator",
]);
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"]);

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail(where, "must be a mapping");
  return value as Record<string, unknown>;
}

function asList(value: unknown, where: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(where, "must be a list");
  return value;
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(where, `unsupported key ${key} (the test renderer does not implement it)`);
  }
}

/**
 * Parses every YAML document of a manifest file.
 *
 * @param file a YAML file of Kubernetes objects
 */
export function readManifests(file: string): K8sObject[] {
  const docs = parseAllDocuments(readFileSync(file, "utf8"), { uniqueKeys: true });
  const out: K8sObject[] = [];
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) fail(`${file} document ${i + 1}`, doc.errors.map((e) => e.message).join("; "));
    const value = doc.toJS() as unknown;
    if (value === null) continue;
    const obj = asRecord(value, `${file} document ${i + 1}`);
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
      fail(`${file} document ${i + 1}`, "needs apiVersion and kind");
    }
    const meta = asRecord(obj.metadata, `${file} document ${i + 1} metadata`);
    if (typeof meta.name !== "string") fail(`${file} document ${i + 1}`, "needs metadata.name");
    out.push(obj as K8sObject);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Strategic merge as kustomize applies it for the fields a patch here touches: mappings merge key by key
 * (`null` deletes), lists whose items all have a `name` merge item by item on it, other lists are replaced.
 */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (isPlainObject(target) && isPlainObject(patch)) {
    const out: Record<string, unknown> = { ...target };
    for (const [key, value] of Object.entries(patch)) {
      if (key.startsWith("$")) fail("patch", `directive ${key} is not supported`);
      if (value === null) delete out[key];
      else out[key] = key in target ? strategicMerge(target[key], value) : value;
    }
    return out;
  }
  const named = (l: unknown[]) => l.every((i) => isPlainObject(i) && typeof i.name === "string");
  if (Array.isArray(target) && Array.isArray(patch) && named(target) && named(patch)) {
    const out = target.map((i) => ({ ...(i as Record<string, unknown>) }));
    for (const item of patch as Record<string, unknown>[]) {
      const at = out.findIndex((i) => i.name === item.name);
      if (at === -1) out.push(item);
      else out[at] = strategicMerge(out[at], item) as Record<string, unknown>;
    }
    return out;
  }
  return patch;
}

function podSpecs(obj: K8sObject): Record<string, unknown>[] {
  const spec = obj.spec as Record<string, unknown> | undefined;
  const template = spec?.template as Record<string, unknown> | undefined;
  const podSpec = template?.spec as Record<string, unknown> | undefined;
  return podSpec === undefined ? [] : [podSpec];
}

/** Every container (init and regular) of an object's pod template. */
export function containersOf(obj: K8sObject): Record<string, unknown>[] {
  return podSpecs(obj).flatMap((s) => [
    ...((s.initContainers as Record<string, unknown>[] | undefined) ?? []),
    ...((s.containers as Record<string, unknown>[] | undefined) ?? []),
  ]);
}

function generate(
  kind: "ConfigMap" | "Secret",
  spec: unknown,
  dir: string,
  where: string,
  options: RenderOptions,
  files: Set<string>,
): { object: K8sObject; files: Record<string, string> } {
  const g = asRecord(spec, where);
  onlyKeys(g, kind === "Secret" ? ["name", "files", "options", "type"] : ["name", "files", "options"], where);
  if (typeof g.name !== "string") fail(where, "needs a name");
  if (g.options !== undefined) onlyKeys(asRecord(g.options, `${where}.options`), ["disableNameSuffixHash"], where);
  const data: Record<string, string> = {};
  const sources: Record<string, string> = {};
  for (const entry of asList(g.files, `${where}.files`)) {
    if (typeof entry !== "string") fail(where, "files entries must be strings");
    // kustomize: `key=path` or `path` (the key is the file's base name).
    const [key, path] = entry.includes("=") ? (entry.split("=", 2) as [string, string]) : [basename(entry), entry];
    const full = resolve(dir, path);
    if (!full.startsWith(`${dir}/`))
      fail(where, `${path} is outside the kustomization's folder (kustomize refuses it)`);
    if (key in data) fail(where, `key ${key} given twice`);
    const bytes = options.readGeneratorFile?.(full) ?? readFileSync(full);
    files.add(full);
    sources[key] = full;
    data[key] = kind === "Secret" ? bytes.toString("base64") : bytes.toString("utf8");
  }
  const object: K8sObject = {
    apiVersion: "v1",
    kind,
    metadata: { name: g.name },
    ...(kind === "Secret" ? { type: typeof g.type === "string" ? g.type : "Opaque" } : {}),
    data,
  };
  return { object, files: sources };
}

/**
 * Renders the kustomization (or component) in `dir`, the way `kubectl kustomize dir` would for the features
 * listed above.
 *
 * @param dir a folder holding kustomization.yaml
 * @param options generator file access
 */
export function renderKustomization(dir: string, options: RenderOptions = {}): Rendered {
  return render(resolve(dir), options, "Kustomization");
}

function render(dir: string, options: RenderOptions, expectKind: "Kustomization" | "Component"): Rendered {
  const file = join(dir, "kustomization.yaml");
  const k = asRecord(readManifestLike(file), file);
  for (const key of Object.keys(k)) {
    if (!KUSTOMIZATION_KEYS.has(key)) fail(file, `unsupported key ${key} (the test renderer does not implement it)`);
  }
  const expectedApi =
    expectKind === "Component" ? "kustomize.config.k8s.io/v1alpha1" : "kustomize.config.k8s.io/v1beta1";
  if (k.kind !== expectKind || k.apiVersion !== expectedApi) fail(file, `must be ${expectedApi} ${expectKind}`);

  const files = new Set<string>([file]);
  const objects: K8sObject[] = [];
  const generated: Rendered["generated"] = [];
  const include = (r: Rendered) => {
    objects.push(...r.objects);
    generated.push(...r.generated);
    for (const f of r.files) files.add(f);
  };

  for (const entry of asList(k.resources, `${file} resources`)) {
    if (typeof entry !== "string") fail(file, "resources entries must be strings");
    const path = resolve(dir, entry);
    if (statSync(path).isDirectory()) include(render(path, options, "Kustomization"));
    else {
      objects.push(...readManifests(path));
      files.add(path);
    }
  }
  for (const [key, kind] of [
    ["configMapGenerator", "ConfigMap"],
    ["secretGenerator", "Secret"],
  ] as const) {
    for (const [i, spec] of asList(k[key], `${file} ${key}`).entries()) {
      const g = generate(kind, spec, dir, `${file} ${key}[${i}]`, options, files);
      objects.push(g.object);
      generated.push({ kind, name: g.object.metadata.name, files: g.files });
    }
  }
  for (const entry of asList(k.components, `${file} components`)) {
    if (typeof entry !== "string") fail(file, "components entries must be strings");
    include(render(resolve(dir, entry), options, "Component"));
  }
  for (const [i, p] of asList(k.patches, `${file} patches`).entries()) {
    const patchSpec = asRecord(p, `${file} patches[${i}]`);
    onlyKeys(patchSpec, ["path"], `${file} patches[${i}]`);
    const patchFile = resolve(dir, String(patchSpec.path));
    files.add(patchFile);
    for (const patch of readManifests(patchFile)) {
      const at = objects.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (at === -1) fail(patchFile, `patch target ${patch.kind}/${patch.metadata.name} not found`);
      objects[at] = strategicMerge(objects[at], patch) as K8sObject;
    }
  }
  if (k.labels !== undefined) {
    for (const [i, l] of asList(k.labels, `${file} labels`).entries()) {
      const label = asRecord(l, `${file} labels[${i}]`);
      onlyKeys(label, ["pairs", "includeSelectors"], `${file} labels[${i}]`);
      if (label.includeSelectors !== false) fail(file, "labels: only includeSelectors: false is implemented");
      const pairs = asRecord(label.pairs, `${file} labels[${i}].pairs`) as Record<string, string>;
      for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...pairs };
    }
  }
  for (const [i, img] of asList(k.images, `${file} images`).entries()) {
    const image = asRecord(img, `${file} images[${i}]`);
    onlyKeys(image, ["name", "newName", "newTag"], `${file} images[${i}]`);
    for (const o of objects) {
      for (const c of containersOf(o)) {
        const current = String(c.image);
        const name = current.replace(/[:@].*$/, "");
        if (name !== image.name) continue;
        const tag = current.slice(name.length);
        c.image = `${String(image.newName ?? name)}${image.newTag === undefined ? tag : `:${String(image.newTag)}`}`;
      }
    }
  }
  if (typeof k.namespace === "string") {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  }
  return { objects, generated, files };
}

function readManifestLike(file: string): unknown {
  const docs = parseAllDocuments(readFileSync(file, "utf8"), { uniqueKeys: true });
  if (docs.length !== 1 || docs[0] === undefined || docs[0].errors.length > 0) fail(file, "must be one YAML document");
  return docs[0].toJS() as unknown;
}

/**
 * Every file under `dir`, recursively, relative to it (hidden files included: a stray file is a finding).
 *
 * @param dir the folder to list
 */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}
