/**
 * Carries out an {@link AddPlan}: checks it against the *Service details* rules and the whole resulting
 * configuration before anything is created in Entra, signs an administrator in when an app must be created,
 * creates or imports the apps, verifies them, stores the secret and writes the configuration atomically.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { loadConfigFileSync } from "../config/load.js";
import type { AzureService, GatewayConfig } from "../config/types.js";
import { appendService, editConfigFile } from "../config/write.js";
import type { AddPlan, SecretInput } from "./add-plan.js";
import { signInAdministrator } from "./admin-sign-in.js";
import { type CommandContext, reportProblems } from "./context.js";
import { createEntraEndpoints, type EntraEndpoints } from "./entra-endpoints.js";
import { formatEntraFailure } from "./entra-errors.js";
import { createGraphAppsClient, DIRECTORY_READ_ALL_ROLE_ID, GRAPH_APP_ID, type GraphAppsClient } from "./graph-apps.js";
import { defaultSecretFile, hintOf, type SecretSource, storeSecret } from "./secret-store.js";
import { checkServiceChoice } from "./service-offers.js";
import { verifyNativeApp, verifyWebApp } from "./verify-app.js";

/** Options of {@link addService} beyond the plan. */
export interface AddOptions {
  /** Graph origin override (`--graph-url`). */
  readonly graphUrl: string | undefined;
  /** Public client for the administrator's sign-in (`--admin-client-id`). */
  readonly adminClientId: string | undefined;
}

/** Placeholder app IDs for the pre-flight validation of apps not created yet. */
const PLACEHOLDER_WEB_ID = "00000000-0000-4000-8000-00000000000a";
const PLACEHOLDER_NATIVE_ID = "00000000-0000-4000-8000-00000000000b";

/** The broker redirect URI Windows clients use (Azure Services Wizard, "Import apps dialog (client)"). */
export function brokerRedirectUri(clientId: string): string {
  return `ms-appx-web://Microsoft.AAD.BrokerPlugin/${clientId}`;
}

/** A configured secret as the file writes it (the resolved Secret knows its origin and reference). */
function sourceOf(service: AzureService): SecretSource {
  const s = service.webApp.secret;
  if (s.origin === "fromEnv" && s.reference !== undefined) return { fromEnv: s.reference };
  if (s.origin === "fromFile" && s.reference !== undefined) return { fromFile: s.reference };
  return { value: s.reveal() };
}

function secretSourceOfInput(input: SecretInput): SecretSource | undefined {
  if (input.kind === "file") return { fromFile: input.path };
  if (input.kind === "env") return { fromEnv: input.name };
  return undefined;
}

async function readSecretInput(ctx: CommandContext, input: SecretInput): Promise<string> {
  if (input.kind === "value") return input.value;
  if (input.kind === "env") {
    const value = ctx.io.env[input.name];
    if (value === undefined || value === "") throw new Error(`environment variable ${input.name} is not set`);
    return value;
  }
  const text = await readFile(resolve(ctx.configDir, input.path), "utf8");
  return text.replace(/\r?\n$/, "");
}

/** Picks the service whose app is reused. */
function pickReuse(
  config: GatewayConfig,
  tenantId: string,
  from: string | undefined,
  native: boolean,
): AzureService | string {
  const what = native ? "native app" : "web app";
  if (from !== undefined) {
    const found = config.azureServices.find((s) => s.name.toLowerCase() === from.toLowerCase());
    if (found === undefined) return `no service named ${JSON.stringify(from)} to reuse the ${what} of`;
    if (found.tenant.id !== tenantId) {
      return `service ${JSON.stringify(found.name)} is in tenant ${found.tenant.id}, not ${tenantId}: an app can be reused only within its tenant`;
    }
    if (native && found.nativeApp === undefined) return `service ${JSON.stringify(found.name)} has no native app`;
    return found;
  }
  const candidates = config.azureServices.filter((s) => s.tenant.id === tenantId && (!native || s.nativeApp));
  const distinct = new Set(candidates.map((s) => (native ? s.nativeApp?.clientId : s.webApp.clientId)));
  if (candidates.length === 0) return `no ${what} of tenant ${tenantId} is configured to reuse`;
  if (distinct.size > 1) {
    return `several ${what}s of tenant ${tenantId} are configured (${candidates.map((s) => s.name).join(", ")}); choose one with --reuse-${native ? "native" : "web"}-from`;
  }
  return candidates[0] as AzureService;
}

