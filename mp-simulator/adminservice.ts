/**
 * The Administration Service (`/AdminService/`): OData v4 JSON over the site's data. `v1.0` serves
 * `$metadata`, `User` (the users Entra user discovery found) and `Device` (registered clients); `wmi`
 * serves `SMS_R_System` and `SMS_R_User`. Query options: `$filter` with `eq` clauses joined by `and`
 * (string comparison case-insensitive, as CM's SQL collation), `$select`, `$top`, `$skip`; anything else
 * is refused with 400 rather than silently ignored.
 */
import type { DiscoveredUser } from "./discovery.js";
import { MpError } from "./errors.js";
import type { RegisteredClient } from "./registry.js";
import { escapeXml } from "./xml.js";

type EdmType = "Edm.String" | "Edm.Int64" | "Edm.Int32" | "Edm.Boolean" | "Edm.DateTimeOffset";
type Row = Record<string, string | number | boolean | null>;

interface EntitySet {
  readonly name: string;
  readonly key: string;
  readonly properties: Readonly<Record<string, EdmType>>;
  rows(): Row[];
}

/** Where AdminService reads the site's data. */
export interface AdminServiceData {
  users(): readonly DiscoveredUser[];
  clients(): readonly RegisteredClient[];
}

/** A rendered AdminService answer. */
export interface AdminServiceResponse {
  readonly contentType: string;
  readonly body: string;
}

/** Serves AdminService requests. */
export interface AdminService {
  /**
   * Answers `GET /AdminService{path}`; `path` starts with `/v1.0` or `/wmi`. `origin` is the MP's public
   * origin for `@odata.context`. Throws {@link MpError} (`not_found`, `query_invalid`).
   */
  handle(path: string, query: Readonly<Record<string, unknown>>, origin: string): AdminServiceResponse;
}

/** First user resource ID of a CM site (0x7B000000). */
const FIRST_USER_RESOURCE_ID = 2_063_597_568;

