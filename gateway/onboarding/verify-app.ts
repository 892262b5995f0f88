/**
 * The wizard's **Verify**: proves imported (or freshly created) app registrations work before they are
 * written to the configuration.
 *
 * - Web app: msal-node client credentials against the tenant's authority, first for Microsoft Graph (tenant,
 *   client ID and secret right; Entra user discovery uses this token), then for the app's own App ID URI
 *   (the URI exists in that tenant, so client tokens with that audience can be issued).
 * - Native app: a device code request for the web app's API, which Entra answers only for a public client
 *   registered in the tenant (AADSTS700016 otherwise); the code is never redeemed.
 */
import { ConfidentialClientApplication } from "@azure/msal-node";
import type { EntraEndpoints } from "./entra-endpoints.js";
import { type EntraFailure, toEntraFailure } from "./entra-errors.js";

/** Outcome of a verification: what was proven, or Entra's exact error. */
export type VerifyResult =
  | { readonly ok: true; readonly detail: string }
  | { readonly ok: false; readonly failure: EntraFailure; readonly step: string };

/** What {@link verifyWebApp} checks. */
export interface WebAppCredentials {
  readonly tenantId: string;
  readonly clientId: string;
  readonly secret: string;
  readonly appIdUri: string;
}

/**
 * Acquires client-credentials tokens for the web app.
 *
 * @param endpoints the tenant's environment
 * @param app tenant, client ID, secret and App ID URI
 */
export async function verifyWebApp(endpoints: EntraEndpoints, app: WebAppCredentials): Promise<VerifyResult> {
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: app.clientId,
      authority: endpoints.authority(app.tenantId),
      knownAuthorities: [...endpoints.knownAuthorities],
      clientSecret: app.secret,
    },
    system: { networkClient: endpoints.networkClient },
  });
  const steps: { step: string; scope: string }[] = [
    { step: "client credentials for Microsoft Graph", scope: `${endpoints.graphResource}/.default` },
    {
      step: `client credentials for the App ID URI ${app.appIdUri}`,
      scope: `${app.appIdUri.replace(/\/+$/, "")}/.default`,
    },
  ];
  for (const { step, scope } of steps) {
    try {
      const result = await cca.acquireTokenByClientCredential({ scopes: [scope], skipCache: true });
      if (result === null) throw new Error("no token returned");
    } catch (err) {
      return { ok: false, failure: toEntraFailure(err), step };
    }
  }
  return { ok: true, detail: `client ${app.clientId} got tokens for Microsoft Graph and ${app.appIdUri}` };
}

/**
 * Checks that a native app is a public client of the tenant allowed to ask for the web app's API.
 *
 * @param endpoints the tenant's environment
 * @param tenantId the tenant GUID
 * @param clientId the native app's client ID
 * @param appIdUri the web app's App ID URI (the API the native app asks tokens for)
 */
export async function verifyNativeApp(
  endpoints: EntraEndpoints,
  tenantId: string,
  clientId: string,
  appIdUri: string,
): Promise<VerifyResult> {
  const step = "device code request as the native app";
  const target = new URL(`${endpoints.authority(tenantId)}/oauth2/v2.0/devicecode`);
  try {
    const res = await endpoints.dispatcher.request({
      origin: target.origin,
      path: target.pathname,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ client_id: clientId, scope: `${appIdUri.replace(/\/+$/, "")}/.default` }).toString(),
    });
    const body = (await res.body.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.statusCode === 200 && typeof body.device_code === "string") {
      return { ok: true, detail: `public client ${clientId} is registered in tenant ${tenantId}` };
    }
    return { ok: false, failure: toEntraFailure(body), step };
  } catch (err) {
    return { ok: false, failure: toEntraFailure(err), step };
  }
}
