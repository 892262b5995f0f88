/**
 * `entra-gateway services …`: the Azure Services Wizard as a command line (docs/onboarding.md).
 * Every action of the wizard has a subcommand; every change validates the whole resulting configuration
 * before it is written atomically (`gateway/config/write.ts`).
 *
 * @example
 * const code = await runServicesCommand(["list", "--config", "gateway.yaml"], {
 *   stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env,
 * });
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { type CommandSpec, type OptionSpecs, parseCommandLine, stringOption, writeJson } from "../command-line.js";
import { loadConfigFileSync } from "../config/load.js";
import { editConfigFile, parseConfigDocument, removeService } from "../config/write.js";
import { openTenantStateStore } from "../state/open-tenant-state-store.js";
import { createFileTenantStateStore, TENANT_STATE_FILE, type TenantStateStore } from "../state/tenant-state.js";
import { type AddFlags, type AddPlan, PlanError, planFromFlags, planInteractively, summarizePlan } from "./add-plan.js";
import { addService, notifyGateway } from "./add-service.js";
import {
  CONFIG_ENV_VAR,
  type CommandContext,
  createCommandContext,
  findEntry,
  loadNamedService,
  readServiceEntries,
  reportProblems,
  type ServicesIo,
} from "./context.js";
import { createEntraEndpoints } from "./entra-endpoints.js";
import { formatEntraFailure } from "./entra-errors.js";
import { createPrompter, InputEndedError, type Prompter } from "./prompt.js";
import { renewSecret } from "./renew-secret.js";
import { renderDetails, renderTable, viewServices } from "./service-view.js";
import { updateAppSettings } from "./update-app-settings.js";
import { verifyNativeApp, verifyWebApp } from "./verify-app.js";

export type { ServicesIo } from "./context.js";
export type { ApplyToRunningGateway, ServiceChange } from "./gateway-seam.js";

type Options = OptionSpecs;

const COMMON: Options = {
  config: { type: "string", short: "c" },
};
const ENTRA: Options = {
  "graph-url": { type: "string" },
  "admin-client-id": { type: "string" },
};
const STATE: Options = {
  /** The gateway's state directory (`serve --state-dir`), where runtime tenant state lives. */
  "state-dir": { type: "string" },
};
const SECRET_OUT: Options = {
  "secret-out": { type: "string" },
  "secret-inline": { type: "boolean" },
};

const SUBCOMMANDS: Readonly<Record<string, { options: Options; positional: 0 | 1; usage: string }>> = {
  list: { options: COMMON, positional: 0, usage: "list [--json]" },
  show: { options: COMMON, positional: 1, usage: "show NAME [--json]" },
  add: {
    options: {
      ...COMMON,
      ...ENTRA,
      ...SECRET_OUT,
      interactive: { type: "boolean", short: "i" },
      name: { type: "string" },
      description: { type: "string" },
      type: { type: "string" },
      environment: { type: "string" },
      "admin-service-management": { type: "boolean" },
      "tenant-id": { type: "string" },
      "tenant-name": { type: "string" },
      "web-app": { type: "string" },
      "web-app-name": { type: "string" },
      "web-client-id": { type: "string" },
      "web-app-id-uri": { type: "string" },
      "web-secret-file": { type: "string" },
      "web-secret-env": { type: "string" },
      "web-secret-value": { type: "string" },
      "web-secret-expiry": { type: "string" },
      "home-page-url": { type: "string" },
      "secret-years": { type: "string" },
      "reuse-web-from": { type: "string" },
      "native-app": { type: "string" },
      "native-app-name": { type: "string" },
      "native-client-id": { type: "string" },
      "reply-url": { type: "string" },
      "reuse-native-from": { type: "string" },
      "no-verify": { type: "boolean" },
      yes: { type: "boolean", short: "y" },
    },
    positional: 0,
    usage: "add [--interactive] --name N --type T --tenant-id GUID [app flags…]",
  },
  verify: { options: { ...COMMON, ...ENTRA }, positional: 1, usage: "verify NAME" },
  "renew-secret": {
    options: {
      ...COMMON,
      ...ENTRA,
      ...SECRET_OUT,
      interactive: { type: "boolean", short: "i" },
      "secret-years": { type: "string" },
      "secret-file": { type: "string" },
      "secret-env": { type: "string" },
      "secret-value": { type: "string" },
      "secret-expiry": { type: "string" },
      "keep-old-secret": { type: "boolean" },
      "no-verify": { type: "boolean" },
    },
    positional: 1,
    usage: "renew-secret NAME [--secret-years 1|2] [--secret-file F|--secret-env V|--secret-value S --secret-expiry D]",
  },
  "update-app-settings": { options: { ...COMMON, ...ENTRA }, positional: 1, usage: "update-app-settings NAME" },
  "disable-auth": { options: { ...COMMON, ...STATE }, positional: 1, usage: "disable-auth NAME [--state-dir DIR]" },
  "enable-auth": { options: { ...COMMON, ...STATE }, positional: 1, usage: "enable-auth NAME [--state-dir DIR]" },
  remove: {
    options: { ...COMMON, yes: { type: "boolean", short: "y" } },
    positional: 1,
    usage: "remove NAME [--yes]",
  },
};

