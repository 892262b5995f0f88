/**
 * CCM messaging on `/ccm_system_tokenauth/request`: which endpoint does a message target, and what is the
 * reply? Real clients send a `<Msg>` header naming the `TargetEndpoint` and a payload; we accept the header
 * and payload in one XML document (payload inline or in CDATA) and answer with the endpoint's reply body.
 *
 * @example
 * <Msg SchemaVersion="1.1"><ID>{…}</ID><SourceHost>PC01</SourceHost>
 *   <TargetEndpoint>MP_ClientRegistration</TargetEndpoint><ReplyMode>Sync</ReplyMode>
 *   <Payload><![CDATA[<ClientRegistrationRequest>…</ClientRegistrationRequest>]]></Payload></Msg>
 */
import type { CcmPrincipal } from "./ccm-token.js";
import { MpError } from "./errors.js";
import type { ClientRegistry } from "./registry.js";
import { findElement, parseXml, propertiesOf, textOf, type XmlElement } from "./xml.js";
import { type MpDescription, renderPolicyAssignments, renderRegistrationReply } from "./xml-bodies.js";

/** The CCM messaging endpoints the simulator serves. */
export const CCM_ENDPOINTS = ["MP_ClientRegistration", "MP_PolicyManager"] as const;

/** A key of {@link CCM_ENDPOINTS}. */
export type CcmEndpoint = (typeof CCM_ENDPOINTS)[number];

/** A parsed CCM message. */
export interface CcmMessage {
  readonly id?: string;
  readonly sourceHost?: string;
  readonly target: CcmEndpoint;
  readonly payload: XmlElement;
}

/** Parses a `<Msg>` document; throws `body_malformed` or `unknown_target_endpoint`. */
export function parseCcmMessage(body: string): CcmMessage {
  const msg = parseXml(body);
  if (msg.name !== "Msg") throw new MpError("body_malformed", "The root element must be <Msg>.");
  const target = textOf(msg, "TargetEndpoint");
  if (!target) throw new MpError("body_malformed", "<TargetEndpoint> is required.");
  const endpoint = CCM_ENDPOINTS.find((e) => e.toLowerCase() === target.toLowerCase());
  if (!endpoint) throw new MpError("unknown_target_endpoint", `'${target}'`);
  const payloadElement = msg.children.find((c) => c.name === "Payload");
  if (!payloadElement) throw new MpError("body_malformed", "<Payload> is required.");
  // The payload is either one child element or its XML as text (CDATA or escaped).
  const payload =
    payloadElement.children.length === 1 && payloadElement.text.trim() === ""
      ? payloadElement.children[0]!
      : payloadElement.children.length === 0 && payloadElement.text.trim() !== ""
        ? parseXml(payloadElement.text.trim())
        : undefined;
  if (!payload) throw new MpError("body_malformed", "<Payload> must hold exactly one XML document.");
  const id = textOf(msg, "ID");
  const sourceHost = textOf(msg, "SourceHost");
  return { target: endpoint, payload, ...(id ? { id } : {}), ...(sourceHost ? { sourceHost } : {}) };
}

/** What the messaging handlers need. */
export interface MessagingContext {
  readonly mp: MpDescription;
  readonly registry: ClientRegistry;
  readonly now: () => number;
}

/** The reply of one message, plus what the audit should know. */
export interface CcmReply {
  readonly body: string;
  readonly smsId?: string;
}

const NETBIOS = /^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/;

function handleRegistration(ctx: MessagingContext, principal: CcmPrincipal, message: CcmMessage): CcmReply {
  const p = message.payload;
  if (p.name !== "ClientRegistrationRequest" && p.name !== "Data") {
    throw new MpError("body_malformed", "MP_ClientRegistration expects <ClientRegistrationRequest>.");
  }
  const data = p.name === "Data" ? p : findElement(p, "Data");
  if (!data || (data.attributes.RequestType ?? "Registration") !== "Registration") {
    throw new MpError("body_malformed", '<Data RequestType="Registration"> is required.');
  }
  const props = propertiesOf(data);
  const netbiosName = props.get("Netbios Name") ?? message.sourceHost;
  if (!netbiosName || !NETBIOS.test(netbiosName)) {
    throw new MpError("body_malformed", "A valid 'Netbios Name' discovery property is required.");
  }
  const fqdn = props.get("FQ Name");
  const agent = findElement(data, "AgentInformation");
  const client = ctx.registry.register({
    tenantId: principal.tenantId,
    ...(principal.deviceId ? { deviceId: principal.deviceId } : {}),
    ...(principal.userObjectId ? { userObjectId: principal.userObjectId } : {}),
    netbiosName: netbiosName.toUpperCase(),
    ...(fqdn ? { fqdn } : {}),
    ...(agent?.attributes.AgentVersion ? { clientVersion: agent.attributes.AgentVersion } : {}),
  });
  return { body: renderRegistrationReply(client), smsId: client.smsId };
}

function handlePolicy(ctx: MessagingContext, principal: CcmPrincipal, message: CcmMessage): CcmReply {
  const p = message.payload;
  if (p.name !== "RequestAssignments")
    throw new MpError("body_malformed", "MP_PolicyManager expects <RequestAssignments>.");
  const resourceType = findElement(p, "Resource")?.attributes.ResourceType ?? "Machine";
  if (resourceType !== "Machine" && resourceType !== "User") {
    throw new MpError("body_malformed", "ResourceType must be Machine or User.");
  }
  const clientId = textOf(p, "ClientID");
  const client = clientId
    ? ctx.registry.findBySmsId(clientId)
    : principal.deviceId
      ? ctx.registry.findByDevice(principal.tenantId, principal.deviceId)
      : undefined;
  // A CCM token may only fetch policy of a client of its own tenant and, for device tokens, its own device.
  if (!client || client.tenantId !== principal.tenantId)
    throw new MpError("client_not_registered", clientId ? `'${clientId}'` : "");
  if (principal.deviceId && client.deviceId && client.deviceId !== principal.deviceId) {
    throw new MpError("client_not_registered", "The client ID belongs to another device.");
  }
  if (resourceType === "User" && !principal.userObjectId) {
    throw new MpError("token_kind_not_allowed", "User policy needs a user or user+device CCM token.");
  }
  client.lastPolicyRequestAt = new Date(ctx.now()).toISOString();
  const body = renderPolicyAssignments(ctx.mp, {
    resourceType,
    client,
    ...(principal.userObjectId ? { userObjectId: principal.userObjectId } : {}),
    serverCookie: new Date(ctx.now()).toISOString(),
  });
  return { body, smsId: client.smsId };
}

/** Serves one message for the holder of a valid CCM token. */
export function handleCcmMessage(ctx: MessagingContext, principal: CcmPrincipal, body: string): CcmReply {
  const message = parseCcmMessage(body);
  return message.target === "MP_ClientRegistration"
    ? handleRegistration(ctx, principal, message)
    : handlePolicy(ctx, principal, message);
}
