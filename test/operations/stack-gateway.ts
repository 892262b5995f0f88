/**
 * The local stack's gateway configuration served by the compiled CLI (`serve --workers N`, a real process) in
 * a folder of its own, for the tests of what only a served gateway does: a cluster's workers, signals,
 * restarts, a configuration file the gateway cannot write. The stack (emulator, MP simulator) runs in process.
 */
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";
import { buildCli, type ServedGateway, type ServeOptions, serveCli } from "./helpers.js";

/** The local stack's gateway configuration served by the compiled CLI, with edits. */
export interface StackGateway {
  readonly h: StackHarness;
  readonly gw: ServedGateway;
  readonly dir: string;
  readonly configFile: string;
  readonly stateDir: string;
  readonly main: string;
  /** Starts (again) a gateway on the same files: a restart. */
  serve(extra?: ServeOptions): Promise<ServedGateway>;
  /** The admin key the gateway generated into its state directory. */
  adminKey(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the local stack, copies its gateway configuration (edited by `edit`) into a folder of its own and
 * serves it with `serve --workers N`.
 */
export async function serveStackGateway(
  options: { workers?: number; edit?: (doc: any) => void; serve?: ServeOptions } = {},
): Promise<StackGateway> {
  const [h, main] = await Promise.all([startStackHarness(), buildCli()]);
  const dir = await mkdtemp(join(tmpdir(), "entra-drill-stack-"));
  const configFile = join(dir, "gateway.yaml");
  const stateDir = join(dir, "state");
  await copyFile(h.stack.gatewayConfigFile, configFile);
  if (options.edit) {
    const doc = parse(await readFile(configFile, "utf8"));
    options.edit(doc);
    await writeFile(configFile, stringify(doc));
  }
  const uid = options.serve?.uid;
  if (uid !== undefined) {
    // The gateway runs as another user: it may read the stack's files, write only its own state directory,
    // and the configuration's folder stays the test's (read-only to the gateway).
    await openToOthers(h.stack.stateDir);
    await chmod(dir, 0o755);
    await chmod(configFile, 0o644);
    await mkdir(stateDir, { recursive: true });
    await chown(stateDir, uid, options.serve?.gid ?? uid);
  }
  const args = ["--config", configFile, "--workers", String(options.workers ?? 1), "--state-dir", stateDir];
  const serve = (extra?: ServeOptions) => serveCli(main, args, extra ?? options.serve);
  const state = { gw: await serve() };
  return {
    h,
    get gw() {
      return state.gw;
    },
    dir,
    configFile,
    stateDir,
    main,
    async serve(extra) {
      state.gw = await serve(extra);
      return state.gw;
    },
    adminKey: async () => (await readFile(join(stateDir, "admin.key"), "utf8")).trim(),
    async close() {
      await state.gw.stop();
      await h.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `chmod -R a+rX`: lets another user read a tree. */
async function openToOthers(path: string): Promise<void> {
  const info = await stat(path);
  await chmod(path, info.mode | (info.isDirectory() ? 0o055 : 0o044));
  if (!info.isDirectory()) return;
  for (const entry of await readdir(path)) await openToOthers(join(path, entry));
}
