import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestPki, type TestPki } from "../test/support/tls.js";
import { loadConfig } from "./config/load.js";
import { SkaldError } from "./errors.js";
import { kafkaSecurityOf } from "./kafka/client.js";
import { clickhouseTlsOf } from "./store/store.js";
import { loadServerTls } from "./tls.js";

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.cleanup());

/** The config error a call throws (fails the test if it does not throw one). */
function configErrorOf(fn: () => unknown): SkaldError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SkaldError);
    expect((err as SkaldError).kind).toBe("config");
    return err as SkaldError;
  }
  throw new Error("expected a config error");
}

describe("listener TLS from configuration", () => {
  it("is off without a certificate, and reads the files with SKALD_TLS_* set", () => {
    expect(loadServerTls(loadConfig({ env: {} }).tls)).toBeUndefined();
    const config = loadConfig({
      env: {
        SKALD_TLS_CERT_FILE: pki.serverCertFile,
        SKALD_TLS_KEY_FILE: pki.serverKeyFile,
        SKALD_TLS_CA_FILE: pki.caFile,
        SKALD_TLS_REQUIRE_CLIENT_CERT: "true",
      },
    });
    expect(config.tls).toEqual({
      certFile: pki.serverCertFile,
      keyFile: pki.serverKeyFile,
      caFile: pki.caFile,
      requireClientCert: true,
    });
    const tls = loadServerTls(config.tls);
    expect(tls?.cert.equals(readFileSync(pki.serverCertFile))).toBe(true);
    expect(tls?.ca?.equals(pki.ca)).toBe(true);
    expect(tls?.requireClientCert).toBe(true);
  });

  it("names the key and the file when a file is missing, not a certificate, or the key does not match", () => {
    const missing = join(pki.dir, "nope.crt");
    const a = configErrorOf(() =>
      loadServerTls({ certFile: missing, keyFile: pki.serverKeyFile, requireClientCert: false }),
    );
    expect(a.message).toBe(`tls.certFile: cannot read ${missing} (no such file)`);

    const b = configErrorOf(() =>
      loadServerTls({ certFile: pki.serverKeyFile, keyFile: pki.serverKeyFile, requireClientCert: false }),
    );
    expect(b.message).toBe(`tls.certFile: ${pki.serverKeyFile} is not a PEM certificate`);

    const c = configErrorOf(() =>
      loadServerTls({ certFile: pki.serverCertFile, keyFile: pki.strayKeyFile, requireClientCert: false }),
    );
    expect(c.message).toBe(
      `tls.keyFile: the key in ${pki.strayKeyFile} does not match the certificate in ${pki.serverCertFile}`,
    );
    // the key's content is a secret: never in a message
    const keyBody = readFileSync(pki.strayKeyFile, "utf8").split("\n")[1];
    expect(c.message).not.toContain(keyBody);

    const d = configErrorOf(() =>
      loadServerTls({ certFile: pki.serverCertFile, keyFile: pki.caFile, requireClientCert: false }),
    );
    expect(d.message).toBe(`tls.keyFile: ${pki.caFile} is not an unencrypted PEM private key`);
  });

  it("refuses half a configuration", () => {
    expect(
      configErrorOf(() => loadServerTls({ certFile: pki.serverCertFile, requireClientCert: false })).message,
    ).toBe("tls.keyFile: needed with tls.certFile");
    expect(
      configErrorOf(() =>
        loadServerTls({ certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, requireClientCert: true }),
      ).message,
    ).toMatch(/^tls.caFile: tls.requireClientCert needs/);
    expect(
      configErrorOf(() => loadServerTls({ caFile: pki.caFile, requireClientCert: false })).message,
    ).toMatch(/^tls.certFile: client certificates/);
  });
});

describe("TLS and SASL to Kafka (kafkajs options)", () => {
  it("maps kafka.ssl and kafka.sasl, the password also from SKALD_KAFKA_SASL_PASSWORD", () => {
    const file = join(pki.dir, "skald.json");
    writeFileSync(
      file,
      JSON.stringify({
        kafka: {
          brokers: ["kafka-1:9093"],
          ssl: { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
          sasl: { mechanism: "SCRAM-SHA-512", username: "skald" },
        },
      }),
    );
    const config = loadConfig({ file, env: { SKALD_KAFKA_SASL_PASSWORD: "s3cret-from-env" } });
    const options = kafkaSecurityOf(config.kafka);
    expect(options.sasl).toEqual({
      mechanism: "scram-sha-512",
      username: "skald",
      password: "s3cret-from-env",
    });
    expect(options.ssl).toMatchObject({ rejectUnauthorized: true });
    const ssl = options.ssl as { ca: Buffer[]; cert: Buffer; key: Buffer };
    expect(ssl.ca[0].equals(pki.ca)).toBe(true);
    expect(ssl.cert.equals(pki.clientCert)).toBe(true);
    expect(ssl.key.equals(pki.clientKey)).toBe(true);
  });

  it("is plaintext by default, TLS with system CAs on SKALD_KAFKA_SSL=true", () => {
    expect(kafkaSecurityOf(loadConfig({ env: {} }).kafka)).toEqual({});
    expect(kafkaSecurityOf(loadConfig({ env: { SKALD_KAFKA_SSL: "true" } }).kafka)).toEqual({
      ssl: { rejectUnauthorized: true },
    });
  });

  it("a SASL configuration without a password fails naming the key, and no config error echoes a password", () => {
    expect(() =>
      loadConfig({ env: { SKALD_KAFKA_SASL_MECHANISM: "plain", SKALD_KAFKA_SASL_USERNAME: "skald" } }),
    ).toThrow(/kafka\.sasl\.password: Required/);
    const password = "hunter2-do-not-print";
    let message = "";
    try {
      loadConfig({
        env: {
          SKALD_KAFKA_SASL_MECHANISM: "gssapi",
          SKALD_KAFKA_SASL_USERNAME: "skald",
          SKALD_KAFKA_SASL_PASSWORD: password,
        },
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/kafka\.sasl\.mechanism/);
    expect(message).not.toContain(password);
  });
});

describe("TLS to ClickHouse (@clickhouse/client options)", () => {
  it("maps storage.tls to ca_cert, cert and key, from SKALD_CLICKHOUSE_TLS_*", () => {
    const config = loadConfig({
      env: {
        SKALD_CLICKHOUSE_URL: "https://clickhouse.internal:8443",
        SKALD_CLICKHOUSE_TLS_CA_FILE: pki.caFile,
        SKALD_CLICKHOUSE_TLS_CERT_FILE: pki.clientCertFile,
        SKALD_CLICKHOUSE_TLS_KEY_FILE: pki.clientKeyFile,
      },
    });
    const { tls } = clickhouseTlsOf(config.storage) as {
      tls: { ca_cert: Buffer; cert: Buffer; key: Buffer };
    };
    expect(tls.ca_cert.equals(pki.ca)).toBe(true);
    expect(tls.cert.equals(pki.clientCert)).toBe(true);
    expect(tls.key.equals(pki.clientKey)).toBe(true);
  });

  it("needs an https URL", () => {
    const config = loadConfig({
      env: {
        SKALD_CLICKHOUSE_URL: "http://clickhouse.internal:8123",
        SKALD_CLICKHOUSE_TLS_CA_FILE: pki.caFile,
      },
    });
    expect(configErrorOf(() => clickhouseTlsOf(config.storage)).message).toMatch(
      /^storage.tls: needs an https:\/\//,
    );
  });
});
