import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { REJECTION_REASONS, REJECTION_TABLE, type RejectionReason } from "../../gateway/auth/rejection.js";
import { main } from "../../gateway/main.js";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";

let h: StackHarness;
let offlineConfig: string;
beforeAll(async () => {
  h = await startStackHarness();
  // The same gateway, but its authority is unreachable: no keys can be fetched.
  const doc = parse(await readFile(h.stack.gatewayConfigFile, "utf8"));
  doc.environments.AzurePublicCloud.authorityHost = "127.0.0.1:1";
  doc.environments.AzureUSGovernmentCloud.authorityHost = "127.0.0.1:1";
  offlineConfig = `${h.stack.gatewayConfigFile}.offline.yaml`;
  await writeFile(offlineConfig, stringify(doc));
});
afterAll(() => h?.close());

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** An unsigned token: enough for the steps that refuse before any key or signature. */
const crafted = (header: object, payload: object) =>
  `${b64(header)}.${b64(payload)}.${Buffer.from("not a signature").toString("base64url")}`;

async function explain(token: string, path: string, config = h.stack.gatewayConfigFile) {
  let out = "";
  let err = "";
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        append(String(chunk));
        cb();
      },
    });
  const code = await main(["explain-token", "--config", config, "--path", path], {
    stdin: Readable.from([token]),
    stdout: sink((s) => {
      out += s;
    }),
    stderr: sink((s) => {
      err += s;
    }),
    env: {},
  });
  return { code, out, err };
}

describe("explain-token", () => {
  const cases: Record<RejectionReason, () => { token: string; path: string; config?: string }> = {
    token_missing: () => ({ token: "", path: "/CCM_STS" }),
    request_malformed: () => ({ token: mint(), path: "/CCM_STS?access_token=abc" }),
    route_unknown: () => ({ token: mint(), path: "/NotACmEndpoint" }),
    token_malformed: () => ({ token: "this-is-not-a-jwt", path: "/CCM_STS" }),
    alg_not_allowed: () => ({ token: crafted({ alg: "none", kid: "k" }, { tid: contoso() }), path: "/CCM_STS" }),
    claim_invalid: () => ({ token: crafted({ alg: "RS256", kid: "k" }, { tid: "not-a-guid" }), path: "/CCM_STS" }),
    tenant_unknown: () => {
      const tid = randomUUID();
      return {
        token: crafted({ alg: "RS256", kid: "k" }, { tid, iss: `https://sts.windows.net/${tid}/`, upn: "a@b" }),
        path: "/CCM_STS",
      };
    },
    issuer_invalid: () => ({
      token: mint({ claims: { iss: `https://sts.windows.net/${randomUUID()}/` } }),
      path: "/CCM_STS",
    }),
    tenant_disabled: () => {
      const tid = h.tenant("northwind").id;
      return {
        token: crafted({ alg: "RS256", kid: "k" }, { tid, iss: `https://sts.windows.net/${tid}/`, upn: "a@b" }),
        path: "/CCM_STS",
      };
    },
    token_kind_not_allowed: () => ({ token: mint({ kind: "device" }), path: "/AdminService/wmi/SMS_Site" }),
    admin_service_only: () => ({ token: h.stack.entra.mint({ tenantId: h.tenant("fabrikam").id }), path: "/CCM_STS" }),
    key_not_found: () => ({ token: mint({ header: { kid: "no-such-key" } }), path: "/CCM_STS" }),
    signature_invalid: () => {
      const [head, body, sig] = mint().split(".");
      return { token: `${head}.${body}.${sig!.slice(0, -6)}AAAAAA`, path: "/CCM_STS" };
    },
    token_expired: () => ({
      token: mint({ claims: { exp: now() - 3600, nbf: now() - 7200, iat: now() - 7200 } }),
      path: "/CCM_STS",
    }),
    token_not_yet_valid: () => ({
      token: mint({ claims: { nbf: now() + 3600, exp: now() + 7200 } }),
      path: "/CCM_STS",
    }),
    audience_invalid: () => ({ token: mint({ claims: { aud: "api://not-this-gateway/app" } }), path: "/CCM_STS" }),
    client_app_invalid: () => ({ token: mint({ claims: { appid: randomUUID() } }), path: "/CCM_STS" }),
    keys_unavailable: () => ({ token: mint(), path: "/CCM_STS", config: offlineConfig }),
  };
  const now = () => Math.floor(Date.now() / 1000);
  const contoso = () => h.tenant("contoso").id;
  const mint = (
    extra: { claims?: Record<string, unknown>; header?: Record<string, unknown>; kind?: "user" | "device" } = {},
  ) => h.stack.entra.mint({ tenantId: contoso(), ...extra });

  it("when every rejection reason has a case, then the table is covered", () => {
    expect(Object.keys(cases).sort()).toEqual([...REJECTION_REASONS].sort());
  });

  for (const reason of REJECTION_REASONS) {
    it(`when the token is refused for ${reason}, then the verdict names ${reason} and its HTTP status, without printing the token`, async () => {
      const c = cases[reason]();
      const { code, out, err } = await explain(c.token, c.path, c.config);
      expect(err).toBe("");
      expect(code).toBe(1);
      expect(out).toContain(`verdict: rejected ${reason} (HTTP ${REJECTION_TABLE[reason].status})`);
      expect(out.split("\n").some((l) => /^\s*\d+\. \S+\s+failed\s/.test(l))).toBe(true);
      if (c.token.length > 0) {
        expect(out).not.toContain(c.token);
        for (const part of c.token.split(".").filter((p) => p.length > 8)) expect(out).not.toContain(part);
      }
    });
  }

  it("when the token is good, then every step passes and the verdict is accepted with exit code 0", async () => {
    const token = await h.userToken(h.tenant("contoso"), 1);
    const { code, out } = await explain(token, "/CCM_STS");
    expect(code).toBe(0);
    expect(out).toContain("verdict: accepted");
    expect(out).not.toContain("failed");
    for (const step of ["route", "extract", "decode", "tenant", "policy", "issuer", "keys", "signature", "claims"]) {
      expect(out).toMatch(new RegExp(`\\d+\\. ${step}\\s+ok`));
    }
    expect(out).not.toContain(token.split(".")[2]!);
  });
});
