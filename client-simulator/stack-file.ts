/**
 * What the simulator needs to know about a running stack: the `stack.json` document (docs/architecture.md § Interfaces), read from
 * disk by the CLI or handed over in process by `startStack()`. Only the members the clients use are typed;
 * the admin and metrics URLs are optional so the simulator also runs against a stack without them.
 */
import { readFile } from "node:fs/promises";

/** One tenant as `stack.json` lists it. */
export interface StackFileTenant {
  readonly id: string;
  readonly name: string;
  readonly cloud: "AzurePublicCloud" | "AzureUSGovernmentCloud";
  readonly disabled: boolean;
  /** Administration Service Management on: the tenant's tokens reach only `/AdminService/`. */
  readonly adminServiceManagement?: boolean;
  readonly clientApp: { readonly clientId: string };
  readonly serverApp: { readonly appIdUri: string };
  readonly users: readonly { readonly upn: string; readonly password: string }[];
  readonly devices: readonly { readonly deviceId: string }[];
}

/** The members of `stack.json` the simulator reads. */
export interface StackFile {
  readonly gateway: {
    readonly url: string;
    readonly adminUrl?: string;
    readonly adminKey?: string;
    readonly metricsUrl?: string;
  };
  readonly mp: { readonly url: string };
  readonly entra: { readonly url: string };
  /** Path of the CA certificate (PEM) every component's certificate chains to. */
  readonly caCert: string;
  readonly tenants: readonly StackFileTenant[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads and checks `stack.json`; throws with the file name and the first missing member. */
export async function readStackFile(path: string): Promise<StackFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message} (is the stack running? try: npm start)`);
  }
  const missing = (what: string) => new Error(`${path}: ${what} is missing; not a stack.json of this project`);
  if (!isObject(raw)) throw missing("the top-level object");
  if (!isObject(raw.gateway) || typeof raw.gateway.url !== "string") throw missing("gateway.url");
  if (!isObject(raw.entra) || typeof raw.entra.url !== "string") throw missing("entra.url");
  if (!isObject(raw.mp) || typeof raw.mp.url !== "string") throw missing("mp.url");
  if (typeof raw.caCert !== "string") throw missing("caCert");
  if (!Array.isArray(raw.tenants)) throw missing("tenants");
  return raw as unknown as StackFile;
}
