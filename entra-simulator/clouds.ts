/**
 * The national clouds the emulator impersonates (docs/architecture.md § Clouds). Issuer strings are the real cloud's;
 * only the network location of the endpoints is the emulator's.
 */

/** Cloud names as Configuration Manager's Azure Services Wizard spells them. */
export type CloudName = "AzurePublicCloud" | "AzureUSGovernmentCloud";

/** Identity strings of one cloud. `{tenantid}` is substituted per tenant. */
export interface Cloud {
  readonly name: CloudName;
  /** Host of the real authority, as it appears in v2 issuers. */
  readonly authorityHost: string;
  readonly v1Issuer: string;
  readonly v2Issuer: string;
  /** Issuer template published on v2 JWKS keys (Entra's multi-tenant key form). */
  readonly keyIssuer: string;
  readonly graphHost: string;
  /** Azure AD Graph's host: `cloud_graph_host_name` of the discovery document. */
  readonly aadGraphHost: string;
  /** `cloud_instance_name` of the discovery document. */
  readonly instanceName: string;
}

/** Public and US Government clouds; the v1 issuer of US Gov is unconfirmed by Microsoft (docs/architecture.md § Clouds). */
export const CLOUDS: Readonly<Record<CloudName, Cloud>> = Object.freeze({
  AzurePublicCloud: {
    name: "AzurePublicCloud",
    authorityHost: "login.microsoftonline.com",
    v1Issuer: "https://sts.windows.net/{tenantid}/",
    v2Issuer: "https://login.microsoftonline.com/{tenantid}/v2.0",
    keyIssuer: "https://login.microsoftonline.com/{tenantid}/v2.0",
    graphHost: "graph.microsoft.com",
    aadGraphHost: "graph.windows.net",
    instanceName: "microsoftonline.com",
  },
  AzureUSGovernmentCloud: {
    name: "AzureUSGovernmentCloud",
    authorityHost: "login.microsoftonline.us",
    v1Issuer: "https://sts.windows.net/{tenantid}/",
    v2Issuer: "https://login.microsoftonline.us/{tenantid}/v2.0",
    keyIssuer: "https://login.microsoftonline.us/{tenantid}/v2.0",
    graphHost: "graph.microsoft.us",
    // Azure AD Graph of US Government is graph.microsoftazure.us, not the public graph.windows.net.
    aadGraphHost: "graph.microsoftazure.us",
    instanceName: "microsoftonline.us",
  },
});

/** Replaces `{tenantid}` in an issuer template. */
export function issuerFor(template: string, tenantId: string): string {
  return template.replace("{tenantid}", tenantId);
}

/** The Graph resource URI of a cloud, as used in `resource=` and `scope=…/.default`. */
export function graphResource(cloud: Cloud): string {
  return `https://${cloud.graphHost}`;
}

/** Microsoft Graph's well-known application ID (same in every cloud). */
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
