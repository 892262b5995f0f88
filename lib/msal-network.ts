/**
 * msal-node's HTTP client over undici, shared by the product's onboarding CLI, the simulators and the tests:
 * msal-node sends its requests through a `system.networkClient`, and which CA it trusts is the undici
 * dispatcher's TLS option. NODE_EXTRA_CA_CERTS is read only at process start, so in-process tests and
 * simulators that generate their CA at run time hand msal {@link createMsalNetworkClient} (docs/architecture.md
 * § msal-node against a local authority).
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import { Agent, type Dispatcher } from "undici";

/**
 * msal-node's network module over an undici dispatcher (whose TLS options decide which CA is trusted).
 *
 * @example const networkClient = createMsalNetworkModule(new Agent({ connect: { ca } }));
 */
export function createMsalNetworkModule(dispatcher: Dispatcher): INetworkModule {
  async function send<T>(
    method: "GET" | "POST",
    url: string,
    options?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> {
    const target = new URL(url);
    const res = await dispatcher.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method,
      headers: options?.headers ?? {},
      ...(options?.body === undefined ? {} : { body: options.body }),
    });
    const text = await res.body.text();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
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
  };
}

/** Creates an msal `system.networkClient` over an undici Agent pinned to `ca` (PEM). */
export function createMsalNetworkClient(ca: string, timeoutMs = 10_000): INetworkModule & { close(): Promise<void> } {
  const dispatcher = new Agent({ connect: { ca }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return { ...createMsalNetworkModule(dispatcher), close: () => dispatcher.close() };
}
