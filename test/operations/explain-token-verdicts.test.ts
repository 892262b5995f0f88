import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { REJECTION_REASONS, REJECTION_TABLE, type RejectionReason } from "../../gateway/auth/rejection.js";
import { DEFAULT_ROUTES } from "../../gateway/config/schema.js";
import { main } from "../../gateway/main.js";
import { STACK_CMG_IDS } from "../../stack/start-stack.js";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";

let h: StackHarness;
let offlineConfig: string;
let scopedConfig: string;
beforeAll(async () => {
  h = await startStackHarness();
  // The same gateway, but its authority is unreachable: no keys can be fetched.
  const doc = parse(await readFile(h.stack.gatewayConfigFile, "utf8"));
  doc.environments.AzurePublicCloud.authorityHost = "127.0.0.1:1";
  doc.environments.AzureUSGovernmentCloud.authorityHost = "127.0.0.1:1";
  offlineConfig = `${h.stack.gatewayConfigFile}.offline.yaml`;
  await writeFile(offlineConfig, stringify(doc));
  // The same gateway with a route that requires a scope.
  const scoped = parse(await readFile(h.stack.gatewayConfigFile, "utf8"));
  scoped.routes = [
    { prefix: "/AdminService/wmi/", requirement: "user", requiredScope: "AdminService.Write" },
    ...DEFAULT_ROUTES,
  ];
  scopedConfig = `${h.stack.gatewayConfigFile}.scoped.yaml`;
  await writeFile(scopedConfig, stringify(scoped));
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
    admin_service_only: () => ({ token: fabrikamAdminService(), path: "/CCM_STS" }),
    admin_service_segmented: () => ({
      token: h.stack.entra.mint({ tenantId: h.tenant("fabrikam").id }),
      path: `/CCM_Proxy_ServerAuth/${STACK_CMG_IDS.site}/AdminService/v1.0/Device`,
    }),
    scope_missing: () => ({ token: mint(), path: "/AdminService/wmi/SMS_Site", config: scopedConfig }),
    token_issued_in_future: () => ({
      token: mint({ claims: { iat: now() + 3600, nbf: now(), exp: now() + 7200 } }),
      path: "/CCM_STS",
    }),
    token_lifetime_too_long: () => ({
      token: mint({ claims: { iat: now(), nbf: now(), exp: now() + 10 * 365 * 86_400 } }),
      path: "/CCM_STS",
    }),
    management_point_unknown: () => ({ token: mint(), path: "/CCM_Proxy_MutualAuth/72186325152220599/CCM_STS" }),
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
  const fabrikamAdminService = () => {
    const t = h.tenant("fabrikam");
    const app = h.stack.entra.directory.findApp(t, t.adminService!.serverAppId)!;
    return h.stack.entra.mint({
      tenantId: t.id,
      claims: { aud: app.identifierUris[0], appid: t.adminService!.clientAppId },
    });
  };
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

  describe("when decode refuses the token, then the decode step names the malformation", () => {
    const kid = { alg: "RS256", kid: "k" };
    const malformations: [string, () => string, string, RejectionReason][] = [
      ["not three segments", () => "abc.def", "not three dot-separated segments", "token_malformed"],
      ["bad base64url", () => `${b64(kid)}.${b64({})}.YR`, "a segment is not canonical base64url", "token_malformed"],
      [
        "header not a JSON object",
        () => `${b64([1])}.${b64({})}.c2ln`,
        "the header is not a UTF-8 JSON object",
        "token_malformed",
      ],
      ["no alg", () => crafted({ kid: "k" }, {}), "the header has no string alg", "token_malformed"],
      [
        "payload not a JSON object",
        () => `${b64(kid)}.${b64("null")}.c2ln`,
        "the payload is not a UTF-8 JSON object",
        "token_malformed",
      ],
      ["missing kid", () => crafted({ alg: "RS256" }, {}), "the header has no kid", "token_malformed"],
      ["crit present", () => crafted({ ...kid, crit: ["exp"], exp: 1 }, {}), "the header has crit", "token_malformed"],
      [
        "alg not allowed",
        () => crafted({ alg: "HS256", kid: "k" }, {}),
        'alg "HS256" is not allowed (allowed: RS256)',
        "alg_not_allowed",
      ],
    ];
    for (const [kind, token, detail, reason] of malformations) {
      it(`${kind}: ${reason}, "${detail}"`, async () => {
        const { code, out } = await explain(token(), "/CCM_STS");
        expect(code).toBe(1);
        const line = out.split("\n").find((l) => /^\s*\d+\. decode\s/.test(l));
        expect(line).toMatch(/\bfailed\s/);
        expect(line).toContain(`${reason}: ${detail}`);
        expect(out).toContain(`verdict: rejected ${reason} (HTTP 401)`);
      });
    }
  });

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

  it("when the path is a CMG form, then the explanation names the channel, the MP and the inner path the rules judge", async () => {
    const token = await h.deviceToken(h.tenant("contoso"), 0);
    const { code, out } = await explain(token, `/CCM_PROXY_MUTUALAUTH/${STACK_CMG_IDS.mp02}/CCM_STS`);
    expect(code).toBe(0);
    expect(out).toMatch(
      new RegExp(
        `\\d+\\. target\\s+ok\\s+CMG MutualAuth path, MP/site ID ${STACK_CMG_IDS.mp02} → https://127\\.0\\.0\\.1:\\d+; route rules apply to the inner path /CCM_STS`,
      ),
    );
    expect(out).toContain("verdict: accepted");
  });
});
