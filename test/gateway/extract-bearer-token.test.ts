import { describe, expect, it } from "vitest";
import { extractBearerToken, hasAccessTokenParameter, isToken68 } from "../../gateway/auth/extract.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
// Step 1 as the composer runs it on a token it has not verified before: extract, then the character check.
const reasonOf = (r: ReturnType<typeof extractBearerToken>) =>
  typeof r === "string" ? (isToken68(r) ? r : "request_malformed") : r.reason;
const extract = (authorization: string | string[] | undefined, query?: string, formBody?: string) =>
  reasonOf(extractBearerToken({ authorization, query, formBody }, 16_384));

describe("extract: where is the token (RFC 6750 §2)", () => {
  it("when one Bearer header carries a token, then the token is returned", () => {
    expect(extract(`Bearer ${TOKEN}`)).toBe(TOKEN);
  });

  it("when the scheme is written in another case, then it is still Bearer (auth-scheme is case-insensitive)", () => {
    expect(extract(`bEaReR ${TOKEN}`)).toBe(TOKEN);
  });

  it("when several spaces separate scheme and token, then the token is returned (1*SP)", () => {
    expect(extract(`Bearer   ${TOKEN}`)).toBe(TOKEN);
  });

  it("when there is no header, then token_missing", () => {
    expect(extract(undefined)).toBe("token_missing");
    expect(extract([])).toBe("token_missing");
  });

  it("when two Authorization headers arrive, then request_malformed", () => {
    expect(extract([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`])).toBe("request_malformed");
  });

  it("when one header holds two credentials, then request_malformed", () => {
    expect(extract(`Bearer ${TOKEN}, Bearer ${TOKEN}`)).toBe("request_malformed");
    expect(extract(`Bearer ${TOKEN} ${TOKEN}`)).toBe("request_malformed");
  });

  it("when the scheme is not Bearer, then request_malformed", () => {
    expect(extract("Basic dXNlcjpwYXNz")).toBe("request_malformed");
    expect(extract(`Bearerx ${TOKEN}`)).toBe("request_malformed");
    expect(extract(TOKEN)).toBe("request_malformed");
    expect(extract("")).toBe("request_malformed");
  });

  it("when Bearer has no token, then request_malformed", () => {
    expect(extract("Bearer")).toBe("request_malformed");
    expect(extract("Bearer ")).toBe("request_malformed");
  });

  it("when the token has characters outside token68, then request_malformed", () => {
    expect(extract('Bearer abc"def')).toBe("request_malformed");
    expect(extract("Bearer abc=def")).toBe("request_malformed"); // = only at the end
    expect(extract("Bearer abc\tdef")).toBe("request_malformed");
  });

  it("when the token68 uses every allowed character, then it is extracted (decode judges JWS syntax later)", () => {
    expect(extract("Bearer aZ09-._~+/==")).toBe("aZ09-._~+/==");
  });

  it("when the token is longer than the limit, then token_malformed", () => {
    expect(reasonOf(extractBearerToken({ authorization: `Bearer ${"a".repeat(101)}`, query: undefined }, 100))).toBe(
      "token_malformed",
    );
    expect(reasonOf(extractBearerToken({ authorization: `Bearer ${"a".repeat(100)}`, query: undefined }, 100))).toBe(
      "a".repeat(100),
    );
  });

  it("when the token is in the query string, then request_malformed even without a header (§2.3 refused)", () => {
    expect(extract(undefined, `access_token=${TOKEN}`)).toBe("request_malformed");
    expect(extract(`Bearer ${TOKEN}`, `x=1&access_token=${TOKEN}`)).toBe("request_malformed");
  });

  it("when the query spells access_token with percent escapes, then it is still refused", () => {
    expect(extract(undefined, "acc%65ss_token=abc")).toBe("request_malformed");
    expect(hasAccessTokenParameter("access%5Ftoken=1")).toBe(true);
  });

  it("when the query merely mentions the words, then it is not a token parameter", () => {
    expect(hasAccessTokenParameter("q=access_token")).toBe(false);
    expect(hasAccessTokenParameter("MPLIST")).toBe(false);
    expect(hasAccessTokenParameter("bad=%zz&x=1")).toBe(false);
    expect(extract(`Bearer ${TOKEN}`, "q=access_token")).toBe(TOKEN);
  });

  it("when the token is in a form body, then request_malformed (§2.2 refused)", () => {
    expect(extract(`Bearer ${TOKEN}`, undefined, `access_token=${TOKEN}&grant=x`)).toBe("request_malformed");
    expect(extract(undefined, undefined, `access_token=${TOKEN}`)).toBe("request_malformed");
  });
});