/** Creates the AdminService over `data`. */
export function createAdminService(data: AdminServiceData): AdminService {
  const userResourceIds = new Map<string, number>();
  const userResourceId = (u: DiscoveredUser) => {
    const key = `${u.tenantId}/${u.id}`;
    let id = userResourceIds.get(key);
    if (id === undefined) {
      id = FIRST_USER_RESOURCE_ID + userResourceIds.size;
      userResourceIds.set(key, id);
    }
    return id;
  };
  const userName = (u: DiscoveredUser) =>
    u.onPremisesSamAccountName ?? u.mailNickname ?? u.userPrincipalName.split("@")[0]!;
  const userRow = (u: DiscoveredUser): Row => ({
    ResourceId: userResourceId(u),
    UserName: userName(u),
    FullUserName: u.displayName,
    UserPrincipalName: u.userPrincipalName,
    Mail: u.mail,
    AADUserID: u.id,
    AADTenantID: u.tenantId,
    SID: u.onPremisesSecurityIdentifier,
    DomainName: u.onPremisesDomainName,
    DistinguishedName: u.onPremisesDistinguishedName,
    DiscoveredAt: u.discoveredAt,
  });
  const deviceRow = (c: RegisteredClient): Row => ({
    MachineId: c.resourceId,
    Name: c.netbiosName,
    SMSID: c.smsId,
    AADDeviceID: c.deviceId ?? null,
    AADTenantID: c.tenantId,
    ClientVersion: c.clientVersion,
    IsClient: true,
    IsApproved: Number(c.approval),
    RegisteredAt: c.registeredAt,
    LastPolicyRequest: c.lastPolicyRequestAt ?? null,
  });
  const systemRow = (c: RegisteredClient): Row => ({
    ResourceId: c.resourceId,
    ResourceType: 5,
    Name: c.netbiosName,
    NetbiosName: c.netbiosName,
    FullDomainName: c.fqdn ?? null,
    SMSUniqueIdentifier: c.smsId,
    AADDeviceID: c.deviceId ?? null,
    AADTenantID: c.tenantId,
    ClientVersion: c.clientVersion,
    Client: 1,
    ClientType: 1,
    Active: 1,
    Obsolete: 0,
    Decommissioned: 0,
  });
  const userWmiRow = (u: DiscoveredUser): Row => ({
    ResourceId: userResourceId(u),
    ResourceType: 4,
    Name: `${u.onPremisesDomainName ?? "AzureAD"}\\${userName(u)} (${u.displayName ?? ""})`,
    UniqueUserName: `${u.onPremisesDomainName ?? "AzureAD"}\\${userName(u)}`,
    UserPrincipalName: u.userPrincipalName,
    FullUserName: u.displayName,
    Mail: u.mail,
    AzureActiveDirectoryUserID: u.id,
    AzureADTenantID: u.tenantId,
    SID: u.onPremisesSecurityIdentifier,
    DistinguishedName: u.onPremisesDistinguishedName,
  });

  const props = <T extends string>(names: Record<T, EdmType>) => names;
  const v1: Record<string, EntitySet> = {
    User: {
      name: "User",
      key: "ResourceId",
      properties: props({
        ResourceId: "Edm.Int64",
        UserName: "Edm.String",
        FullUserName: "Edm.String",
        UserPrincipalName: "Edm.String",
        Mail: "Edm.String",
        AADUserID: "Edm.String",
        AADTenantID: "Edm.String",
        SID: "Edm.String",
        DomainName: "Edm.String",
        DistinguishedName: "Edm.String",
        DiscoveredAt: "Edm.DateTimeOffset",
      }),
      rows: () => data.users().map(userRow),
    },
    Device: {
      name: "Device",
      key: "MachineId",
      properties: props({
        MachineId: "Edm.Int64",
        Name: "Edm.String",
        SMSID: "Edm.String",
        AADDeviceID: "Edm.String",
        AADTenantID: "Edm.String",
        ClientVersion: "Edm.String",
        IsClient: "Edm.Boolean",
        IsApproved: "Edm.Int32",
        RegisteredAt: "Edm.DateTimeOffset",
        LastPolicyRequest: "Edm.DateTimeOffset",
      }),
      rows: () => data.clients().map(deviceRow),
    },
  };
  const wmi: Record<string, EntitySet> = {
    SMS_R_System: {
      name: "SMS_R_System",
      key: "ResourceId",
      properties: props({
        ResourceId: "Edm.Int64",
        ResourceType: "Edm.Int32",
        Name: "Edm.String",
        NetbiosName: "Edm.String",
        FullDomainName: "Edm.String",
        SMSUniqueIdentifier: "Edm.String",
        AADDeviceID: "Edm.String",
        AADTenantID: "Edm.String",
        ClientVersion: "Edm.String",
        Client: "Edm.Int32",
        ClientType: "Edm.Int32",
        Active: "Edm.Int32",
        Obsolete: "Edm.Int32",
        Decommissioned: "Edm.Int32",
      }),
      rows: () => data.clients().map(systemRow),
    },
    SMS_R_User: {
      name: "SMS_R_User",
      key: "ResourceId",
      properties: props({
        ResourceId: "Edm.Int64",
        ResourceType: "Edm.Int32",
        Name: "Edm.String",
        UniqueUserName: "Edm.String",
        UserPrincipalName: "Edm.String",
        FullUserName: "Edm.String",
        Mail: "Edm.String",
        AzureActiveDirectoryUserID: "Edm.String",
        AzureADTenantID: "Edm.String",
        SID: "Edm.String",
        DistinguishedName: "Edm.String",
      }),
      rows: () => data.users().map(userWmiRow),
    },
  };

  const json = (body: unknown): AdminServiceResponse => ({
    contentType: "application/json; odata.metadata=minimal; charset=utf-8",
    body: JSON.stringify(body),
  });

  return {
    handle(path, query, origin) {
      const clean = path.replace(/\/+$/, "");
      const [, area, set, ...rest] = clean.split("/");
      const sets = area === "v1.0" ? v1 : area === "wmi" ? wmi : undefined;
      if (!sets || rest.length > 0) throw new MpError("not_found", `/AdminService${path}`);
      const base = `${origin}/AdminService/${area}`;
      if (set === undefined || set === "") {
        return json({
          "@odata.context": `${base}/$metadata`,
          value: Object.keys(sets).map((name) => ({ name, kind: "EntitySet", url: name })),
        });
      }
      if (set === "$metadata")
        return { contentType: "application/xml; charset=utf-8", body: renderMetadata(area!, sets) };
      const entity = Object.values(sets).find((e) => e.name.toLowerCase() === set.toLowerCase());
      if (!entity) throw new MpError("not_found", `Entity set '${set}' does not exist.`);
      const options = parseQueryOptions(query, entity);
      let rows = entity.rows().filter((row) => options.filter.every(([name, value]) => matches(row[name], value)));
      rows = rows.slice(options.skip, options.top === undefined ? undefined : options.skip + options.top);
      if (options.select) {
        const chosen = options.select;
        rows = rows.map((row) => Object.fromEntries(chosen.map((name) => [name, row[name] ?? null])));
      }
      const selectSuffix = options.select ? `(${options.select.join(",")})` : "";
      return json({ "@odata.context": `${base}/$metadata#${entity.name}${selectSuffix}`, value: rows });
    },
  };
}

