/**
 * Local PKI for the offline stack: one CA, server certificates for every HTTPS listener and a client
 * certificate for the gateway → management point leg. Everything is generated at run time and written
 * under a state directory (`.state/` by default, a temp dir in tests); nothing here is ever committed.
 *
 * X.509 is built with `@peculiar/x509` on Node's WebCrypto: maintained, typed, and it writes the
 * extensions TLS stacks check (SAN, key usage, EKU, basic constraints) without shelling out to openssl.
 */
import "reflect-metadata";
import { X509Certificate as NodeX509Certificate, randomBytes, webcrypto } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto);

const RSA_ALG = {
  name: "RSASSA-PKCS1-v1_5",
  hash: "SHA-256",
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

const DAY_MS = 86_400_000;

/** A certificate and its private key, both PEM. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** The CA plus the leaf material one stack needs. */
export interface TlsMaterial {
  readonly ca: PemPair;
  /** Server certificate for every loopback listener (SAN: localhost, 127.0.0.1, ::1). */
  readonly server: PemPair;
  /** Client certificate the gateway presents to the management point (mTLS). */
  readonly gatewayClient: PemPair;
}

function toPem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, "$&\n")}-----END ${label}-----\n`;
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return toPem("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", key));
}

async function importKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64");
  return await webcrypto.subtle.importKey("pkcs8", der, RSA_ALG, true, ["sign"]);
}

function serial(): string {
  // Positive, non-zero 16-byte serial (RFC 5280 §4.1.2.2).
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString("hex");
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(RSA_ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

/** Generates an RSA-2048 key pair usable for signing (PKCS#1 v1.5, SHA-256), extractable. */
export async function generateRsaKeys(): Promise<webcrypto.CryptoKeyPair> {
  return generateKeys();
}

/**
 * Self-signs a certificate for `keys`: a CA (`isCa`) or a plain signing certificate such as the ones Entra
 * publishes in its JWKS `x5c`. Returns the certificate as PEM and DER.
 */
export async function selfSign(
  keys: webcrypto.CryptoKeyPair,
  options: { readonly commonName: string; readonly days: number; readonly isCa: boolean },
): Promise<{ readonly pem: string; readonly der: Buffer }> {
  const now = Date.now();
  const extensions: x509.Extension[] = [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)];
  if (options.isCa) {
    extensions.push(
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    );
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${options.commonName}`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + options.days * DAY_MS),
    signingAlgorithm: RSA_ALG,
    keys,
    extensions,
  });
  return { pem: cert.toString("pem"), der: Buffer.from(cert.rawData) };
}

/**
 * Creates a self-signed CA valid for `days` days.
 *
 * @example const ca = await createCa("entra-gateway local CA");
 */
export async function createCa(commonName = "entra-gateway local CA", days = 3650): Promise<PemPair> {
  const keys = await generateKeys();
  const { pem } = await selfSign(keys, { commonName, days, isCa: true });
  return { cert: pem, key: await exportKeyPem(keys.privateKey) };
}

/** What a leaf certificate is for. */
export type LeafUsage = "server" | "client";

/** Options of {@link issueCertificate}. */
export interface IssueOptions {
  readonly commonName: string;
  readonly usage: LeafUsage;
  /** DNS names for the SAN extension (server certificates). */
  readonly dnsNames?: readonly string[];
  /** IP addresses for the SAN extension (server certificates). */
  readonly ipAddresses?: readonly string[];
  readonly days?: number;
}

/** Issues a leaf certificate signed by `ca`. */
export async function issueCertificate(ca: PemPair, options: IssueOptions): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importKeyPem(ca.key);
  const keys = await generateKeys();
  const now = Date.now();
  const sans: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(
      [options.usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.commonName}`,
    issuer: caCert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + (options.days ?? 825) * DAY_MS),
    signingAlgorithm: RSA_ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
  return { cert: cert.toString("pem"), key: await exportKeyPem(keys.privateKey) };
}

/** Creates the CA, a loopback server certificate and the gateway's client certificate. */
export async function createTlsMaterial(): Promise<TlsMaterial> {
  const ca = await createCa();
  const [server, gatewayClient] = await Promise.all([
    issueCertificate(ca, {
      commonName: "localhost",
      usage: "server",
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1", "::1"],
    }),
    issueCertificate(ca, { commonName: "entra-gateway", usage: "client" }),
  ]);
  return { ca, server, gatewayClient };
}

const FILES = {
  ca: ["ca.crt", "ca.key"],
  server: ["server.crt", "server.key"],
  gatewayClient: ["gateway-client.crt", "gateway-client.key"],
} as const;

/**
 * Loads the TLS material from `<stateDir>/tls/`, or creates and writes it when any file is missing or the
 * server certificate is no longer valid. Private keys are written with mode 0600.
 */
export async function ensureTlsMaterial(stateDir: string): Promise<TlsMaterial> {
  const dir = join(stateDir, "tls");
  try {
    const read = async ([c, k]: readonly [string, string]): Promise<PemPair> => ({
      cert: await readFile(join(dir, c), "utf8"),
      key: await readFile(join(dir, k), "utf8"),
    });
    const material: TlsMaterial = {
      ca: await read(FILES.ca),
      server: await read(FILES.server),
      gatewayClient: await read(FILES.gatewayClient),
    };
    const validTo = Date.parse(new NodeX509Certificate(material.server.cert).validTo);
    if (validTo - Date.now() > DAY_MS) return material;
  } catch {
    // Missing or unreadable: fall through and create a fresh set.
  }
  const material = await createTlsMaterial();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const name of Object.keys(FILES) as (keyof typeof FILES)[]) {
    const [c, k] = FILES[name];
    await writeFile(join(dir, c), material[name].cert);
    await writeFile(join(dir, k), material[name].key, { mode: 0o600 });
  }
  return material;
}