const HELP = `Usage: entra-gateway services <command> [options]   (the Azure Services Wizard)

NAME is a service name, a tenant domain (contoso.onmicrosoft.com) or a tenant ID.

Commands:
  list [--json]                 services, tenants, apps, flags and secret expiry status
  show NAME [--json]            one service in detail
  add                           import, create or reuse the web and native apps of a new service
  verify NAME                   get tokens with the configured apps (client credentials)
  renew-secret NAME             new web app secret (created apps through Graph; imported: give the new one)
  update-app-settings NAME      the server app's settings for device tokens and directory reads (Graph)
  disable-auth NAME             refuse the tenant's tokens (CM 2010+ "Disable Microsoft Entra authentication"):
                                runtime state of the running gateway, else in --state-dir (default .state)
  enable-auth NAME              accept them again
  remove NAME [--yes]           remove the connection (the app registrations in Entra ID are left alone);
                                asks first on a terminal, refuses without one unless --yes

Common options:
  -c, --config FILE             the configuration file (default $${CONFIG_ENV_VAR})
  --json                        one JSON document on stdout ({ok, command, …, messages, errors});
                                messages and questions go to stderr
  -h, --help                    this text
  --graph-url URL               Microsoft Graph origin (default https://graph.microsoft.com or .us)
  --admin-client-id GUID        public client for administrator sign-in (default Microsoft Azure PowerShell)

add:
  -i, --interactive             ask for everything not given, page by page (default on a terminal)
  --name N --description D --type cloudManagement|adminServiceManagement|logAnalytics|storeForBusiness
      adminServiceManagement (CM 2207+, CMG VMSS only): AdminService's own web + native app for a tenant
      that has a cloud management service; its tokens reach only /AdminService/, and that tenant's cloud
      management tokens lose /AdminService/ (its clients keep authenticating everywhere else)
  --environment AzurePublicCloud|AzureUSGovernmentCloud
  --admin-service-management    (replaced by --type adminServiceManagement; refused with that advice)
  --tenant-id GUID --tenant-name NAME
  --web-app import|create|reuse
      import: --web-app-name --web-client-id --web-app-id-uri --web-secret-expiry DATE
              --web-secret-file FILE | --web-secret-env VAR | --web-secret-value SECRET
      create: --web-app-name [ConfigMgrService] --home-page-url [https://ConfigMgrService]
              --web-app-id-uri [api://{tenantId}/{name}] --secret-years 1|2
      reuse:  --reuse-web-from SERVICE
  --native-app import|create|reuse   (cloud management and Administration Service Management)
      import: --native-app-name --native-client-id    create: --native-app-name --reply-url
      reuse:  --reuse-native-from SERVICE
  --secret-out FILE | --secret-inline   where a secret value goes (default secrets/{clientId}.secret, 0600)
  --no-verify  -y, --yes (no confirmation in interactive mode)
`;

