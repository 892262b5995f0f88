/**
 * The one place that edits and writes the configuration file (docs/architecture.md § Configuration model: "Writes … are atomic: temp file, fsync,
 * rename"). Used by the `services` CLI and the admin API's tenant disable/enable (`admin/write-back.ts`).
 *
 * An edit works on the `yaml` Document, so comments and layout outside the edited nodes survive (JSON files
 * are parsed the same way, JSON being YAML, and written back as JSON). The whole resulting configuration is
 * validated with {@link validateConfig} before anything is written: a change that would stop the gateway's
 * next boot or reload is refused and the file is left as it was.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { type Document, isMap, isScalar, isSeq, parseDocument, type YAMLSeq } from "yaml";
import { yamlErrorProblems } from "./load.js";
import type { GatewayConfig } from "./types.js";
import { type ValidateOptions, validateConfig } from "./validate.js";

/** Thrown by an edit function to refuse the edit with a message (e.g. "no service named X"). */
export class ConfigEditError extends Error {}

/** Options of {@link editConfigFile}. `baseDir` defaults to the file's folder. */
export interface EditOptions extends ValidateOptions {
  /** Validate and report, but do not write. */
  readonly dryRun?: boolean;
}

/** Outcome of {@link editConfigFile}. */
export type EditResult =
  | {
      readonly ok: true;
      /** The configuration as it now is (or would be, with `dryRun`). */
      readonly config: GatewayConfig;
      readonly warnings: readonly string[];
      /** False when `dryRun` was set or the edit changed nothing. */
      readonly written: boolean;
    }
  | { readonly ok: false; readonly problems: readonly string[]; readonly warnings: readonly string[] };

/** One edit at a time per file within this process (the admin API may receive concurrent requests). */
const queues = new Map<string, Promise<unknown>>();

/**
 * Reads the configuration file, applies `edit` to its YAML document, validates the whole result and writes
 * it atomically (temp file in the same folder, fsync, rename; the file's mode is kept).
 *
 * @param path YAML or JSON configuration file
 * @param edit changes the document in place; throws {@link ConfigEditError} to refuse
 * @param options validation inputs (environment, file reader, clock) and `dryRun`
 * @returns the new configuration and warnings, or every problem (the file is then untouched)
 * @example
 * const result = await editConfigFile("gateway.yaml", (doc) => setServiceFlag(doc, "Contoso", "disableAuthentication", true));
 * if (!result.ok) console.error(formatProblems(result.problems));
 */
export async function editConfigFile(
  path: string,
  edit: (doc: Document) => void,
  options: EditOptions = {},
): Promise<EditResult> {
  const full = resolve(path);
  const previous = queues.get(full) ?? Promise.resolve();
  const run = previous.then(
    () => editNow(full, edit, options),
    () => editNow(full, edit, options),
  );
  queues.set(full, run);
  try {
    return await run;
  } finally {
    if (queues.get(full) === run) queues.delete(full);
  }
}

async function editNow(full: string, edit: (doc: Document) => void, options: EditOptions): Promise<EditResult> {
  let text: string;
  try {
    text = await readFile(full, "utf8");
  } catch (err) {
    return { ok: false, problems: [`cannot read configuration file ${full} (${errorCode(err)})`], warnings: [] };
  }
  const doc = parseConfigDocument(text);
  if (doc.errors.length > 0) {
    return { ok: false, problems: yamlErrorProblems(doc.errors, text, full), warnings: [] };
  }
  try {
    edit(doc);
  } catch (err) {
    if (err instanceof ConfigEditError) return { ok: false, problems: [err.message], warnings: [] };
    throw err;
  }
  const result = validateConfig(doc.toJS({ maxAliasCount: 100 }), { baseDir: dirname(full), ...options });
  if (!result.ok) return result;
  const out = renderConfigDocument(doc, full);
  if (options.dryRun === true || out === text) {
    return { ok: true, config: result.config, warnings: result.warnings, written: false };
  }
  // Someone else (an editor, another CLI run) changed the file since we read it: refuse rather than lose it.
  const now = await readFile(full, "utf8").catch(() => undefined);
  if (now !== text) {
    return {
      ok: false,
      problems: [`${full} changed while it was being edited; nothing was written, run the command again`],
      warnings: result.warnings,
    };
  }
  await writeFileAtomic(full, out);
  return { ok: true, config: result.config, warnings: result.warnings, written: true };
}

