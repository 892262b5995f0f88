/**
 * An msal-node network client that trusts a given CA (docs/architecture.md § msal-node against a local authority):
 * NODE_EXTRA_CA_CERTS is read only at process start, so in-process tests and simulators that generate their
 * CA at run time hand msal this client instead. The request/response mapping is the product's own
 * (`gateway/onboarding/entra-endpoints.ts`); this adds the CA-pinned agent and a way to close it.
 */
import type { INetworkModule } from "@azure/msal-node";
import { Agent } from "undici";
import { createMsalNetworkModule } from "../gateway/onboarding/entra-endpoints.js";

/** Creates an msal `system.networkClient` over an undici Agent pinned to `ca` (PEM). */
export function createMsalNetworkClient(ca: string, timeoutMs = 10_000): INetworkModule & { close(): Promise<void> } {
  const dispatcher = new Agent({ connect: { ca }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return { ...createMsalNetworkModule(dispatcher), close: () => dispatcher.close() };
}
