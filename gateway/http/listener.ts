/**
 * What every listener of the gateway shares (main, admin, metrics): the TLS material of `listen`, written
 * once, and the URL a bound server is reachable at.
 */
import type { Server } from "node:net";
import type { Listen } from "../config/types.js";

/** A listener's certificate and key (PEM). */
export interface ListenerTls {
  readonly cert: string;
  readonly key: string;
}

/**
 * The TLS options of the main listener, which the admin listener shares: both `listen.certFile` and
 * `listen.keyFile`, or plain HTTP (undefined) when neither is set (behind a TLS-terminating proxy).
 *
 * @param listen the `listen` section
 */
export function listenerTls(listen: Pick<Listen, "cert" | "key">): ListenerTls | undefined {
  return listen.cert !== undefined && listen.key !== undefined
    ? { cert: listen.cert, key: listen.key.reveal() }
    : undefined;
}

/**
 * The URL of a listening server, IPv6 hosts bracketed.
 *
 * @param server a server that listens
 * @param secure HTTPS rather than HTTP
 * @param path appended as is (e.g. `/metrics`)
 */
export function listeningUrl(
  server: Server,
  secure: boolean,
  path = "",
): { readonly url: string; readonly port: number } {
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new Error("listeningUrl: the server is not bound to a port");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { url: `${secure ? "https" : "http"}://${host}:${address.port}${path}`, port: address.port };
}