/**
 * Parses configuration text into an editable document (YAML 1.2 core schema, duplicate keys refused, as
 * `load.ts` reads it). JSON files parse the same way.
 *
 * @param text the file's content
 */
export function parseConfigDocument(text: string): Document {
  return parseDocument(text, { uniqueKeys: true, prettyErrors: false });
}

/**
 * Renders a document in its file's format: JSON for `.json`, YAML otherwise (comments kept, long lines not
 * folded so untouched values keep their layout).
 *
 * @param doc the edited document
 * @param fileName picks the format
 */
export function renderConfigDocument(doc: Document, fileName: string): string {
  if (extname(fileName).toLowerCase() === ".json") {
    return `${JSON.stringify(doc.toJS({ maxAliasCount: 100 }), null, 2)}\n`;
  }
  return doc.toString({ lineWidth: 0 });
}

/**
 * Writes a file atomically: a temp file in the same folder (same file system, so `rename` is atomic),
 * fsynced, renamed over the target, then the folder fsynced so the rename survives a crash. The target's
 * mode is kept; a new file gets `mode` (default 0o600: configuration files hold secrets).
 *
 * @param path the file to replace
 * @param content its new content
 * @param mode permissions for a file that does not exist yet
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o600): Promise<void> {
  const full = resolve(path);
  const keepMode = await stat(full).then(
    (s) => s.mode & 0o7777,
    () => mode,
  );
  const temp = join(dirname(full), `.${basename(full)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temp, "wx", keepMode);
  try {
    await handle.writeFile(content, "utf8");
    // `open` applies the umask; chmod sets the mode exactly as the original file had it.
    await handle.chmod(keepMode);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, full);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  const folder = await open(dirname(full), "r").catch(() => undefined);
  if (folder !== undefined) {
    // Some platforms cannot fsync a directory; the rename is still atomic there.
    await folder.sync().catch(() => undefined);
    await folder.close();
  }
}

// ------------------------------------------------------------------------------------------- edit helpers

/** The `azureServices` sequence, created when missing. */
function servicesSeq(doc: Document, create: boolean): YAMLSeq | undefined {
  const node = doc.get("azureServices", true);
  if (isSeq(node)) return node;
  if (node !== undefined && node !== null && !(isScalar(node) && node.value === null)) {
    throw new ConfigEditError("azureServices is not a list");
  }
  if (!create) return undefined;
  const seq = doc.createNode([]) as YAMLSeq;
  doc.set("azureServices", seq);
  return seq;
}

function nameOf(item: unknown): string | undefined {
  if (!isMap(item)) return undefined;
  const name = item.get("name");
  return typeof name === "string" ? name : undefined;
}

/**
 * Index of the service named `name` in `azureServices` (case-insensitive, as names are unique that way),
 * or -1.
 *
 * @param doc the configuration document
 * @param name the service name
 */
export function findServiceIndex(doc: Document, name: string): number {
  const seq = servicesSeq(doc, false);
  if (seq === undefined) return -1;
  const wanted = name.toLowerCase();
  return seq.items.findIndex((item) => nameOf(item)?.toLowerCase() === wanted);
}

function requireService(doc: Document, name: string): number {
  const index = findServiceIndex(doc, name);
  if (index < 0) throw new ConfigEditError(`no service named ${JSON.stringify(name)} in azureServices`);
  return index;
}

