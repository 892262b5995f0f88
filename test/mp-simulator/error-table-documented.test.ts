import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { MP_ERRORS } from "../../mp-simulator/errors.js";

describe("the error table and the README", () => {
  it("when an error code exists, then the README's error table documents it with its status", async () => {
    const readme = await readFile(new URL("../../mp-simulator/README.md", import.meta.url), "utf8");
    const rows = new Map(
      [...readme.matchAll(/^\| `([a-z_]+)`\s*\| (\d{3})\s*\|/gm)].map((m) => [m[1]!, Number(m[2])] as const),
    );
    for (const [code, { status }] of Object.entries(MP_ERRORS)) expect(rows.get(code), code).toBe(status);
    expect([...rows.keys()].sort()).toEqual(Object.keys(MP_ERRORS).sort());
  });
});
