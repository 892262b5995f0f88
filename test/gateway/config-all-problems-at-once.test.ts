import { describe, expect, it } from "vitest";
import { formatProblems } from "../../gateway/config/validate.js";
import { check, problems } from "./config-helpers.js";
import { cloudManagementService, TENANT_A } from "./fixtures.js";

describe("configuration: every problem at once", () => {
  it("when a file has schema, cross-field and secret problems, then all are reported in one result", () => {
    const raw = {
      azureServices: [
        { ...cloudManagementService(TENANT_A), tenant: { id: "not-a-guid", name: "x" } },
        cloudManagementService(TENANT_A, { name: "second" }),
        cloudManagementService(TENANT_A, {
          name: "third",
          webApp: {
            name: "w",
            clientId: TENANT_A.serverAppId,
            appIdUri: TENANT_A.appIdUri,
            secret: { fromEnv: "MISSING_VAR" },
          },
        }),
      ],
      upstream: { url: "ftp://mp" },
      bogus: true,
    };
    const found = problems(check(raw));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^azureServices\[0\]\.tenant\.id: must be a GUID/),
        expect.stringMatching(
          /azureServices\[2\] \("third"\)\.webApp\.secret: environment variable MISSING_VAR is not set/,
        ),
        expect.stringMatching(
          /azureServices\[2\] \("third"\): tenant .* is already used by cloud management service azureServices\[1\]/,
        ),
        expect.stringMatching(/^upstream\.url:/),
        "bogus: unknown key",
      ]),
    );
    expect(found.length).toBeGreaterThanOrEqual(5);
  });

  it("when problems are formatted, then the message counts them and lists one per line", () => {
    expect(formatProblems(["a: x", "b: y", "c: z"])).toBe(
      "invalid configuration: 3 problems:\n  - a: x\n  - b: y\n  - c: z",
    );
    expect(formatProblems(["only"])).toBe("invalid configuration: 1 problem:\n  - only");
  });

  it("when the input is not an object at all, then that is the problem", () => {
    expect(problems(check("hello")).length).toBeGreaterThan(0);
    expect(problems(check(null)).length).toBeGreaterThan(0);
  });

  it("when upstream is missing, then it is a problem", () => {
    expect(problems(check({}))).toEqual(expect.arrayContaining([expect.stringMatching(/^upstream:/)]));
  });
});