/**
 * Adds a service as planned.
 *
 * @param ctx the command context
 * @param plan what to add
 * @param options Graph URL and sign-in client overrides
 * @returns the exit code
 */
export async function addService(ctx: CommandContext, plan: AddPlan, options: AddOptions): Promise<number> {
  const current = loadConfigFileSync(ctx.configPath, ctx.validateOptions);
  if (!current.ok) {
    ctx.err(`${ctx.configPath} does not validate now; fix it before adding a service.`);
    reportProblems(ctx, current.problems);
    return 1;
  }
  const config = current.config;

  // 1. The wizard's rules, before anything is created in Entra.
  const ruleProblems = checkServiceChoice(
    {
      name: plan.name,
      type: plan.type,
      environment: plan.environment,
      tenantId: plan.tenantId,
      adminServiceManagement: plan.adminServiceManagement,
      webAction: plan.webApp.action,
      nativeAction: plan.nativeApp?.action,
    },
    config.azureServices.map((s) => ({ name: s.name, type: s.type, tenantId: s.tenant.id })),
  );
  if (ruleProblems.length > 0) {
    ctx.err(`Cannot add ${JSON.stringify(plan.name)} (Service details rules):`);
    for (const p of ruleProblems) ctx.err(`  - ${p}`);
    ctx.err("Nothing was created or written.");
    return 1;
  }
  const webReuse =
    plan.webApp.action === "reuse" ? pickReuse(config, plan.tenantId, plan.webApp.from, false) : undefined;
  const nativeReuse =
    plan.nativeApp?.action === "reuse" ? pickReuse(config, plan.tenantId, plan.nativeApp.from, true) : undefined;
  for (const r of [webReuse, nativeReuse]) {
    if (typeof r === "string") {
      ctx.err(`Cannot add ${JSON.stringify(plan.name)}: ${r}. Nothing was created or written.`);
      return 1;
    }
  }
  const reusedWeb = webReuse as AzureService | undefined;
  const reusedNative = nativeReuse as AzureService | undefined;

  // 2. The whole resulting configuration, with placeholders for apps not created yet.
  const tenantName =
    plan.tenantName ??
    reusedWeb?.tenant.name ??
    config.azureServices.find((s) => s.tenant.id === plan.tenantId)?.tenant.name;
  const draft = buildService(plan, {
    tenantName: tenantName ?? "pending.onmicrosoft.com",
    web: draftWebApp(plan, reusedWeb),
    native: draftNativeApp(plan, reusedNative),
  });
  const preflight = await editConfigFile(ctx.configPath, (doc) => appendService(doc, draft), {
    ...ctx.validateOptions,
    dryRun: true,
  });
  if (!preflight.ok) {
    ctx.err(`Cannot add ${JSON.stringify(plan.name)}: the configuration would not validate.`);
    reportProblems(ctx, preflight.problems);
    ctx.err("Nothing was created or written.");
    return 1;
  }

  const endpoints = createEntraEndpoints(config.environments[plan.environment], options.graphUrl);
  try {
    return await carryOut(ctx, plan, options, endpoints, { reusedWeb, reusedNative, tenantName });
  } catch (err) {
    ctx.err(`Cannot add ${JSON.stringify(plan.name)}: ${(err as Error).message}`);
    return 1;
  } finally {
    await endpoints.close();
  }
}

