/** Runs the CLI's `main()` in-process with captured streams: the exit code, stdout and stderr. */
import { PassThrough } from "node:stream";
import { main } from "../../gateway/main.js";

export interface MainRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * @param argv the arguments after `entra-gateway`
 * @param options the environment (default: empty) and what stdin holds (default: nothing)
 */
export async function runMain(
  argv: readonly string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<MainRun> {
  const stdin = new PassThrough();
  stdin.end(options.input ?? "");
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  stderr.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const code = await main(argv, { stdin, stdout, stderr, env: options.env ?? {} });
  return { code, out, err };
}
