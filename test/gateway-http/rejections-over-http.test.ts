/**
 * Every row of the rejection table (docs/operations.md § Rejection reasons), reached over HTTP through the gateway with tokens from the
 * emulator: the status, the RFC 6750 challenge, the exact reason in the gateway's outcome, and nothing of it
 * reaching the management point.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { REJECTION_REASONS, type RejectionReason } from "../../gateway/auth/rejection.js";
import type { RequestOutcome } from "../../gateway/http/proxy-route.js";
import { type StackHarness, startStackHarness } from "./stack-harness.js";

let h: StackHarness;
const outcomes: RequestOutcome[] = [];
let contoso: DirectoryTenant;
let fabrikam: DirectoryTenant;
let northwind: DirectoryTenant;

beforeAll(async () => {
  h = await startStackHarness({ gateway: { onOutcome: (o) => outcomes.push(o) } });
  contoso = h.tenant("contoso");
  fabrikam = h.tenant("fabrikam");
  northwind = h.tenant("northwind");
});
afterAll(() => h?.close());

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

interface Case {
  readonly reason: RejectionReason;
  readonly name: string;
  readonly status: number;
  /** `error` of the challenge; null = a challenge without error; undefined = no WWW-Authenticate. */
  readonly error: string | null | undefined;
  readonly request: () => Promise<{
    method?: string;
    path: string;
    token?: string;
    headers?: Record<string, string | string[]>;
    body?: string;
  }>;
}

const now = () => Math.floor(Date.now() / 1000);