async function carryOut(
  ctx: CommandContext,
  plan: AddPlan,
  options: AddOptions,
  endpoints: EntraEndpoints,
  known: {
    reusedWeb: AzureService | undefined;
    reusedNative: AzureService | undefined;
    tenantName: string | undefined;
  },
): Promise<number> {
  let tenantName = known.tenantName;
  // 3. Administrator sign-in, only when something is created.
  let graph: GraphAppsClient | undefined;
  if (plan.webApp.action === "create" || plan.nativeApp?.action === "create") {
    ctx.out(`Sign in as an administrator of tenant ${plan.tenantId} to create the app registrations.`);
    const session = await signInAdministrator(endpoints, plan.tenantId, {
      print: (m) => ctx.out(m),
      ...(options.adminClientId === undefined ? {} : { clientId: options.adminClientId }),
    });
    graph = createGraphAppsClient(endpoints, session.accessToken);
    const org = await graph.organization();
    if (org.id.toLowerCase() !== plan.tenantId) {
      throw new Error(`the sign-in reached tenant ${org.id}, not ${plan.tenantId}`);
    }
    tenantName ??= org.initialDomain ?? org.displayName;
    ctx.out(
      `Signed in${session.username === undefined ? "" : ` as ${session.username}`} to ${org.displayName} (${tenantName}).`,
    );
  }

  // 4. Web app.
  let web: Record<string, unknown>;
  let webSecret: string;
  let webScopeId: string | undefined;
  let heldSecret: string | undefined;
  const webIsNew = plan.webApp.action === "create";
  if (plan.webApp.action === "import") {
    webSecret = await readSecretInput(ctx, plan.webApp.secret);
    heldSecret = plan.webApp.secret.kind === "value" ? webSecret : undefined;
    web = {
      name: plan.webApp.name,
      clientId: plan.webApp.clientId,
      appIdUri: plan.webApp.appIdUri,
      secret: secretSourceOfInput(plan.webApp.secret) ?? { value: "pending" },
      ...(plan.webApp.secretExpiry === undefined ? {} : { secretExpiry: plan.webApp.secretExpiry }),
      origin: "imported",
    };
  } else if (plan.webApp.action === "create") {
    if (graph === undefined) throw new Error("no Graph session");
    webScopeId = randomUUID();
    const created = await graph.createApplication(webAppBody(plan.webApp, webScopeId));
    await graph.ensureServicePrincipal(created.appId);
    const end = new Date(ctx.now() + plan.webApp.secretYears * 365 * 86_400_000).toISOString();
    const cred = await graph.addPassword(created.id, "ConfigMgr", end);
    webSecret = cred.secretText;
    heldSecret = webSecret;
    ctx.out(
      `Created web app ${plan.webApp.name}: client ID ${created.appId}, App ID URI ${plan.webApp.appIdUri}, secret ${hintOf(webSecret)} valid until ${cred.endDateTime}.`,
    );
    web = {
      name: plan.webApp.name,
      clientId: created.appId,
      appIdUri: plan.webApp.appIdUri,
      secret: { value: "pending" },
      secretExpiry: cred.endDateTime,
      origin: "created",
    };
  } else {
    const from = known.reusedWeb as AzureService;
    webSecret = from.webApp.secret.reveal();
    web = {
      name: from.webApp.name,
      clientId: from.webApp.clientId,
      appIdUri: from.webApp.appIdUri,
      secret: sourceOf(from),
      ...(from.webApp.secretExpiry === undefined ? {} : { secretExpiry: from.webApp.secretExpiry }),
      origin: from.webApp.origin,
    };
    ctx.out(`Reusing web app ${from.webApp.name} (${from.webApp.clientId}) of ${from.name}.`);
  }
  const webClientId = String(web.clientId);
  const appIdUri = String(web.appIdUri);

  // 5. Native app.
  let native: Record<string, unknown> | undefined;
  if (plan.nativeApp?.action === "import") {
    native = { name: plan.nativeApp.name, clientId: plan.nativeApp.clientId };
  } else if (plan.nativeApp?.action === "create") {
    if (graph === undefined) throw new Error("no Graph session");
    const scopeId = webScopeId ?? (await findScopeId(graph, webClientId));
    const created = await graph.createApplication({
      displayName: plan.nativeApp.name,
      signInAudience: "AzureADMyOrg",
      isFallbackPublicClient: true,
      publicClient: { redirectUris: [plan.nativeApp.replyUrl] },
      requiredResourceAccess: [{ resourceAppId: webClientId, resourceAccess: [{ id: scopeId, type: "Scope" }] }],
    });
    // The broker redirect names the app's own client ID, known only once it exists.
    await graph.patchApplication(created.id, {
      publicClient: { redirectUris: [plan.nativeApp.replyUrl, brokerRedirectUri(created.appId)] },
    });
    await graph.ensureServicePrincipal(created.appId);
    ctx.out(
      `Created native app ${plan.nativeApp.name}: client ID ${created.appId}, redirect URIs ${plan.nativeApp.replyUrl}, ${brokerRedirectUri(created.appId)}.`,
    );
    native = { name: plan.nativeApp.name, clientId: created.appId };
  } else if (plan.nativeApp?.action === "reuse") {
    const from = known.reusedNative as AzureService;
    native = { name: from.nativeApp?.name, clientId: from.nativeApp?.clientId };
    ctx.out(`Reusing native app ${from.nativeApp?.name} (${from.nativeApp?.clientId}) of ${from.name}.`);
  }

  // 6. Verify.
  if (plan.verify) {
    const checks = [
      {
        what: "web app",
        run: () =>
          verifyWebApp(endpoints, { tenantId: plan.tenantId, clientId: webClientId, secret: webSecret, appIdUri }),
      },
      ...(native === undefined
        ? []
        : [
            {
              what: "native app",
              run: () => verifyNativeApp(endpoints, plan.tenantId, String(native?.clientId), appIdUri),
            },
          ]),
    ];
    for (const check of checks) {
      const result = await check.run();
      if (result.ok) {
        ctx.out(`Verified ${check.what}: ${result.detail}.`);
        continue;
      }
      ctx.err(`Verification of the ${check.what} failed (${result.step}): ${formatEntraFailure(result.failure)}`);
      if (!webIsNew && plan.nativeApp?.action !== "create") {
        ctx.err("Nothing was written.");
        return 1;
      }
      ctx.err(
        "The new app registrations exist in Entra ID and are saved anyway; Entra can take a few minutes to replicate them. Run `services verify NAME` later.",
      );
    }
  }

  // 7. Secret and configuration.
  if (heldSecret !== undefined) {
    const stored = await storeSecret(
      ctx.configDir,
      plan.secretDestination ?? { kind: "file", path: defaultSecretFile(webClientId) },
      heldSecret,
    );
    web = { ...web, secret: stored.source };
    if (stored.warning !== undefined) ctx.err(`warning: ${stored.warning}`);
    else
      ctx.out(
        `Secret stored in ${(stored.source as { fromFile: string }).fromFile} (mode 0600), referenced with fromFile.`,
      );
  }
  const service = buildService(plan, { tenantName: tenantName ?? plan.tenantId, web, native });
  const result = await editConfigFile(ctx.configPath, (doc) => appendService(doc, service), ctx.validateOptions);
  if (!result.ok) {
    reportProblems(ctx, result.problems);
    ctx.err(`${ctx.configPath} was not changed.`);
    return 1;
  }
  for (const w of result.warnings) if (w.includes(JSON.stringify(plan.name))) ctx.err(`warning: ${w}`);
  ctx.out(
    `Added service ${JSON.stringify(plan.name)} (${plan.type}, ${plan.environment}, tenant ${tenantName}) to ${ctx.configPath}.`,
  );
  return notifyGateway(ctx, "add");
}