function matches(actual: Row[string] | undefined, wanted: string | number | boolean | null): boolean {
  if (wanted === null) return actual === null || actual === undefined;
  if (typeof wanted === "string") return typeof actual === "string" && actual.toLowerCase() === wanted.toLowerCase();
  return actual === wanted;
}

interface QueryOptions {
  filter: [string, string | number | boolean | null][];
  select: string[] | undefined;
  top: number | undefined;
  skip: number;
}

const SUPPORTED = new Set(["$filter", "$select", "$top", "$skip"]);

function one(query: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new MpError("query_invalid", `${name} is given more than once.`);
  return value;
}

function property(entity: EntitySet, name: string): string {
  const found = Object.keys(entity.properties).find((p) => p.toLowerCase() === name.toLowerCase());
  if (!found) throw new MpError("query_invalid", `Property '${name}' does not exist on '${entity.name}'.`);
  return found;
}

function count(raw: string | undefined, name: string, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) > max) throw new MpError("query_invalid", `${name} must be 0..${max}.`);
  return Number(raw);
}

/** Splits on ` and ` outside quoted strings. */
function splitAnd(filter: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i]!;
    if (c === "'") quoted = !quoted;
    if (!quoted && /^\s+and\s+/i.test(filter.slice(i)) && /\s/.test(c)) {
      const m = /^\s+and\s+/i.exec(filter.slice(i))!;
      parts.push(current);
      current = "";
      i += m[0].length - 1;
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts;
}

function parseQueryOptions(query: Readonly<Record<string, unknown>>, entity: EntitySet): QueryOptions {
  for (const name of Object.keys(query)) {
    if (name.startsWith("$") && !SUPPORTED.has(name)) {
      throw new MpError("query_invalid", `Query option '${name}' is not supported.`);
    }
  }
  const filterText = one(query, "$filter");
  const filter: QueryOptions["filter"] = [];
  if (filterText !== undefined) {
    for (const clause of splitAnd(filterText)) {
      const m = /^\s*([A-Za-z_]\w*)\s+eq\s+('(?:[^']|'')*'|-?\d{1,15}|true|false|null)\s*$/i.exec(clause);
      if (!m)
        throw new MpError(
          "query_invalid",
          `Unsupported $filter clause '${clause.trim()}' (only Property eq value [and …]).`,
        );
      const name = property(entity, m[1]!);
      const literal = m[2]!;
      const type = entity.properties[name];
      let value: string | number | boolean | null;
      if (literal.startsWith("'")) value = literal.slice(1, -1).replace(/''/g, "'");
      else if (/^(true|false)$/i.test(literal)) value = literal.toLowerCase() === "true";
      else if (/^null$/i.test(literal)) value = null;
      else value = Number(literal);
      const ok =
        value === null ||
        (typeof value === "string" && (type === "Edm.String" || type === "Edm.DateTimeOffset")) ||
        (typeof value === "number" && (type === "Edm.Int64" || type === "Edm.Int32")) ||
        (typeof value === "boolean" && type === "Edm.Boolean");
      if (!ok) throw new MpError("query_invalid", `The literal ${literal} does not fit ${name} (${type}).`);
      filter.push([name, value]);
    }
  }
  const selectText = one(query, "$select");
  const select =
    selectText === undefined
      ? undefined
      : selectText
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
          .map((s) => property(entity, s));
  if (select?.length === 0) throw new MpError("query_invalid", "$select is empty.");
  const top = count(one(query, "$top"), "$top", 100_000);
  const skip = count(one(query, "$skip"), "$skip", 100_000_000) ?? 0;
  return { filter, select, top, skip };
}

function renderMetadata(area: string, sets: Record<string, EntitySet>): string {
  const ns = area === "wmi" ? "WmiService" : "AdminService";
  const types = Object.values(sets)
    .map(
      (e) =>
        `<EntityType Name="${e.name}"><Key><PropertyRef Name="${e.key}"/></Key>` +
        Object.entries(e.properties)
          .map(
            ([name, type]) =>
              `<Property Name="${escapeXml(name)}" Type="${type}"${name === e.key ? ' Nullable="false"' : ""}/>`,
          )
          .join("") +
        `</EntityType>`,
    )
    .join("");
  const container = Object.values(sets)
    .map((e) => `<EntitySet Name="${e.name}" EntityType="${ns}.${e.name}"/>`)
    .join("");
  return (
    `<?xml version="1.0" encoding="utf-8"?>` +
    `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>` +
    `<Schema Namespace="${ns}" xmlns="http://docs.oasis-open.org/odata/ns/edm">${types}` +
    `<EntityContainer Name="Container">${container}</EntityContainer></Schema>` +
    `</edmx:DataServices></edmx:Edmx>`
  );
}