/**
 * Runs `services <subcommand> …`.
 *
 * @param argv the arguments after `services`
 * @param io streams, environment, clock and the running-gateway seam
 * @returns the exit code: 0 done, 1 failed or refused, 2 usage error
 */
export async function runServicesCommand(argv: string[], io: ServicesIo): Promise<number> {
  const [name, ...rest] = argv;
  const write = (stream: NodeJS.WritableStream, text: string): void => {
    stream.write(text.endsWith("\n") ? text : `${text}\n`);
  };
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    write(name === undefined ? io.stderr : io.stdout, HELP);
    return name === undefined ? 2 : 0;
  }
  const sub = SUBCOMMANDS[name];
  if (sub === undefined) {
    write(io.stderr, `unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return 2;
  }
  const spec: CommandSpec = {
    usage: `usage: entra-gateway services ${sub.usage}`,
    help: HELP,
    options: sub.options,
    positionals: { min: sub.positional, max: sub.positional },
  };
  const parsed = parseCommandLine(spec, rest, io);
  if (parsed.exitCode !== undefined) return parsed.exitCode;
  const { values, positionals } = parsed;
  const ctx = createCommandContext(io, stringOption(values, "config"), parsed.json);
  if (ctx === undefined) {
    write(io.stderr, `no configuration file: give --config FILE or set ${CONFIG_ENV_VAR}`);
    return 2;
  }
  const code = await runSubcommand(name, ctx, values, positionals[0] ?? "", spec);
  if (ctx.json) writeJson(io.stdout, ctx.jsonDocument(name, code));
  return code;
}

async function runSubcommand(
  name: string,
  ctx: CommandContext,
  values: AddFlags,
  target: string,
  spec: CommandSpec,
): Promise<number> {
  const entra = {
    graphUrl: stringOption(values, "graph-url"),
    adminClientId: stringOption(values, "admin-client-id"),
  };
  try {
    switch (name) {
      case "list":
        return await listServices(ctx);
      case "show":
        return await showService(ctx, target);
      case "add":
        return await runAdd(ctx, values, entra);
      case "verify":
        return await verifyService(ctx, target, entra.graphUrl);
      case "renew-secret": {
        const prompter = wantsPrompts(ctx.io, values) ? createPrompter(ctx.io.stdin, ctx.promptOutput) : undefined;
        try {
          return await renewSecret(ctx, target, { flags: values, ...entra, prompter });
        } finally {
          prompter?.close();
        }
      }
      case "update-app-settings":
        return await updateAppSettings(ctx, target, entra);
      case "disable-auth":
        return await setAuthentication(ctx, target, true, stateDirOf(ctx, values["state-dir"]));
      case "enable-auth":
        return await setAuthentication(ctx, target, false, stateDirOf(ctx, values["state-dir"]));
      case "remove":
        return await removeConnection(ctx, target, values.yes === true);
      default:
        return 2;
    }
  } catch (err) {
    if (err instanceof PlanError) {
      ctx.err(`${err.message}\n${spec.usage}`);
      return 2;
    }
    if (err instanceof InputEndedError) {
      ctx.err(`${err.message}; nothing was changed.`);
      return 1;
    }
    ctx.err(`services ${name}: ${(err as Error).message}`);
    return 1;
  }
}

function wantsPrompts(io: ServicesIo, values: AddFlags): boolean {
  return values.interactive === true || isTerminal(io);
}

function isTerminal(io: ServicesIo): boolean {
  return (io.stdin as { isTTY?: boolean }).isTTY === true;
}

async function runAdd(
  ctx: CommandContext,
  values: AddFlags,
  entra: { graphUrl: string | undefined; adminClientId: string | undefined },
): Promise<number> {
  let plan: AddPlan;
  if (wantsPrompts(ctx.io, values)) {
    const current = loadConfigFileSync(ctx.configPath, ctx.validateOptions);
    const prompter: Prompter = createPrompter(ctx.io.stdin, ctx.promptOutput);
    try {
      plan = await planInteractively(
        prompter,
        values,
        current.ok ? current.config.azureServices : [],
        ctx.cwd,
        ctx.configDir,
      );
      prompter.say("");
      prompter.say("— Summary —");
      for (const line of summarizePlan(plan)) prompter.say(line);
      if (values.yes !== true && !(await prompter.confirm("Add this service?", true))) {
        ctx.out("Nothing was changed.");
        return 1;
      }
    } finally {
      prompter.close();
    }
  } else {
    plan = planFromFlags(values, ctx.cwd, ctx.configDir);
  }
  return addService(ctx, plan, entra);
}

async function listServices(ctx: CommandContext): Promise<number> {
  const entries = await readServiceEntries(ctx.configPath);
  const parsed = entries.flatMap((e) => (e.service === undefined ? [] : [e.service]));
  const views = viewServices(parsed, ctx.now());
  if (ctx.json) ctx.result({ services: views });
  else if (views.length === 0) ctx.out(`No services in ${ctx.configPath}. Add one with: services add`);
  else ctx.out(renderTable(views));
  for (const e of entries) {
    if (e.service === undefined) {
      ctx.err(`azureServices[${e.index}] (${JSON.stringify(e.name ?? "?")}) is not valid: ${e.problems.join("; ")}`);
    }
  }
  const attention = views.filter((v) => v.webApp.secretStatus === "expired" || v.webApp.secretStatus === "expiring");
  if (!ctx.json) {
    for (const v of attention) {
      ctx.err(
        `warning: the web app secret of ${JSON.stringify(v.name)} ${v.webApp.secretStatus === "expired" ? "has expired" : "expires within 30 days"} (${v.webApp.secretExpiry}): services renew-secret ${JSON.stringify(v.name)}`,
      );
    }
  }
  return 0;
}

async function showService(ctx: CommandContext, name: string): Promise<number> {
  const entries = await readServiceEntries(ctx.configPath);
  const entry = findEntry(ctx, entries, name);
  if (entry === undefined) return 1;
  if (entry.service === undefined) {
    ctx.err(`service ${JSON.stringify(name)} is not valid: ${entry.problems.join("; ")}`);
    return 1;
  }
  const all = entries.flatMap((e) => (e.service === undefined ? [] : [e.service]));
  const view = viewServices(all, ctx.now()).find((v) => v.name === entry.service?.name);
  if (view === undefined) return 1;
  if (ctx.json) ctx.result({ service: view });
  else ctx.out(renderDetails(view, ctx.now()));
  return 0;
}

async function verifyService(ctx: CommandContext, name: string, graphUrl: string | undefined): Promise<number> {
  const found = loadNamedService(ctx, name);
  if (found === undefined) return 1;
  const { config, service } = found;
  const endpoints = createEntraEndpoints(config.environments[service.environment], graphUrl);
  try {
    const web = await verifyWebApp(endpoints, {
      tenantId: service.tenant.id,
      clientId: service.webApp.clientId,
      secret: service.webApp.secret.reveal(),
      appIdUri: service.webApp.appIdUri,
    });
    if (!web.ok) {
      ctx.err(`Web app verification failed (${web.step}): ${formatEntraFailure(web.failure)}`);
      return 1;
    }
    ctx.out(`Verified web app: ${web.detail}.`);
    if (service.nativeApp !== undefined) {
      const native = await verifyNativeApp(
        endpoints,
        service.tenant.id,
        service.nativeApp.clientId,
        service.webApp.appIdUri,
      );
      if (!native.ok) {
        ctx.err(`Native app verification failed (${native.step}): ${formatEntraFailure(native.failure)}`);
        return 1;
      }
      ctx.out(`Verified native app: ${native.detail}.`);
    }
    return 0;
  } finally {
    await endpoints.close();
  }
}

/** Environment variable naming the gateway's state directory for `disable-auth` / `enable-auth`. */
export const STATE_DIR_ENV_VAR = "ENTRA_GATEWAY_STATE_DIR";

/** `--state-dir`, else `$ENTRA_GATEWAY_STATE_DIR`, else `.state` (as `serve`). */
function stateDirOf(ctx: CommandContext, flag: unknown): string {
  const given = typeof flag === "string" ? flag : (ctx.io.env[STATE_DIR_ENV_VAR] ?? ".state");
  return resolve(ctx.cwd, given);
}

/**
 * Disable/enable is runtime tenant state, never a file edit (docs/operations.md § Runtime tenant state):
 * through the running gateway's admin API when one answers, else written to the state directory, where a
 * running gateway sees it at once (it watches the file) and a stopped one at its next start. An admin API
 * that answers with an error (a refused key above all) fails the command: nothing is written around it.
 */
async function setAuthentication(
  ctx: CommandContext,
  name: string,
  disabled: boolean,
  stateDir: string,
): Promise<number> {
  const entry = findEntry(ctx, await readServiceEntries(ctx.configPath), name);
  if (entry === undefined) return 1;
  const service = entry.service;
  if (service === undefined) {
    ctx.err(`service ${JSON.stringify(entry.name)} is not valid: ${entry.problems.join("; ")}`);
    return 1;
  }
  if (service.type !== "cloudManagement") {
    ctx.err(
      `${JSON.stringify(service.name)} is a ${service.type} service; Entra authentication is disabled per cloud management tenant only`,
    );
    return 1;
  }
  const verb = disabled ? "disabled" : "enabled";
  const apply = ctx.io.applyToRunningGateway;
  if (apply !== undefined) {
    // false: no gateway answers there (edit the file instead); any answer other than 2xx throws — a refused
    // admin key is an error to fix, never a reason to go around the gateway.
    const applied = await apply({
      kind: "tenantAuthentication",
      serviceName: service.name,
      tenantId: service.tenant.id,
      disabled,
    });
    if (applied) {
      ctx.out(
        `The running gateway ${verb} Entra authentication for tenant ${service.tenant.name} (${service.tenant.id}) from its next request, and saved it.`,
      );
      return 0;
    }
  }
  const store = await openStateStore(ctx, stateDir);
  if (store === undefined) return 1;
  try {
    await store.set(service.tenant.id, { disabled, by: cliActor(ctx), at: new Date(ctx.now()).toISOString() });
  } catch (err) {
    ctx.err(`Could not write the runtime tenant state in ${store.where}: ${(err as Error).message}`);
    return 1;
  } finally {
    await store.close?.();
  }
  if (store.connected !== undefined) {
    // Shared: every gateway subscribed to it applies the change at once (docs/operations.md § Shared tenant state).
    ctx.out(
      `Entra authentication ${verb} for ${JSON.stringify(service.name)} (tenant ${service.tenant.id}) in the shared state (${store.where}); ${ctx.configPath} is unchanged.`,
    );
    ctx.out("Every gateway sharing it applies the change from its next request.");
    return 0;
  }
  ctx.out(
    `Entra authentication ${verb} for ${JSON.stringify(service.name)} (tenant ${service.tenant.id}) in ${join(stateDir, TENANT_STATE_FILE)}; ${ctx.configPath} is unchanged.`,
  );
  if (disabled) ctx.out("The gateway answers this tenant's tokens with 403 once it has the change.");
  ctx.out(
    "A gateway running with this state directory applies it at once; otherwise it applies at the gateway's next start.",
  );
  return 0;
}

/**
 * Where the gateway of this configuration keeps runtime tenant state: Redis when `sharedState` is configured,
 * else the state directory. A file that does not validate still works with the state directory (the switch is
 * for incidents), but not when it names a shared store: its connection cannot be taken from a broken file, and
 * writing the state directory instead would change nothing any gateway reads.
 */
async function openStateStore(ctx: CommandContext, stateDir: string): Promise<TenantStateStore | undefined> {
  const loaded = loadConfigFileSync(ctx.configPath, ctx.validateOptions);
  if (loaded.ok) return openTenantStateStore(loaded.config.sharedState, stateDir);
  if (namesSharedState(ctx.configPath)) {
    ctx.err(
      `${ctx.configPath} does not validate now, and it configures sharedState: fix it first, or make the change through a running gateway's admin API (ENTRA_GATEWAY_ADMIN_URL).`,
    );
    return undefined;
  }
  return createFileTenantStateStore(stateDir);
}

