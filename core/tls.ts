import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import { createSecureContext } from "node:tls";
import type { ListenerTlsConfig } from "./config/schema.js";
import { configError } from "./errors.js";

/**
 * TLS material read from the files the configuration names, once, at start-up. Every problem is a
 * config error naming the key and the file, never the file's content (keys are secrets).
 */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** CA that client certificates are verified against (mTLS). */
  ca?: Buffer;
  /** Refuse connections without a client certificate signed by `ca`. */
  requireClientCert: boolean;
}

function readFile(keyPath: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code;
    throw configError(`${keyPath}: cannot read ${file} (${why ?? "unreadable"})`);
  }
}

/** Reads a PEM file of one or more certificates; the first must parse. */
export function readCertificateFile(keyPath: string, file: string): { pem: Buffer; x509: X509Certificate } {
  const pem = readFile(keyPath, file);
  try {
    return { pem, x509: new X509Certificate(pem) };
  } catch {
    throw configError(`${keyPath}: ${file} is not a PEM certificate`);
  }
}

/** Reads an unencrypted PEM private key. */
export function readPrivateKeyFile(keyPath: string, file: string): { pem: Buffer; key: KeyObject } {
  const pem = readFile(keyPath, file);
  try {
    return { pem, key: createPrivateKey(pem) };
  } catch {
    throw configError(`${keyPath}: ${file} is not an unencrypted PEM private key`);
  }
}

/**
 * Reads a certificate and its key (both set or neither) and checks that they belong together;
 * `prefix` is their config section (`tls`, `kafka.ssl`, ...), for messages.
 */
export function readKeyPair(
  prefix: string,
  certFile: string | undefined,
  keyFile: string | undefined,
): { cert: Buffer; key: Buffer } | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined) throw configError(`${prefix}.certFile: needed with ${prefix}.keyFile`);
  if (keyFile === undefined) throw configError(`${prefix}.keyFile: needed with ${prefix}.certFile`);
  const cert = readCertificateFile(`${prefix}.certFile`, certFile);
  const key = readPrivateKeyFile(`${prefix}.keyFile`, keyFile);
  if (!cert.x509.checkPrivateKey(key.key)) {
    throw configError(
      `${prefix}.keyFile: the key in ${keyFile} does not match the certificate in ${certFile}`,
    );
  }
  return { cert: cert.pem, key: key.pem };
}

/** The listeners' TLS (config `tls`), or undefined when no certificate is configured (plaintext). */
export function loadServerTls(config: ListenerTlsConfig, prefix = "tls"): ServerTls | undefined {
  const pair = readKeyPair(prefix, config.certFile, config.keyFile);
  if (!pair) {
    if (config.caFile !== undefined || config.requireClientCert) {
      throw configError(
        `${prefix}.certFile: client certificates (${prefix}.caFile) need a server certificate`,
      );
    }
    return undefined;
  }
  if (config.requireClientCert && config.caFile === undefined) {
    throw configError(
      `${prefix}.caFile: ${prefix}.requireClientCert needs the CA client certificates are signed by`,
    );
  }
  const ca =
    config.caFile === undefined ? undefined : readCertificateFile(`${prefix}.caFile`, config.caFile).pem;
  const tls: ServerTls = { ...pair, ca, requireClientCert: config.requireClientCert };
  try {
    createSecureContext(httpsOptionsOf(tls));
  } catch (err) {
    throw configError(`${prefix}: the certificate, key or CA cannot be used: ${(err as Error).message}`);
  }
  return tls;
}

/**
 * Options for node:https / fastify `https`. With a CA, client certificates are asked for and
 * verified; with requireClientCert, a connection without a valid one is refused in the handshake.
 */
export function httpsOptionsOf(tls: ServerTls): HttpsServerOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    requestCert: tls.ca !== undefined,
    rejectUnauthorized: tls.requireClientCert,
  };
}

/** `https` or `http`, for the addresses printed at start-up. */
export const schemeOf = (tls: ServerTls | undefined): "https" | "http" => (tls ? "https" : "http");