const CASES: Case[] = [
  {
    reason: "token_missing",
    name: "no Authorization header",
    status: 401,
    error: null,
    request: async () => ({ path: "/CCM_STS", method: "POST" }),
  },
  {
    reason: "request_malformed",
    name: "two Authorization headers",
    status: 400,
    error: "invalid_request",
    request: async () => {
      const t = h.stack.entra.mint({ tenantId: contoso.id });
      return { path: "/CCM_STS", method: "POST", headers: { authorization: [`Bearer ${t}`, `Bearer ${t}`] } };
    },
  },
  {
    reason: "request_malformed",
    name: "token in the query string",
    status: 400,
    error: "invalid_request",
    request: async () => ({
      path: `/CCM_STS?access_token=${h.stack.entra.mint({ tenantId: contoso.id })}`,
      method: "POST",
    }),
  },
  {
    reason: "request_malformed",
    name: "token in a form body",
    status: 400,
    error: "invalid_request",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `access_token=${h.stack.entra.mint({ tenantId: contoso.id })}`,
    }),
  },
  {
    reason: "request_malformed",
    name: "Basic scheme",
    status: 400,
    error: "invalid_request",
    request: async () => ({ path: "/CCM_STS", method: "POST", headers: { authorization: "Basic dXNlcjpwYXNz" } }),
  },
  {
    reason: "token_malformed",
    name: "two segments",
    status: 401,
    error: "invalid_token",
    request: async () => ({ path: "/CCM_STS", method: "POST", token: "abc.def" }),
  },
  {
    reason: "token_malformed",
    name: "over 16 KiB",
    status: 401,
    error: "invalid_token",
    request: async () => ({ path: "/CCM_STS", method: "POST", token: `${"a".repeat(17_000)}.b.c` }),
  },
  {
    reason: "token_malformed",
    name: "alg none, unsigned (empty signature)",
    status: 401,
    error: "invalid_token",
    request: async () => {
      const claims = JSON.parse(
        Buffer.from(h.stack.entra.mint({ tenantId: contoso.id }).split(".")[1]!, "base64url").toString(),
      );
      return {
        path: "/CCM_STS",
        method: "POST",
        token: `${b64({ typ: "JWT", alg: "none", kid: "x" })}.${b64(claims)}.`,
      };
    },
  },
  {
    reason: "alg_not_allowed",
    name: "alg none with a signature segment",
    status: 401,
    error: "invalid_token",
    request: async () => {
      const claims = JSON.parse(
        Buffer.from(h.stack.entra.mint({ tenantId: contoso.id }).split(".")[1]!, "base64url").toString(),
      );
      return {
        path: "/CCM_STS",
        method: "POST",
        token: `${b64({ typ: "JWT", alg: "none", kid: "x" })}.${b64(claims)}.AAAA`,
      };
    },
  },
  {
    reason: "alg_not_allowed",
    name: "HS256 header on an RS256 key",
    status: 401,
    error: "invalid_token",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({ tenantId: contoso.id, header: { alg: "HS256" } }),
    }),
  },
  {
    reason: "tenant_unknown",
    name: "tid of an unregistered tenant",
    status: 401,
    error: "invalid_token",
    request: async () => {
      const tid = randomUUID();
      return {
        path: "/CCM_STS",
        method: "POST",
        token: h.stack.entra.mint({ tenantId: contoso.id, claims: { tid, iss: `https://sts.windows.net/${tid}/` } }),
      };
    },
  },
  {
    reason: "issuer_invalid",
    name: "issuer of another tenant",
    status: 401,
    error: "invalid_token",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({ tenantId: contoso.id, claims: { iss: `https://sts.windows.net/${fabrikam.id}/` } }),
    }),
  },
  {
    reason: "issuer_invalid",
    name: "issuer host not Entra's",
    status: 401,
    error: "invalid_token",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({ tenantId: contoso.id, claims: { iss: `https://sts.evil.example/${contoso.id}/` } }),
    }),
  },
  {
    reason: "key_not_found",
    name: "unknown kid",
    status: 401,
    error: "invalid_token",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({ tenantId: contoso.id, header: { kid: "NoSuchKeyNoSuchKeyNoSuchKe", x5t: null } }),
    }),
  },
  {
    reason: "signature_invalid",
    name: "payload changed after signing",
    status: 401,
    error: "invalid_token",
    request: async () => {
      const [hd, , sig] = h.stack.entra.mint({ tenantId: contoso.id }).split(".");
      const forged = JSON.parse(
        Buffer.from(
          h.stack.entra.mint({ tenantId: contoso.id, upn: contoso.users[3]!.userPrincipalName }).split(".")[1]!,
          "base64url",
        ).toString(),
      );
      return { path: "/CCM_STS", method: "POST", token: `${hd}.${b64(forged)}.${sig}` };
    },
  },
  {
    reason: "signature_invalid",
    name: "signature of another tenant's token",
    status: 401,
    error: "invalid_token",
    request: async () => {
      // Both tenants are signed by the public cloud's one key set (as in Entra): Fabrikam's signature is made
      // with the right key over other bytes, so it cannot stand for Contoso's header and payload.
      const good = h.stack.entra.mint({ tenantId: contoso.id });
      const other = h.stack.entra.mint({ tenantId: fabrikam.id });
      return {
        path: "/CCM_STS",
        method: "POST",
        token: `${good.split(".").slice(0, 2).join(".")}.${other.split(".")[2]}`,
      };
    },
  },
  {
    reason: "token_expired",
    name: "exp an hour ago",
    status: 401,
    error: "invalid_token",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({
        tenantId: contoso.id,
        claims: { iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 },
      }),
    }),
  },
  {
    reason: "token_not_yet_valid",
    name: "nbf in an hour",
    status: 401,
    error: "invalid_token",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({ tenantId: contoso.id, claims: { nbf: now() + 3600, exp: now() + 7200 } }),
    }),
  },
  {
    reason: "audience_invalid",
    name: "another resource",
    status: 401,
    error: "invalid_token",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({ tenantId: contoso.id, claims: { aud: "api://someone-else/Service" } }),
    }),
  },
  {
    reason: "client_app_invalid",
    name: "appid not the tenant's client app",
    status: 401,
    error: "invalid_token",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({ tenantId: contoso.id, claims: { appid: randomUUID() } }),
    }),
  },
  {
    reason: "claim_invalid",
    name: "exp missing",
    status: 401,
    error: "invalid_token",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({ tenantId: contoso.id, claims: { exp: null } }),
    }),
  },
  {
    reason: "token_kind_not_allowed",
    name: "device token on AdminService (user route)",
    status: 403,
    error: "insufficient_scope",
    request: async () => ({ path: "/AdminService/v1.0/Device", token: await h.deviceToken(contoso, 2) }),
  },
  {
    reason: "token_kind_not_allowed",
    name: "app-only token",
    status: 403,
    error: "insufficient_scope",
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({ tenantId: contoso.id, kind: "app" }),
    }),
  },
  {
    reason: "admin_service_only",
    name: "Administration Service Management tenant on /CCM_STS",
    status: 403,
    error: "insufficient_scope",
    request: async () => ({ path: "/CCM_STS", method: "POST", token: await h.userToken(fabrikam, 1) }),
  },
  {
    reason: "tenant_disabled",
    name: "Entra authentication disabled",
    status: 403,
    error: undefined,
    request: async () => ({
      path: "/CCM_STS",
      method: "POST",
      token: h.stack.entra.mint({
        tenantId: northwind.id,
        kind: "app",
        claims: {
          idtyp: null,
          roles: null,
          scp: "user_impersonation",
          upn: "x@northwind.onmicrosoft.com",
          appid: northwind.clientAppId,
        },
      }),
    }),
  },
  {
    reason: "route_unknown",
    name: "a path no rule covers",
    status: 404,
    error: undefined,
    request: async () => ({ path: "/SMS_SLP/whatever", token: h.stack.entra.mint({ tenantId: contoso.id }) }),
  },
];

