/** Parsing CMG request targets: the channel, the ID, the inner path; only ServerAuth's AADAuthInfo is special. */
import { describe, expect, it } from "vitest";
import { managementPointUrl, parseRequestTarget } from "../../gateway/http/cmg-path.js";
import { baseConfigInput, makeConfig } from "./fixtures.js";

describe("CMG request targets", () => {
  it("when the prefix comes in any case, then the ID and the inner path (with its query) are found", () => {
    expect(parseRequestTarget("/CCM_Proxy_MutualAuth/72186325152220500/CCM_STS")).toEqual({
      kind: "cmg",
      channel: "MutualAuth",
      mpId: "72186325152220500",
      url: "/CCM_STS",
    });
    expect(parseRequestTarget("/CCM_PROXY_SERVERAUTH/72057594037937981/SMS_MP/.sms_aut?MPLIST")).toEqual({
      kind: "cmg",
      channel: "ServerAuth",
      mpId: "72057594037937981",
      url: "/SMS_MP/.sms_aut?MPLIST",
    });
  });

  it("when AADAuthInfo is asked on ServerAuth, then it is the gateway's own answer; anywhere else it is not", () => {
    expect(parseRequestTarget("/ccm_proxy_serverauth/aadauthinfo?TenantID=x")).toEqual({
      kind: "aadAuthInfo",
      query: "TenantID=x",
    });
    expect(parseRequestTarget("/CCM_Proxy_MutualAuth/AADAuthInfo?TenantID=x").kind).toBe("badId");
    expect(parseRequestTarget("/CCM_Proxy_ServerAuth/AADAuthInfo/x").kind).toBe("badId");
    expect(parseRequestTarget("/CCM_Proxy_ServerAuth/1/AADAuthInfo")).toMatchObject({
      kind: "cmg",
      url: "/AADAuthInfo",
    });
  });

  it("when the ID is missing or not decimal, or nothing follows it, then there is nothing to route", () => {
    for (const url of [
      "/CCM_Proxy_ServerAuth/",
      "/CCM_Proxy_ServerAuth/PS1/CCM_STS",
      "/CCM_Proxy_ServerAuth/123",
      "/CCM_Proxy_ServerAuth//CCM_STS",
    ]) {
      expect(parseRequestTarget(url).kind, url).toBe("badId");
    }
  });

  it("when the path would normalise elsewhere, then it is left whole for the route step to refuse", () => {
    expect(parseRequestTarget("/CCM_Proxy_ServerAuth/1/../AdminService/")).toEqual({
      kind: "direct",
      url: "/CCM_Proxy_ServerAuth/1/../AdminService/",
    });
  });

  it("when the path is a plain MP path, then it is direct", () => {
    expect(parseRequestTarget("/CCM_STS")).toEqual({ kind: "direct", url: "/CCM_STS" });
    expect(parseRequestTarget("/CCM_Client/x/y.bin?size=1").kind).toBe("direct");
  });

  it("when managementPoints is empty every ID goes upstream; when listed only listed IDs do", () => {
    const single = makeConfig();
    expect(managementPointUrl(single, "42")).toBe(single.upstream.url);
    const two = makeConfig({
      ...baseConfigInput(),
      managementPoints: [{ id: "1", url: "https://mp02.contoso.local" }, { id: "2" }],
    });
    expect(managementPointUrl(two, "1")).toBe("https://mp02.contoso.local");
    expect(managementPointUrl(two, "2")).toBe(two.upstream.url);
    expect(managementPointUrl(two, "3")).toBeUndefined();
  });
});
