import { describe, expect, it } from "vitest";
import {
  REJECTION_REASONS,
  REJECTION_TABLE,
  type RejectionReason,
  reject,
  rejectionResponse,
} from "../../gateway/auth/rejection.js";

const TENANT = {
  tenantId: "5e97358c-d99c-4558-af0c-de7774091dda",
  authorizationUri: "https://login.microsoftonline.com/5e97358c-d99c-4558-af0c-de7774091dda",
  resourceId: "api://5e97358c-d99c-4558-af0c-de7774091dda/ConfigMgrService",
};
const INVALID_TOKEN: RejectionReason[] = [
  "token_malformed",
  "alg_not_allowed",
  "tenant_unknown",
  "issuer_invalid",
  "key_not_found",
  "signature_invalid",
  "token_expired",
  "token_not_yet_valid",
  "audience_invalid",
  "client_app_invalid",
  "claim_invalid",
];

describe("the rejection table (docs/operations.md § Rejection reasons, RFC 6750 §3)", () => {
  it("when the table is read, then every reason has exactly one row", () => {
    expect(Object.keys(REJECTION_TABLE).sort()).toEqual([...REJECTION_REASONS].sort());
  });

  it("when no token was sent, then 401 with a bare challenge: realm, no error (RFC 6750 §3.1)", () => {
    const r = rejectionResponse(reject("token_missing"), "entra-gateway");
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toBe('Bearer realm="entra-gateway"');
    expect(r.error).toBeUndefined();
  });

  it("when the request is malformed, then 400 invalid_request", () => {
    const r = rejectionResponse(reject("request_malformed"), "entra-gateway");
    expect(r.status).toBe(400);
    expect(r.headers["www-authenticate"]).toBe(
      'Bearer realm="entra-gateway", error="invalid_request", error_description="The request is malformed"',
    );
  });

  for (const reason of INVALID_TOKEN) {
    it(`when the reason is ${reason}, then 401 invalid_token with a generic description`, () => {
      const r = rejectionResponse(reject(reason), "entra-gateway");
      expect(r.status).toBe(401);
      expect(r.error).toBe("invalid_token");
      expect(r.headers["www-authenticate"]).toBe(
        'Bearer realm="entra-gateway", error="invalid_token", error_description="The access token is invalid"',
      );
      expect(r.headers["www-authenticate"]).not.toContain(reason);
    });
  }

  it("when the tenant is known, then the 401 challenge carries authorization_uri and resource_id", () => {
    const r = rejectionResponse(reject("token_expired", TENANT), "entra-gateway");
    expect(r.headers["www-authenticate"]).toBe(
      `Bearer realm="entra-gateway", error="invalid_token", error_description="The access token is invalid", authorization_uri="${TENANT.authorizationUri}", resource_id="${TENANT.resourceId}"`,
    );
  });

  for (const reason of ["token_kind_not_allowed", "admin_service_only"] as const) {
    it(`when the reason is ${reason}, then 403 insufficient_scope without tenant hints`, () => {
      const r = rejectionResponse(reject(reason, TENANT), "entra-gateway");
      expect(r.status).toBe(403);
      expect(r.headers["www-authenticate"]).toBe(
        'Bearer realm="entra-gateway", error="insufficient_scope", error_description="The access token does not grant access to this resource"',
      );
    });
  }

  it("when the tenant is disabled, then 403 and no challenge", () => {
    const r = rejectionResponse(reject("tenant_disabled", TENANT), "entra-gateway");
    expect(r).toMatchObject({ status: 403, headers: {} });
  });

  it("when keys are unavailable, then 503 with Retry-After and no challenge", () => {
    const r = rejectionResponse(reject("keys_unavailable", TENANT, 42.2), "entra-gateway");
    expect(r).toEqual({ status: 503, headers: { "retry-after": "43" }, error: undefined, errorDescription: undefined });
    expect(rejectionResponse(reject("keys_unavailable"), "r").headers["retry-after"]).toBe("30");
    expect(rejectionResponse(reject("keys_unavailable", undefined, 0), "r").headers["retry-after"]).toBe("1");
  });

  it("when no route matches, then 404 and no challenge", () => {
    expect(rejectionResponse(reject("route_unknown"), "r")).toMatchObject({ status: 404, headers: {} });
  });

  it("when a realm or resource contains quotes or backslashes, then they are escaped (quoted-string)", () => {
    const r = rejectionResponse(
      reject("token_expired", { tenantId: "t", authorizationUri: "https://a", resourceId: 'x"y\\z' }),
      'r"1',
    );
    expect(r.headers["www-authenticate"]).toContain('realm="r\\"1"');
    expect(r.headers["www-authenticate"]).toContain('resource_id="x\\"y\\\\z"');
  });
});