/**
 * Tells a running gateway that the file changed, when the seam is plugged in.
 *
 * @param ctx the command context
 * @param command the subcommand, for the gateway's log
 * @returns the command's exit code: 0, or 1 when the gateway answered with an error (e.g. a refused admin key)
 */
export async function notifyGateway(ctx: CommandContext, command: string): Promise<number> {
  const apply = ctx.io.applyToRunningGateway;
  let reloaded = false;
  try {
    reloaded = apply === undefined ? false : await apply({ kind: "configWritten", path: ctx.configPath, command });
  } catch (err) {
    ctx.err(
      `${(err as Error).message}\n${ctx.configPath} was written; a running gateway applies it on its next configuration reload (file watch or SIGHUP).`,
    );
    return 1;
  }
  ctx.out(
    reloaded
      ? "The running gateway reloaded the configuration."
      : "A running gateway applies the change on its next configuration reload (file watch or SIGHUP).",
  );
  return 0;
}

function draftWebApp(plan: AddPlan, reused: AzureService | undefined): Record<string, unknown> {
  if (plan.webApp.action === "import") {
    return {
      name: plan.webApp.name,
      clientId: plan.webApp.clientId,
      appIdUri: plan.webApp.appIdUri,
      secret: secretSourceOfInput(plan.webApp.secret) ?? { value: "placeholder" },
      ...(plan.webApp.secretExpiry === undefined ? {} : { secretExpiry: plan.webApp.secretExpiry }),
      origin: "imported",
    };
  }
  if (plan.webApp.action === "create") {
    return {
      name: plan.webApp.name,
      clientId: PLACEHOLDER_WEB_ID,
      appIdUri: plan.webApp.appIdUri,
      secret: { value: "placeholder" },
      origin: "created",
    };
  }
  return {
    name: reused?.webApp.name,
    clientId: reused?.webApp.clientId,
    appIdUri: reused?.webApp.appIdUri,
    secret: reused === undefined ? { value: "placeholder" } : sourceOf(reused),
    origin: reused?.webApp.origin,
  };
}