function challengeError(header: string | string[] | undefined): string | null | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(", ") : header;
  expect(value).toMatch(/^Bearer realm="entra-gateway"/);
  return /error="([^"]+)"/.exec(value)?.[1] ?? null;
}

describe("rejections over HTTP", () => {
  it.each(CASES.map((c) => [`${c.reason}: ${c.name}`, c] as const))(
    "when %s, then the gateway refuses it and the MP never sees it",
    async (_label, c) => {
      const before = h.stack.mp.audit.counts().requests;
      const req = await c.request();
      outcomes.length = 0;
      const res = await h.gw(req.method ?? "GET", req.path, {
        ...(req.token !== undefined ? { token: req.token } : {}),
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.body !== undefined ? { body: req.body } : {}),
      });
      expect(res.status, res.text).toBe(c.status);
      expect(challengeError(res.headers["www-authenticate"])).toBe(c.error);
      expect(outcomes.map((o) => o.reason)).toEqual([c.reason]);
      expect(h.stack.mp.audit.counts().requests).toBe(before);
      // error_description stays generic: no reason code leaks to the client.
      expect(res.text).not.toContain(c.reason === "request_malformed" ? "request_malformed" : c.reason);
    },
  );

  it("when a token is refused for a known tenant, then the challenge says where to get a token", async () => {
    const res = await h.gw("POST", "/CCM_STS", {
      token: h.stack.entra.mint({ tenantId: contoso.id, claims: { aud: "api://nope" } }),
    });
    const server = h.stack.entra.directory.findApp(contoso, contoso.serverAppId)!;
    expect(res.headers["www-authenticate"]).toContain(
      `authorization_uri="https://${new URL(h.stack.entra.url).host}/${contoso.id}"`,
    );
    expect(res.headers["www-authenticate"]).toContain(`resource_id="${server.identifierUris[0]}"`);
  });

  it("when the rejection table grows, then this file still has a case for every reason", () => {
    // keys_unavailable needs an IdP outage past the stale window: jwks-over-http.test.ts.
    const covered = new Set<string>([...CASES.map((c) => c.reason), "keys_unavailable"]);
    expect([...REJECTION_REASONS].filter((r) => !covered.has(r))).toEqual([]);
  });
});
