/**
 * The seam through which the CLI reaches a running gateway's admin API (docs/operations.md § Admin API; `main.ts` plugs it in from `ENTRA_GATEWAY_ADMIN_URL`). Until it
 * is plugged in, every change goes to the configuration file and a running gateway applies it on its next
 * reload (file watch or SIGHUP).
 *
 * To plug in the admin API, pass `applyToRunningGateway` in the `services` command's `io` (`services.ts`),
 * e.g. a function that calls `POST {adminUrl}/tenants/{tenantId}/disable|enable` or `POST /config/reload`
 * with the admin key and answers true on 2xx, false when no gateway answers, and throws on any other
 * answer (a refused admin key is an error, never a reason to edit the file behind the gateway's back).
 */

/** A change the running gateway may apply itself. */
export type ServiceChange =
  | {
      /** Disable or enable Entra authentication of a tenant (admin API `POST /tenants/{id}/disable|enable`). */
      readonly kind: "tenantAuthentication";
      readonly serviceName: string;
      readonly tenantId: string;
      readonly disabled: boolean;
    }
  | {
      /** The CLI wrote the configuration file; the gateway may reload it now (admin API `POST /config/reload`). */
      readonly kind: "configWritten";
      readonly path: string;
      readonly command: string;
    };

/**
 * Applies a change to the running gateway.
 *
 * For `tenantAuthentication`, true means the gateway applied it *and* persisted it (the admin API writes
 * the file through `gateway/config/write.ts`), so the CLI must not write the file itself; false means no
 * gateway took it (not running, unreachable), and the CLI edits the file. A throw (the gateway answered with
 * an error, e.g. 401 for a wrong admin key) fails the command with nothing changed.
 * For `configWritten`, true means the gateway reloaded the new file.
 */
export type ApplyToRunningGateway = (change: ServiceChange) => Promise<boolean>;
