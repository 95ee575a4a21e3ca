import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { packageRoot } from "../../core/paths.js";
import { freePort } from "./clickhouse-server.js";

/**
 * A real single-node Apache Kafka broker (KRaft, combined broker + controller) on 127.0.0.1, run
 * from the jars that test/kafka/fetch-kafka.sh copies from Maven Central: no Docker, no tarball.
 */
export interface KafkaBroker {
  /** The exact Kafka version, e.g. "3.9.2". */
  version: string;
  /** Bootstrap servers: ["127.0.0.1:PORT"]. */
  brokers: string[];
  /** The PLAINTEXT port (the same after restart()). */
  port: number;
  /** With `secure`: bootstrap servers of the SASL listener (SASL_SSL with `tls`, else SASL_PLAINTEXT). */
  secureBrokers: string[];
  /** Holds server.properties, the log4j config and data/ (the log dir). */
  dataDir: string;
  /** The broker's last output (WARN and up, plus start-up and shut-down lines). */
  output(): string;
  /** SIGTERM (controlled shut-down), then SIGKILL if it has not exited after 20 s. */
  stop(): Promise<void>;
  /** SIGKILL: a crash; restart() then recovers the log dir. */
  kill(): Promise<void>;
  /** Stops it if it runs, starts it again on the same port and log dir; resolves once it serves. */
  restart(): Promise<void>;
  /** stop() and remove dataDir. */
  destroy(): Promise<void>;
}

export type KafkaMinor = "3.9" | "4.1";
export const KAFKA_VERSIONS: readonly KafkaMinor[] = ["3.9", "4.1"];

export interface StartKafkaOptions {
  /** Default "3.9". */
  version?: KafkaMinor;
  /** num.partitions, for topics created without a count. Default 4. */
  partitions?: number;
  /** How long to wait for the broker to serve, per start. Default 60 s. */
  readyTimeoutMs?: number;
  /**
   * A second listener that needs SASL (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, one user), over
   * TLS when a PEM certificate and unencrypted key are given. The PLAINTEXT listener stays for
   * the broker itself and the start-up probe.
   */
  secure?: { username: string; password: string; tls?: { certFile: string; keyFile: string } };
}

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 20_000;
const OUTPUT_KEEP = 16_000;

// Small and predictable on a 2-core box: a fixed, small heap, serial GC (no GC threads to fight the
// tests for the 2 cores), C1 only (start-up dominates a test broker's life), capped metaspace,
// code cache and direct memory, no hsperfdata files in /tmp.
const JVM_FLAGS = [
  "-Xms256m",
  "-Xmx512m",
  "-Xss512k",
  "-XX:MaxMetaspaceSize=192m",
  "-XX:ReservedCodeCacheSize=64m",
  "-XX:MaxDirectMemorySize=128m",
  "-XX:+UseSerialGC",
  "-XX:TieredStopAtLevel=1",
  "-XX:-UsePerfData",
  "-XX:+ExitOnOutOfMemoryError",
  "-Djava.awt.headless=true",
];
const TOOL_JVM_FLAGS = [
  "-Xms64m",
  "-Xmx256m",
  "-XX:+UseSerialGC",
  "-XX:TieredStopAtLevel=1",
  "-XX:-UsePerfData",
];

/** The jar cache: ${SKALD_KAFKA_CACHE:-$HOME/.cache/skald/kafka}. */
export function kafkaCacheDir(): string {
  return process.env.SKALD_KAFKA_CACHE || join(homedir(), ".cache", "skald", "kafka");
}

function fetchScript(): string {
  return join(packageRoot(), "test", "kafka", "fetch-kafka.sh");
}

/** The exact version that test/kafka/pom-<minor>.xml pins, e.g. "4.1" -> "4.1.2". */
export function kafkaFullVersion(version: KafkaMinor): string {
  const pom = join(packageRoot(), "test", "kafka", `pom-${version}.xml`);
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(pom, "utf8"));
  if (!m) throw new Error(`no <kafka.version> in ${pom}`);
  return m[1].trim();
}

