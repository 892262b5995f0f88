/**
 * The XML bodies the management point answers with: `.sms_aut?MPLIST`, `.sms_aut?MPKEYINFORMATIONEX`, and
 * the replies of the CCM messaging endpoints `MP_ClientRegistration` and `MP_PolicyManager`. Element and
 * attribute names follow what real management points send (CM client logs, SDK registration schema);
 * where Microsoft publishes nothing the shape is ours and marked *(model)*.
 */
import { createHash } from "node:crypto";
import type { RegisteredClient } from "./registry.js";
import { escapeXml as x } from "./xml.js";

/** What an MP says about itself. */
export interface MpDescription {
  readonly siteCode: string;
  /** NetBIOS name, upper case (e.g. `MP01`). */
  readonly name: string;
  /** FQDN (e.g. `mp01.contoso.com`). */
  readonly fqdn: string;
  /** Site build number, e.g. `9128` (CM 2403). */
  readonly buildNumber: number;
}

/** `GET /SMS_MP/.sms_aut?MPLIST`. */
export function renderMpList(mp: MpDescription): string {
  // SSLState 63: HTTPS with PKI or Entra client authentication, as an Internet-facing HTTPS MP announces.
  return (
    `<MPList><MP Name="${x(mp.name)}" FQDN="${x(mp.fqdn)}" SiteCode="${x(mp.siteCode)}">` +
    `<Version>${mp.buildNumber}</Version>` +
    `<Capabilities SchemaVersion="1.0"><Property Name="SSLState" Value="63"/></Capabilities>` +
    `</MP></MPList>`
  );
}

/**
 * `GET /SMS_MP/.sms_aut?MPKEYINFORMATIONEX`: the site code and the MP's signing certificate as hex DER
 * (CM encodes certificates as upper-case hex in these documents). *(model: the element set)*
 */
export function renderMpKeyInformation(mp: MpDescription, signingCertificateDer: Buffer): string {
  const hex = signingCertificateDer.toString("hex").toUpperCase();
  return (
    `<MPKEYINFORMATION>` +
    `<SITECODE>${x(mp.siteCode)}</SITECODE>` +
    `<MPNAME>${x(mp.name)}</MPNAME><MPFQDN>${x(mp.fqdn)}</MPFQDN>` +
    `<SIGNINGCERTIFICATE>${hex}</SIGNINGCERTIFICATE>` +
    `<ENCRYPTIONCERTIFICATE>${hex}</ENCRYPTIONCERTIFICATE>` +
    `</MPKEYINFORMATION>`
  );
}

/** The `MP_ClientRegistration` reply. */
export function renderRegistrationReply(client: RegisteredClient): string {
  return (
    `<ClientRegistrationResponse ResponseType="Registration" TimeStamp="${x(client.registeredAt)}" ` +
    `SMSID="${x(client.smsId)}" RegistrationApprovalStatus="${client.approval}" ` +
    `ApprovalReason="${client.approval === "3" ? "EntraDevice" : "NotApproved"}"/>`
  );
}

/** One policy of the simulated site. *(model: IDs and categories are ours)* */
interface SitePolicy {
  readonly category: string;
  readonly version: string;
  readonly resource: "Machine" | "User";
}

const SITE_POLICIES: readonly SitePolicy[] = [
  { category: "ClientAgentConfig", version: "3.00", resource: "Machine" },
  { category: "SoftwareUpdatesAgentConfig", version: "2.00", resource: "Machine" },
  { category: "HardwareInventoryAgentConfig", version: "7.00", resource: "Machine" },
  { category: "ComplianceSettingsAgentConfig", version: "1.00", resource: "Machine" },
  { category: "ApplicationDeployment", version: "4.00", resource: "Machine" },
  { category: "UserDataAndProfiles", version: "1.00", resource: "User" },
  { category: "ApplicationCatalogUser", version: "2.00", resource: "User" },
];

function policyGuid(siteCode: string, category: string): string {
  const h = createHash("sha256").update(`${siteCode}/${category}`).digest("hex");
  return `{${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}}`;
}

/** What one policy request is for. */
export interface PolicyRequest {
  readonly resourceType: "Machine" | "User";
  readonly client: RegisteredClient;
  /** The user's object ID for user policy. */
  readonly userObjectId?: string;
  readonly serverCookie: string;
}

/** The `MP_PolicyManager` reply: the full policy assignment list for the client (or its user). */
export function renderPolicyAssignments(mp: MpDescription, request: PolicyRequest): string {
  const policies = SITE_POLICIES.filter((p) => p.resource === request.resourceType);
  const assignments = policies
    .map((p) => {
      const id = policyGuid(mp.siteCode, p.category);
      const hash = createHash("sha256").update(`${id}/${p.version}`).digest("hex").toUpperCase();
      // Real MPs write the literal `<mp>` placeholder; the client substitutes the MP it talks to.
      const location = `http://<mp>/SMS_MP/.sms_pol?${id}.${p.version}_00`;
      return (
        `<PolicyAssignment PolicyAssignmentID="${x(`${id}_${p.version}`)}">` +
        `<Policy PolicyID="${x(id)}" PolicyVersion="${p.version}" PolicyType="${p.resource}" ` +
        `PolicyCategory="${x(p.category)}" PolicyLocation="${x(location)}" PolicyHash="SHA256:${hash}"/>` +
        `</PolicyAssignment>`
      );
    })
    .join("");
  const identification =
    request.resourceType === "User"
      ? `<User><Name>${x(request.userObjectId ?? "")}</Name></User>`
      : `<Machine><ClientID>${x(request.client.smsId)}</ClientID><NetBIOSName>${x(request.client.netbiosName)}</NetBIOSName>` +
        `${request.client.fqdn ? `<FQDN>${x(request.client.fqdn)}</FQDN>` : ""}</Machine>`;
  return (
    `<ReplyAssignments SchemaVersion="1.00" ReplyType="Full">` +
    `<Identification>${identification}</Identification>` +
    `<PolicySource>SMS:${x(mp.siteCode)}</PolicySource>` +
    `<Resource ResourceType="${request.resourceType}"/>` +
    `<ServerCookie>${x(request.serverCookie)}</ServerCookie>` +
    `<PolicyAssignments>${assignments}</PolicyAssignments>` +
    `</ReplyAssignments>`
  );
}
