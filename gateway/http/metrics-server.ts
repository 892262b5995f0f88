/**
 * The metrics listener (docs/operations.md § Metrics): `GET /metrics` in the Prometheus text format on its own port, plain
 * HTTP, loopback by default. Deliberately not fastify: it serves one path and must keep answering while
 * the main listener drains.
 */
import { createServer, type Server } from "node:http";
import { listeningUrl } from "./listener.js";

/** A running metrics listener. */
export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts the listener.
 *
 * @param options where to listen, and how to render the metrics (`registry.metrics()`, or the cluster's
 *   aggregated text)
 * @example
 * const server = await startMetricsServer({ host: "127.0.0.1", port: 9464, contentType: registry.contentType, render: () => registry.metrics() });
 */
export async function startMetricsServer(options: {
  readonly host: string;
  readonly port: number;
  readonly contentType: string;
  readonly render: () => Promise<string>;
  readonly onError?: (err: Error) => void;
}): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    options.render().then(
      (text) => {
        res.writeHead(200, { "content-type": options.contentType, "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (err: Error) => {
        options.onError?.(err);
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { url, port } = listeningUrl(server, false, "/metrics");
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
