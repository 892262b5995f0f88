/**
 * An msal-node network client that trusts a given CA (ENTRA.md, "msal-node against a local authority"):
 * NODE_EXTRA_CA_CERTS is read only at process start, so in-process tests and simulators that generate their
 * CA at run time hand msal this client instead.
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import { Agent, request } from "undici";

/** Creates an msal `system.networkClient` over an undici Agent pinned to `ca` (PEM). */
export function createMsalNetworkClient(ca: string, timeoutMs = 10_000): INetworkModule & { close(): Promise<void> } {
  const dispatcher = new Agent({ connect: { ca }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  async function send<T>(
    method: "GET" | "POST",
    url: string,
    options?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> {
    const res = await request(url, {
      method,
      dispatcher,
      headers: options?.headers ?? {},
      ...(options?.body !== undefined ? { body: options.body } : {}),
    });
    const text = await res.body.text();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    let body: unknown;
    try {
      body = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      body = { error: "invalid_response", error_description: text.slice(0, 200) };
    }
    return { headers, body: body as T, status: res.statusCode };
  }
  return {
    sendGetRequestAsync: (url, options) => send("GET", url, options),
    sendPostRequestAsync: (url, options) => send("POST", url, options),
    close: () => dispatcher.close(),
  };
}