/** The libs folder that fetch-kafka.sh fills for this version. */
export function kafkaLibsDir(version: KafkaMinor): string {
  return join(kafkaCacheDir(), `kafka-${kafkaFullVersion(version)}`, "libs");
}

function javaBin(): string {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(join(home, "bin", "java"))) return join(home, "bin", "java");
  return "java";
}

let javaCheck: { ok: boolean; reason?: string } | undefined;
/** Whether a Java runtime (17+) can be run; cached. */
export function javaAvailable(): { ok: boolean; reason?: string } {
  if (javaCheck) return javaCheck;
  const res = spawnSync(javaBin(), ["-version"], { encoding: "utf8", timeout: 30_000 });
  if (res.error || res.status !== 0) {
    javaCheck = { ok: false, reason: `java not runnable (${res.error?.message ?? `exit ${res.status}`})` };
    return javaCheck;
  }
  const m = /version "(\d+)/.exec(res.stderr);
  const major = m ? Number(m[1]) : 0;
  javaCheck =
    major >= 17
      ? { ok: true }
      : { ok: false, reason: `Java 17+ needed, found: ${res.stderr.split("\n")[0]}` };
  return javaCheck;
}

/** Whether the jars of this version are in the cache (fetch-kafka.sh finished) and Java runs. */
export function kafkaAvailable(version: KafkaMinor): {
  ok: boolean;
  reason?: string;
  missing?: "java" | "jars";
} {
  const java = javaAvailable();
  if (!java.ok) return { ok: false, reason: java.reason, missing: "java" };
  const full = kafkaFullVersion(version);
  const libs = kafkaLibsDir(version);
  if (!existsSync(join(libs, "..", ".complete")) || !existsSync(join(libs, `kafka_2.13-${full}.jar`))) {
    return {
      ok: false,
      reason: `Kafka ${full} jars not in ${libs}: run test/kafka/fetch-kafka.sh ${version}`,
      missing: "jars",
    };
  }
  return { ok: true };
}

/** Runs test/kafka/fetch-kafka.sh (a no-op when the jars are cached); resolves to the libs folder. */
export async function ensureKafkaJars(version: KafkaMinor): Promise<string> {
  const out: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const proc = spawn("bash", [fetchScript(), version], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SKALD_KAFKA_CACHE: kafkaCacheDir() },
    });
    const onData = (d: Buffer) => {
      out.push(d.toString());
      process.stderr.write(d);
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.once("error", reject);
    proc.once("close", resolve);
  });
  if (code !== 0)
    throw new Error(`fetch-kafka.sh ${version} failed (exit ${code}):\n${out.join("").slice(-4000)}`);
  const avail = kafkaAvailable(version);
  if (!avail.ok) throw new Error(`fetch-kafka.sh ${version} finished but: ${avail.reason}`);
  return kafkaLibsDir(version);
}

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (Uuid.toString's form). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id; // a leading '-' would read as an option
  }
}