function draftNativeApp(plan: AddPlan, reused: AzureService | undefined): Record<string, unknown> | undefined {
  if (plan.nativeApp === undefined) return undefined;
  if (plan.nativeApp.action === "import") return { name: plan.nativeApp.name, clientId: plan.nativeApp.clientId };
  if (plan.nativeApp.action === "create") return { name: plan.nativeApp.name, clientId: PLACEHOLDER_NATIVE_ID };
  return { name: reused?.nativeApp?.name, clientId: reused?.nativeApp?.clientId };
}

/** The service as the file holds it, keys in the order of `example.yaml`. */
function buildService(
  plan: AddPlan,
  parts: { tenantName: string; web: Record<string, unknown>; native: Record<string, unknown> | undefined },
): { name: string } & Record<string, unknown> {
  return {
    name: plan.name,
    ...(plan.description === "" ? {} : { description: plan.description }),
    type: plan.type,
    environment: plan.environment,
    disableAuthentication: false,
    tenant: { id: plan.tenantId, name: parts.tenantName },
    webApp: parts.web,
    ...(parts.native === undefined ? {} : { nativeApp: parts.native }),
  };
}

/**
 * The server app as the wizard creates it (docs/architecture.md § Configuration Manager specifics): App ID URI, home page, the delegated
 * scope `user_impersonation`, v1 tokens (CM's default), and Graph's application permission
 * `Directory.Read.All` for Entra user discovery.
 */
function webAppBody(
  web: { name: string; homePageUrl: string; appIdUri: string },
  scopeId: string,
): Record<string, unknown> {
  return {
    displayName: web.name,
    signInAudience: "AzureADMyOrg",
    identifierUris: [web.appIdUri],
    web: { homePageUrl: web.homePageUrl, redirectUris: [web.homePageUrl] },
    api: {
      requestedAccessTokenVersion: null,
      oauth2PermissionScopes: [userImpersonationScope(web.name, scopeId)],
    },
    requiredResourceAccess: [
      { resourceAppId: GRAPH_APP_ID, resourceAccess: [{ id: DIRECTORY_READ_ALL_ROLE_ID, type: "Role" }] },
    ],
  };
}

/**
 * The `user_impersonation` scope object Graph expects.
 *
 * @param appName the server app's name
 * @param id the scope's GUID
 */
export function userImpersonationScope(appName: string, id: string): Record<string, unknown> {
  return {
    id,
    value: "user_impersonation",
    type: "User",
    isEnabled: true,
    adminConsentDisplayName: `Access ${appName}`,
    adminConsentDescription: `Allow the application to access ${appName} on behalf of the signed-in user.`,
    userConsentDisplayName: `Access ${appName}`,
    userConsentDescription: `Allow the application to access ${appName} on your behalf.`,
  };
}

async function findScopeId(graph: GraphAppsClient, webClientId: string): Promise<string> {
  const app = await graph.findApplication(webClientId);
  if (app === undefined) throw new Error(`web app ${webClientId} is not an app registration of this tenant`);
  const scope = app.api?.oauth2PermissionScopes?.find((s) => s.value === "user_impersonation");
  if (scope?.id === undefined) {
    throw new Error(
      `web app ${webClientId} exposes no user_impersonation scope; run \`services update-app-settings\` for it first`,
    );
  }
  return scope.id;
}
