/**
 * Regression: a generated client secret may start with "-" (`-x~Q…`), and node's strict `parseArgs` refuses
 * such a value as "ambiguous"; `services renew-secret --secret-value -…` failed at random.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type CommandSpec, parseCommandLine } from "../../gateway/command-line.js";

const SPEC: CommandSpec = {
  usage: "usage: test [--secret-value S] [-c FILE] [--verbose]",
  help: "usage: test [--secret-value S] [-c FILE] [--verbose]",
  options: {
    "secret-value": { type: "string" },
    config: { type: "string", short: "c" },
    verbose: { type: "boolean" },
  },
  positionals: { min: 0, max: 1 },
};

function parse(argv: string[]) {
  let err = "";
  const sink = (into: (t: string) => void) =>
    new Writable({
      write(chunk, _e, done) {
        into(String(chunk));
        done();
      },
    });
  const parsed = parseCommandLine(SPEC, argv, { stdout: sink(() => {}), stderr: sink((t) => (err += t)) });
  return { parsed, err };
}

describe("string option values that start with a dash", () => {
  it("when a secret value starts with '-', then it is the option's value", () => {
    const { parsed, err } = parse(["--secret-value", "-x~Qabc.DEF_123", "NAME"]);
    expect(err).toBe("");
    expect(parsed.exitCode).toBeUndefined();
    if (parsed.exitCode !== undefined) return;
    expect(parsed.values["secret-value"]).toBe("-x~Qabc.DEF_123");
    expect(parsed.positionals).toEqual(["NAME"]);
  });

  it("when a short string option's value starts with '-', then it is the option's value", () => {
    const { parsed } = parse(["-c", "-weird.yaml"]);
    expect(parsed.exitCode).toBeUndefined();
    if (parsed.exitCode === undefined) expect(parsed.values.config).toBe("-weird.yaml");
  });

  it("when the next word is one of the command's options, then the value is missing (usage, exit 2)", () => {
    const { parsed, err } = parse(["--secret-value", "--verbose"]);
    expect(parsed.exitCode).toBe(2);
    expect(err).toMatch(/secret-value/);
  });
});