function serverProperties(p: {
  version: KafkaMinor;
  port: number;
  controllerPort: number;
  logDir: string;
  partitions: number;
  secure?: { port: number; opts: NonNullable<StartKafkaOptions["secure"]>; keystore?: string };
}): string {
  const lines = [
    "# Written by test/support/kafka.ts: single-node KRaft, broker and controller in one process.",
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${p.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p.port}`,
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${p.logDir}`,
    `num.partitions=${p.partitions}`,
    "default.replication.factor=1",
    "min.insync.replicas=1",
    "auto.create.topics.enable=false",
    "delete.topic.enable=true",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=4",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "transaction.state.log.num.partitions=4",
    "group.initial.rebalance.delay.ms=0",
    // After a SIGKILL the restarted broker cannot register until the controller has let the old
    // registration's session expire (default 9 s); heartbeat more often so that takes ~4 s.
    "broker.heartbeat.interval.ms=500",
    "broker.session.timeout.ms=4000",
    // small: a test broker holds little data
    "log.segment.bytes=8388608",
    "offsets.topic.segment.bytes=8388608",
    "transaction.state.log.segment.bytes=8388608",
    "log.cleaner.dedupe.buffer.size=8388608",
    "log.cleaner.threads=1",
    "num.network.threads=2",
    "num.io.threads=2",
    "num.recovery.threads.per.data.dir=1",
    "background.threads=2",
    "socket.request.max.bytes=104857600",
  ];
  if (p.secure) {
    lines.push(...secureListener(p.port, p.controllerPort, p.secure));
  }
  if (p.version !== "3.9") {
    // share groups (KIP-932) keep their state in a topic of their own; off by default, but sized
    // for one node should a test turn them on
    lines.push(
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "share.coordinator.state.topic.num.partitions=1",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Properties of the SECURE listener (they override the PLAINTEXT-only listener lines above). */
function secureListener(
  port: number,
  controllerPort: number,
  secure: { port: number; opts: NonNullable<StartKafkaOptions["secure"]>; keystore?: string },
): string[] {
  const protocol = secure.keystore ? "SASL_SSL" : "SASL_PLAINTEXT";
  const { username, password } = secure.opts;
  const lines = [
    `listeners=PLAINTEXT://127.0.0.1:${port},SECURE://127.0.0.1:${secure.port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port},SECURE://127.0.0.1:${secure.port}`,
    `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SECURE:${protocol}`,
    "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
    `listener.name.secure.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${username}="${password}";`,
    "listener.name.secure.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
    "listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
  ];
  if (secure.keystore) {
    lines.push(
      "listener.name.secure.ssl.keystore.type=PEM",
      `listener.name.secure.ssl.keystore.location=${secure.keystore}`,
    );
  }
  return lines;
}

// WARN and up, plus the lines that say the server started and stopped: small output, kept in memory.
const LOG4J1 = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.Kafka=INFO
`;
const LOG4J2 = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="STDOUT" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="STDOUT"/></Root>
    <Logger name="kafka.server.KafkaRaftServer" level="INFO"/>
    <Logger name="kafka.Kafka" level="INFO"/>
  </Loggers>
</Configuration>
`;

function writeLogConfig(version: KafkaMinor, dir: string): string[] {
  if (version === "3.9") {
    const file = join(dir, "log4j.properties");
    writeFileSync(file, LOG4J1);
    return [`-Dlog4j.configuration=file:${file}`];
  }
  const file = join(dir, "log4j2.xml");
  writeFileSync(file, LOG4J2);
  return [`-Dlog4j2.configurationFile=${file}`];
}

// Brokers of this process, killed if the test process exits without stopping them.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(proc: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const p of running) p.kill("SIGKILL");
    });
  }
  running.add(proc);
  proc.once("exit", () => running.delete(proc));
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once("exit", () => resolve()));
}

async function runStorageFormat(
  libs: string,
  logFlags: string[],
  config: string,
  id: string,
  extra: string[] = [],
): Promise<void> {
  const res = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const proc = spawn(
      javaBin(),
      [
        ...TOOL_JVM_FLAGS,
        ...logFlags,
        "-cp",
        join(libs, "*"),
        "kafka.tools.StorageTool",
        "format",
        "-t",
        id,
        "-c",
        config,
        ...extra,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-OUTPUT_KEEP);
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.once("error", reject);
    proc.once("close", (code) => resolve({ code, out }));
  });
  if (res.code !== 0)
    throw new Error(`kafka.tools.StorageTool format failed (exit ${res.code}):\n${res.out}`);
}

