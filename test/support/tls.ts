import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Throwaway PKI for TLS tests, made with the `openssl` CLI in a temp dir: a CA, a server
 * certificate for 127.0.0.1/localhost and a client certificate signed by it, and a second CA
 * that signed nothing Skald trusts. Every file is PEM; keys are unencrypted PKCS#8.
 */
export interface TestPki {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA unrelated to the one above (a client trusting only it must refuse Skald's certificate). */
  otherCaFile: string;
  /** A key that belongs to no certificate here. */
  strayKeyFile: string;
  /** The contents, for clients (and servers a test runs itself). */
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  otherCa: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  const res = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (res.error)
    throw new Error(`cannot run openssl (install it: apt-get install openssl): ${res.error.message}`);
  if (res.status !== 0) throw new Error(`openssl ${args.join(" ")} failed:\n${res.stderr}`);
}

const DAYS = "2";

function makeCa(dir: string, name: string, cn: string): void {
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    DAYS,
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

function makeLeaf(dir: string, name: string, cn: string, extensions: string): void {
  openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${cn}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    DAYS,
    "-sha256",
    "-extfile",
    `${name}.ext`,
  ]);
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "skald-pki-"));
  try {
    makeCa(dir, "ca", "Skald Test CA");
    makeCa(dir, "other-ca", "Somebody Else's CA");
    makeLeaf(
      dir,
      "server",
      "localhost",
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
    );
    makeLeaf(
      dir,
      "client",
      "skald-test-client",
      "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
    );
    openssl(dir, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "stray.key"]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const file = (name: string) => join(dir, name);
  return {
    dir,
    caFile: file("ca.crt"),
    serverCertFile: file("server.crt"),
    serverKeyFile: file("server.key"),
    clientCertFile: file("client.crt"),
    clientKeyFile: file("client.key"),
    otherCaFile: file("other-ca.crt"),
    strayKeyFile: file("stray.key"),
    ca: readFileSync(file("ca.crt")),
    serverCert: readFileSync(file("server.crt")),
    serverKey: readFileSync(file("server.key")),
    otherCa: readFileSync(file("other-ca.crt")),
    clientCert: readFileSync(file("client.crt")),
    clientKey: readFileSync(file("client.key")),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
