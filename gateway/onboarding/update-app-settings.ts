/**
 * `services update-app-settings NAME` (Azure Services Wizard, "Update application settings"): brings the
 * server app's registration up to what clients' Entra device tokens and directory reads need, through
 * Microsoft Graph with an administrator's sign-in:
 *
 * - the App ID URI of the configuration among `identifierUris` (the resource clients ask device tokens for);
 * - the delegated scope `user_impersonation` exposed (`api.oauth2PermissionScopes`);
 * - Graph's application permission `Directory.Read.All` (`requiredResourceAccess`), for Entra user discovery.
 *
 * Only collections that lack something are sent (Graph replaces a collection as a whole, so existing
 * entries are kept in it). The configuration file is not changed.
 */
import { randomUUID } from "node:crypto";
import { userImpersonationScope } from "./add-service.js";
import { signInAdministrator } from "./admin-sign-in.js";
import { type CommandContext, loadNamedService } from "./context.js";
import { createEntraEndpoints } from "./entra-endpoints.js";
import { describeEntraError } from "./entra-errors.js";
import {
  createGraphAppsClient,
  DIRECTORY_READ_ALL_ROLE_ID,
  GRAPH_APP_ID,
  type GraphApplication,
  type GraphResourceAccess,
} from "./graph-apps.js";

/**
 * The Graph `PATCH` body that brings an application up to the settings, and what it changes.
 *
 * @param app the application as Graph returns it
 * @param appIdUri the App ID URI the configuration expects
 * @param newScopeId ID for a `user_impersonation` scope when one must be added
 */
export function appSettingsPatch(
  app: GraphApplication,
  appIdUri: string,
  newScopeId: string,
): { body: Record<string, unknown>; changes: string[] } {
  const body: Record<string, unknown> = {};
  const changes: string[] = [];
  const uris = app.identifierUris ?? [];
  if (!uris.some((u) => u.replace(/\/+$/, "") === appIdUri.replace(/\/+$/, ""))) {
    body.identifierUris = [...uris, appIdUri];
    changes.push(`App ID URI ${appIdUri} added`);
  }
  const scopes = app.api?.oauth2PermissionScopes ?? [];
  if (!scopes.some((s) => s.value === "user_impersonation" && s.isEnabled !== false)) {
    body.api = {
      oauth2PermissionScopes: [
        ...scopes.filter((s) => s.value !== "user_impersonation"),
        userImpersonationScope(app.displayName, newScopeId),
      ],
    };
    changes.push("delegated scope user_impersonation exposed");
  }
  const access = app.requiredResourceAccess ?? [];
  const graph = access.find((r) => r.resourceAppId === GRAPH_APP_ID);
  const hasDirectoryRead = graph?.resourceAccess.some(
    (a) => a.type === "Role" && a.id.toLowerCase() === DIRECTORY_READ_ALL_ROLE_ID,
  );
  if (hasDirectoryRead !== true) {
    const graphEntry: GraphResourceAccess = {
      resourceAppId: GRAPH_APP_ID,
      resourceAccess: [...(graph?.resourceAccess ?? []), { id: DIRECTORY_READ_ALL_ROLE_ID, type: "Role" }],
    };
    body.requiredResourceAccess = [...access.filter((r) => r.resourceAppId !== GRAPH_APP_ID), graphEntry];
    changes.push("Microsoft Graph application permission Directory.Read.All added");
  }
  return { body, changes };
}

/**
 * Updates the server app's settings of a service.
 *
 * @param ctx the command context
 * @param name the service name
 * @param options Graph URL and sign-in client overrides
 * @returns the exit code
 */
export async function updateAppSettings(
  ctx: CommandContext,
  name: string,
  options: { readonly graphUrl: string | undefined; readonly adminClientId: string | undefined },
): Promise<number> {
  const found = loadNamedService(ctx, name);
  if (found === undefined) return 1;
  const { config, service } = found;
  const endpoints = createEntraEndpoints(config.environments[service.environment], options.graphUrl);
  try {
    ctx.out(`Sign in as an administrator of tenant ${service.tenant.id} to update ${service.webApp.name}.`);
    const session = await signInAdministrator(endpoints, service.tenant.id, {
      print: (m) => ctx.out(m),
      ...(options.adminClientId === undefined ? {} : { clientId: options.adminClientId }),
    });
    const graph = createGraphAppsClient(endpoints, session.accessToken);
    const app = await graph.findApplication(service.webApp.clientId);
    if (app === undefined) {
      ctx.err(`web app ${service.webApp.clientId} is not an app registration of tenant ${service.tenant.id}`);
      return 1;
    }
    const { body, changes } = appSettingsPatch(app, service.webApp.appIdUri, randomUUID());
    if (changes.length === 0) {
      ctx.out(`${app.displayName} already has the latest settings; nothing changed.`);
      return 0;
    }
    await graph.patchApplication(app.id, body);
    await graph.ensureServicePrincipal(app.appId);
    ctx.out(`Updated ${app.displayName} (${app.appId}):`);
    for (const c of changes) ctx.out(`  - ${c}`);
    ctx.out(
      "Grant admin consent for Directory.Read.All in the Entra admin center if your tenant requires it; the gateway's configuration is unchanged.",
    );
    return 0;
  } catch (err) {
    ctx.err(`Cannot update the application settings of ${JSON.stringify(service.name)}: ${describeEntraError(err)}`);
    return 1;
  } finally {
    await endpoints.close();
  }
}