/** Resolves once a kafkajs admin client can connect and describeCluster answers. */
async function waitUntilServing(
  brokers: string[],
  proc: ChildProcess,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(
        `Kafka exited during start-up (code ${proc.exitCode}, signal ${proc.signalCode}); its last output:\n${output()}`,
      );
    }
    const admin = new Kafka({
      clientId: "skald-kafka-probe",
      brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      requestTimeout: 5_000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
      lastError = `describeCluster: ${JSON.stringify(cluster)}`;
    } catch (err) {
      lastError = (err as Error).message;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `Kafka on ${brokers.join(",")} did not serve within ${timeoutMs} ms (last error: ${lastError}); its last output:\n${output()}`,
  );
}

/**
 * Starts a single-node KRaft broker on free ports of 127.0.0.1, fetching its jars first if the
 * cache lacks them. Throws (with the broker's last output) if it does not serve within 60 s.
 */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const minor = opts.version ?? "3.9";
  const partitions = opts.partitions ?? 4;
  const readyTimeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const avail = kafkaAvailable(minor);
  if (!avail.ok) {
    if (avail.missing === "java") throw new Error(`cannot start Kafka ${minor}: ${avail.reason}`);
    await ensureKafkaJars(minor);
  }
  const version = kafkaFullVersion(minor);
  const libs = kafkaLibsDir(minor);
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const brokers = [`127.0.0.1:${port}`];
  let securePort = 0;
  if (opts.secure) {
    do securePort = await freePort();
    while (securePort === port || securePort === controllerPort);
  }

  const dataDir = mkdtempSync(join(tmpdir(), `skald-kafka-${version}-`));
  const logDir = join(dataDir, "data");
  mkdirSync(logDir);
  const config = join(dataDir, "server.properties");
  let secure: { port: number; opts: NonNullable<StartKafkaOptions["secure"]>; keystore?: string } | undefined;
  const scramUsers: string[] = [];
  if (opts.secure) {
    secure = { port: securePort, opts: opts.secure };
    if (opts.secure.tls) {
      // a PEM keystore is one file: the private key, then the certificate chain
      secure.keystore = join(dataDir, "keystore.pem");
      const { certFile, keyFile } = opts.secure.tls;
      writeFileSync(secure.keystore, `${readFileSync(keyFile, "utf8")}\n${readFileSync(certFile, "utf8")}`);
    }
    // SCRAM credentials live in the cluster metadata: written when the storage is formatted
    const { username, password } = opts.secure;
    for (const m of ["SCRAM-SHA-256", "SCRAM-SHA-512"]) {
      scramUsers.push("--add-scram", `${m}=[name=${username},password=${password}]`);
    }
  }
  writeFileSync(
    config,
    serverProperties({ version: minor, port, controllerPort, logDir, partitions, secure }),
  );
  const logFlags = writeLogConfig(minor, dataDir);

  let out = "";
  const output = () => out;
  let child: ChildProcess | undefined;

  const launch = async () => {
    const proc = spawn(
      javaBin(),
      [...JVM_FLAGS, ...logFlags, "-cp", join(libs, "*"), "kafka.Kafka", config],
      { cwd: dataDir, stdio: ["ignore", "pipe", "pipe"] },
    );
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-OUTPUT_KEEP);
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    track(proc);
    child = proc;
    const spawnError = new Promise<never>((_, reject) =>
      proc.once("error", (err) => reject(new Error(`cannot run ${javaBin()}: ${err.message}`))),
    );
    try {
      await Promise.race([waitUntilServing(brokers, proc, readyTimeoutMs, output), spawnError]);
    } catch (err) {
      proc.kill("SIGKILL");
      await exited(proc);
      child = undefined;
      throw err;
    }
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const done = exited(proc);
    proc.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      proc.kill("SIGKILL");
      await done;
    }
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const done = exited(proc);
    proc.kill("SIGKILL");
    await done;
  };

  try {
    await runStorageFormat(libs, logFlags, config, clusterId(), scramUsers);
    await launch();
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  return {
    version,
    brokers,
    port,
    secureBrokers: opts.secure ? [`127.0.0.1:${securePort}`] : [],
    dataDir,
    output,
    stop,
    kill,
    async restart() {
      await stop();
      await launch();
    },
    async destroy() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
