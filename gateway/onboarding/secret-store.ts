/**
 * Where a web app secret goes in the configuration, and how it is shown. References (`fromFile`,
 * `fromEnv`) are preferred; a value the CLI holds (created, renewed or typed) is written to a file of its
 * own (mode 0600) unless the admin asks for an inline value. A secret is never printed in full: at most
 * its first three characters, as Entra's own `hint`.
 */
import { mkdir } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { writeFileAtomic } from "../config/write.js";

/** A secret as the configuration file holds it (exactly one member set). */
export type SecretSource = { readonly value: string } | { readonly fromEnv: string } | { readonly fromFile: string };

/** Where the CLI stores a secret value it holds. */
export type SecretDestination = { readonly kind: "file"; readonly path: string } | { readonly kind: "inline" };

/** Folder, next to the configuration file, for secret files the CLI writes. */
export const SECRETS_DIR = "secrets";

/**
 * The default secret file of a web app: `secrets/{clientId}.secret`, one per app registration, so services
 * sharing the app share the file.
 *
 * @param clientId the web app's client ID
 */
export function defaultSecretFile(clientId: string): string {
  return join(SECRETS_DIR, `${clientId.toLowerCase()}.secret`);
}

/**
 * A path the admin typed (relative to the working folder) as the configuration should hold it: relative to
 * the configuration's folder when it lies inside it, absolute otherwise.
 *
 * @param given the path as typed
 * @param cwd the working folder
 * @param configDir the configuration file's folder
 */
export function toConfigPath(given: string, cwd: string, configDir: string): string {
  const full = resolve(cwd, given);
  const rel = relative(configDir, full);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel) ? rel : full;
}

/**
 * Writes a secret value to a file (0600, folder 0700 when created) atomically.
 *
 * @param configDir the configuration file's folder (relative paths are below it)
 * @param path the file, relative to `configDir` or absolute
 * @param value the secret
 * @returns the `fromFile` source to put in the configuration
 */
export async function writeSecretFile(configDir: string, path: string, value: string): Promise<SecretSource> {
  const full = resolve(configDir, path);
  await mkdir(dirname(full), { recursive: true, mode: 0o700 });
  await writeFileAtomic(full, `${value}\n`, 0o600);
  return { fromFile: path };
}

/**
 * Stores a secret value as the admin chose.
 *
 * @param configDir the configuration file's folder
 * @param destination a file (path relative to `configDir` or absolute) or inline
 * @param value the secret
 * @returns the configuration's secret source, and a warning for inline values
 */
export async function storeSecret(
  configDir: string,
  destination: SecretDestination,
  value: string,
): Promise<{ source: SecretSource; warning: string | undefined }> {
  if (destination.kind === "inline") {
    return {
      source: { value },
      warning:
        "the secret is stored inline in the configuration file; prefer a file (--secret-out) or an environment variable",
    };
  }
  return { source: await writeSecretFile(configDir, destination.path, value), warning: undefined };
}

/**
 * A secret source for messages: the reference, or for an inline value only its first three characters.
 *
 * @param source the configuration's secret object
 */
export function describeSecretSource(source: {
  readonly value?: string | undefined;
  readonly fromEnv?: string | undefined;
  readonly fromFile?: string | undefined;
}): string {
  if (source.fromFile !== undefined) return `file ${source.fromFile}`;
  if (source.fromEnv !== undefined) return `environment variable ${source.fromEnv}`;
  if (source.value !== undefined) return `inline value ${hintOf(source.value)}`;
  return "none";
}

/**
 * Entra's hint form of a secret: the first three characters and an ellipsis.
 *
 * @param secret the secret
 */
export function hintOf(secret: string): string {
  return `${secret.slice(0, 3)}…`;
}
