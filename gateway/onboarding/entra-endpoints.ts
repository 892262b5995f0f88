/**
 * Where Entra and Microsoft Graph are for one Azure environment of the configuration: the authority URL of a
 * tenant, the Graph base URL and resource, and HTTP clients (undici, and msal-node's network module) that
 * trust the environment's CA when one is configured (the local emulator; docs/architecture.md § msal-node against a
 * local authority").
 */
import type { INetworkModule } from "@azure/msal-node";
import { Agent } from "undici";
import { createMsalNetworkModule } from "../../lib/msal-network.js";
import type { EnvironmentName } from "../config/schema.js";
import type { Environment } from "../config/types.js";

/** Microsoft Graph host of each environment (docs/architecture.md § Clouds). */
export const GRAPH_HOSTS: Readonly<Record<EnvironmentName, string>> = Object.freeze({
  AzurePublicCloud: "graph.microsoft.com",
  AzureUSGovernmentCloud: "graph.microsoft.us",
});

/** Authority hosts msal-node knows itself; any other host must be listed in `knownAuthorities`. */
const MICROSOFT_AUTHORITY_HOSTS = new Set(["login.microsoftonline.com", "login.microsoftonline.us"]);

/** Entra and Graph locations of one environment, with HTTP clients bound to its CA. */
export interface EntraEndpoints {
  readonly environment: EnvironmentName;
  /** Host (and port) of the authority, e.g. `login.microsoftonline.com` or `127.0.0.1:40123`. */
  readonly authorityHost: string;
  /** msal-node `knownAuthorities`: empty for Microsoft's hosts, the host itself otherwise (no instance discovery). */
  readonly knownAuthorities: readonly string[];
  /** Graph's origin, e.g. `https://graph.microsoft.com` (the emulator's origin locally). */
  readonly graphUrl: string;
  /** Graph's resource URI as tokens name it: always the real cloud's (`https://graph.microsoft.com`). */
  readonly graphResource: string;
  /** undici dispatcher for Graph and Entra calls. */
  readonly dispatcher: Agent;
  /** msal-node `system.networkClient`. */
  readonly networkClient: INetworkModule;
  /** The authority URL of a tenant, `https://{authorityHost}/{tenantId}`. */
  authority(tenantId: string): string;
  close(): Promise<void>;
}

/**
 * Creates the endpoints of an environment.
 *
 * @param environment the resolved environment from the configuration (authority host, CA)
 * @param graphUrl Graph origin override (`--graph-url`); default the environment's Graph host
 * @param timeoutMs connect, headers and body limit of each request
 */
export function createEntraEndpoints(environment: Environment, graphUrl?: string, timeoutMs = 30_000): EntraEndpoints {
  const dispatcher = new Agent({
    connect: environment.ca === undefined ? { timeout: timeoutMs } : { ca: environment.ca, timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const graphResource = `https://${GRAPH_HOSTS[environment.name]}`;
  return {
    environment: environment.name,
    authorityHost: environment.authorityHost,
    knownAuthorities: MICROSOFT_AUTHORITY_HOSTS.has(environment.authorityHost.toLowerCase())
      ? []
      : [environment.authorityHost],
    graphUrl: (graphUrl ?? graphResource).replace(/\/+$/, ""),
    graphResource,
    dispatcher,
    networkClient: createMsalNetworkModule(dispatcher),
    authority: (tenantId) => `https://${environment.authorityHost}/${tenantId}`,
    close: () => dispatcher.close(),
  };
}