/**
 * Sets a value, changing an existing scalar in place so its comment survives.
 *
 * @param doc the document
 * @param path key path, e.g. `["azureServices", 0, "disableAuthentication"]`
 * @param value the new value (objects become block mappings)
 */
export function setValue(doc: Document, path: readonly (string | number)[], value: unknown): void {
  const node = doc.getIn(path, true);
  if (isScalar(node) && (value === null || typeof value !== "object")) {
    node.value = value;
    return;
  }
  doc.setIn(path, doc.createNode(value));
}

/** Boolean flags of a service an operator switches. */
export type ServiceFlag = "disableAuthentication" | "adminServiceManagement";

/**
 * Sets a boolean flag of the named service.
 *
 * @param doc the document
 * @param name the service name
 * @param flag which flag
 * @param value its new value
 * @throws ConfigEditError when there is no such service
 */
export function setServiceFlag(doc: Document, name: string, flag: ServiceFlag, value: boolean): void {
  setValue(doc, ["azureServices", requireService(doc, name), flag], value);
}

/**
 * Sets `disableAuthentication` on the cloud management service of a tenant (the admin API's
 * `POST /tenants/{tenantId}/disable|enable`). There is at most one: cloud management tenants are distinct.
 *
 * @param doc the document
 * @param tenantId the tenant GUID (any case)
 * @param disabled true to refuse the tenant's tokens
 * @returns the service's name
 * @throws ConfigEditError when no cloud management service has that tenant
 */
export function setTenantAuthentication(doc: Document, tenantId: string, disabled: boolean): string {
  const seq = servicesSeq(doc, false);
  const wanted = tenantId.toLowerCase();
  const index =
    seq?.items.findIndex(
      (item) =>
        isMap(item) &&
        item.get("type") === "cloudManagement" &&
        String(item.getIn(["tenant", "id"]) ?? "").toLowerCase() === wanted,
    ) ?? -1;
  if (index < 0) throw new ConfigEditError(`no cloud management service for tenant ${tenantId}`);
  setValue(doc, ["azureServices", index, "disableAuthentication"], disabled);
  return nameOf(seq?.items[index]) ?? tenantId;
}

/**
 * Sets a value inside the named service, e.g. `["webApp", "secretExpiry"]`.
 *
 * @param doc the document
 * @param name the service name
 * @param path key path below the service
 * @param value the new value
 */
export function setServiceValue(doc: Document, name: string, path: readonly (string | number)[], value: unknown): void {
  setValue(doc, ["azureServices", requireService(doc, name), ...path], value);
}

/**
 * Appends a service to `azureServices` (created when missing, turned into block style when it was `[]`).
 *
 * @param doc the document
 * @param service the service as the file should hold it
 * @throws ConfigEditError when a service of that name exists
 */
export function appendService(doc: Document, service: { readonly name: string } & Record<string, unknown>): void {
  if (findServiceIndex(doc, service.name) >= 0) {
    throw new ConfigEditError(`a service named ${JSON.stringify(service.name)} already exists`);
  }
  const seq = servicesSeq(doc, true) as YAMLSeq;
  if (seq.flow === true) {
    // `azureServices: [] # comment` becomes a block list; its trailing comment would otherwise end up below
    // the new entry, so it moves above the first one.
    seq.flow = false;
    if (typeof seq.comment === "string" && (seq.commentBefore ?? null) === null) {
      seq.commentBefore = seq.comment;
      seq.comment = null;
    }
  }
  seq.items.push(doc.createNode(service));
}

/**
 * Removes the named service.
 *
 * @param doc the document
 * @param name the service name
 * @throws ConfigEditError when there is no such service
 */
export function removeService(doc: Document, name: string): void {
  doc.deleteIn(["azureServices", requireService(doc, name)]);
}

function errorCode(err: unknown): string {
  return err instanceof Error && "code" in err ? String(err.code) : "unreadable";
}
