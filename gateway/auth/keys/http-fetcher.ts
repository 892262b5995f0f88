/**
 * The real {@link JwksFetcher}: HTTPS GET with undici, one dispatcher per environment so each authority's CA
 * (`environments.*.ca`, e.g. the emulator's local CA) is trusted only for that authority. Redirects are not
 * followed, bodies are size-limited, and only a 200 `application/json`-ish JSON body is accepted.
 */
import { Agent } from "undici";
import type { EnvironmentName } from "../../config/schema.js";
import type { Environment } from "../../config/types.js";
import type { JwksFetchContext, JwksFetcher } from "./jwks-store.js";

/** A fetcher plus the means to close its connections. */
export interface HttpJwksFetcher {
  readonly fetch: JwksFetcher;
  close(): Promise<void>;
}

/**
 * Creates the HTTPS JWKS fetcher.
 *
 * @param environments resolved environments (for their CAs)
 * @param connectTimeoutMs TCP + TLS connect limit
 */
export function createHttpJwksFetcher(
  environments: Readonly<Record<EnvironmentName, Environment>>,
  connectTimeoutMs = 5_000,
): HttpJwksFetcher {
  const agents = new Map<EnvironmentName, Agent>();
  for (const [name, env] of Object.entries(environments) as [EnvironmentName, Environment][]) {
    agents.set(
      name,
      new Agent({
        connect: env.ca === undefined ? { timeout: connectTimeoutMs } : { ca: env.ca, timeout: connectTimeoutMs },
        keepAliveTimeout: 30_000,
      }),
    );
  }
  const fetch: JwksFetcher = async (url: string, context: JwksFetchContext): Promise<unknown> => {
    const dispatcher = agents.get(context.environment);
    if (dispatcher === undefined) throw new Error(`no dispatcher for environment ${context.environment}`);
    const target = new URL(url);
    const response = await dispatcher.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method: "GET",
      headers: { accept: "application/json" },
      signal: context.signal,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`JWKS fetch answered HTTP ${response.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > context.maxBytes) {
        response.body.destroy();
        throw new Error(`JWKS document larger than ${context.maxBytes} bytes`);
      }
      chunks.push(buf);
    }
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  };
  return {
    fetch,
    async close(): Promise<void> {
      await Promise.all([...agents.values()].map((a) => a.close()));
    },
  };
}