/** Whether the file (valid or not) has a top-level `sharedState` key. */
function namesSharedState(configPath: string): boolean {
  try {
    const raw = parseConfigDocument(readFileSync(configPath, "utf8")).toJS({ maxAliasCount: 100 }) as unknown;
    return typeof raw === "object" && raw !== null && "sharedState" in raw;
  } catch {
    return false;
  }
}

/** Who made a change from the CLI (for `GET /tenants`'s origin). */
function cliActor(ctx: CommandContext): string {
  const user = ctx.io.env.USER ?? ctx.io.env.USERNAME ?? "unknown user";
  return `services CLI (${user.slice(0, 64)} on ${hostname().slice(0, 64)})`;
}

async function removeConnection(ctx: CommandContext, name: string, confirmed: boolean): Promise<number> {
  const entries = await readServiceEntries(ctx.configPath);
  const entry = findEntry(ctx, entries, name);
  if (entry === undefined) return 1;
  const what = `the connection ${JSON.stringify(entry.name)}${entry.service === undefined ? "" : ` (tenant ${entry.service.tenant.name}, ${entry.service.tenant.id})`}`;
  if (!confirmed) {
    if (!isTerminal(ctx.io)) {
      ctx.err(
        `services remove: not removing ${what} without confirmation: there is no terminal to ask on; add --yes to remove it.`,
      );
      return 2;
    }
    const prompter = createPrompter(ctx.io.stdin, ctx.promptOutput);
    try {
      if (!(await prompter.confirm(`Remove ${what} from ${ctx.configPath}?`, false))) {
        ctx.out("Nothing was changed.");
        return 1;
      }
    } finally {
      prompter.close();
    }
  }
  const result = await editConfigFile(
    ctx.configPath,
    (doc) => removeService(doc, entry.name ?? name),
    ctx.validateOptions,
  );
  if (!result.ok) {
    reportProblems(ctx, result.problems);
    ctx.err(`${ctx.configPath} was not changed.`);
    return 1;
  }
  ctx.out(`Removed the connection ${JSON.stringify(entry.name)} from ${ctx.configPath}.`);
  const s = entry.service;
  if (s !== undefined) {
    const apps = [`web app ${s.webApp.name} (${s.webApp.clientId})`];
    if (s.nativeApp !== undefined) apps.push(`native app ${s.nativeApp.name} (${s.nativeApp.clientId})`);
    ctx.out(
      `The app registrations in Microsoft Entra ID (${apps.join(", ")}) are left alone: ask your Entra administrator to delete them when no longer needed, or import them again with services add.`,
    );
    const stillUsed = result.config.azureServices.filter((o) => o.webApp.clientId === s.webApp.clientId.toLowerCase());
    if (stillUsed.length > 0) {
      ctx.out(`The web app is still used by ${stillUsed.map((o) => JSON.stringify(o.name)).join(", ")}.`);
    }
    if (s.webApp.secret.fromFile !== undefined && stillUsed.length === 0) {
      ctx.out(`The secret file ${s.webApp.secret.fromFile} is left in place; delete it when the app is gone.`);
    }
  }
  return notifyGateway(ctx, "remove");
}
