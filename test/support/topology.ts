/**
 * The distributed stack of docker-compose.yml (profile "distributed") as local processes: a
 * ClickHouse HTTP server, a Kafka broker, `skald migrate`, then every Skald service of the profile
 * as `node bin/skald.js <role>`, each configured only through the environment the compose file
 * gives it, with compose hostnames and ports replaced by local ones. Used by
 * test/e2e/topology.test.ts and bench/topology.ts (needs `npm run build`).
 */
import { type SkaldProcess, spawnRole } from "../../ingester/testing/harness.js";
import { type ClickHouseServer, freePort, startClickHouseServer } from "./clickhouse-server.js";
import { type ComposeService, profileServices, readCompose, serviceEnv } from "./compose.js";
import { KAFKA_VERSIONS, type KafkaBroker, type KafkaMinor, startKafka } from "./kafka.js";

export interface TopologyService {
  /** The compose service name (collector-1, ingester-2, query, ...). */
  name: string;
  role: string;
  /** The environment it was started with: the compose file's, localised. */
  env: Record<string, string>;
  process: SkaldProcess;
  /** Local address of each port the compose file gives it, by variable (SKALD_OTLP_HTTP_PORT, ...). */
  ports: Record<string, number>;
}

export interface Topology {
  broker: KafkaBroker;
  ch: ClickHouseServer;
  services: TopologyService[];
  byRole(role: string): TopologyService[];
  /** SIGKILLs every Skald process, stops Kafka and ClickHouse, removes their data. */
  destroy(): Promise<void>;
}

const PORT_KEYS = /_PORT$/;

/** The compose file's distributed services that run Skald, by name, with their role. */
export function composeSkaldServices(): Array<{ name: string; role: string; service: ComposeService }> {
  const dist = profileServices(readCompose(), "distributed");
  return Object.entries(dist)
    .filter(([, s]) => s.build !== undefined && s.command?.[0])
    .map(([name, service]) => ({ name, role: service.command?.[0] as string, service }));
}

/** The Kafka minor version of the compose file's broker image (apache/kafka:4.1.2 → "4.1"). */
export function composeKafkaVersion(): KafkaMinor {
  const image = profileServices(readCompose(), "distributed").kafka?.image ?? "";
  const minor = /:(\d+\.\d+)\./.exec(image)?.[1] as KafkaMinor;
  if (!KAFKA_VERSIONS.includes(minor)) throw new Error(`no test broker for the compose file's ${image}`);
  return minor;
}

/**
 * Replaces the compose network's addresses with local ones: kafka:9092 → the broker,
 * http://clickhouse:8123 → the ClickHouse server, 0.0.0.0 → 127.0.0.1, every *_PORT → a free port.
 */
async function localise(
  env: Record<string, string>,
  broker: KafkaBroker,
  ch: ClickHouseServer,
): Promise<{ env: Record<string, string>; ports: Record<string, number> }> {
  const out: Record<string, string> = {};
  const ports: Record<string, number> = {};
  for (const [key, value] of Object.entries(env)) {
    if (PORT_KEYS.test(key)) {
      ports[key] = await freePort();
      out[key] = String(ports[key]);
      continue;
    }
    const local = value
      .replaceAll("kafka:9092", broker.brokers.join(","))
      .replaceAll("http://clickhouse:8123", ch.url)
      .replaceAll("0.0.0.0", "127.0.0.1");
    if (/\b(kafka|clickhouse):\d+/.test(local)) throw new Error(`${key}=${value}: unknown compose address`);
    out[key] = local;
  }
  return { env: out, ports };
}

/**
 * Starts the topology. `shellEnv` stands in for the environment `docker compose` interpolates
 * from (${AWS_ACCESS_KEY_ID} ...); `extra` adds variables per role that only exist off Docker
 * (the test's AWS endpoint).
 */
export async function startTopology(
  opts: {
    shellEnv?: Record<string, string>;
    extra?: Record<string, Record<string, string>>;
    /** Leave these roles out (the benchmark runs no recorder). */
    without?: string[];
  } = {},
): Promise<Topology> {
  const compose = composeSkaldServices().filter((s) => !opts.without?.includes(s.role));
  const partitions = Number(
    serviceEnv(compose.find((s) => s.role === "collector")?.service ?? {}).SKALD_KAFKA_PARTITIONS ?? 8,
  );
  const [broker, ch] = await Promise.all([
    startKafka({ version: composeKafkaVersion(), partitions }),
    startClickHouseServer(),
  ]);
  const services: TopologyService[] = [];
  const destroy = async () => {
    await Promise.all(services.map((s) => s.process.kill()));
    await Promise.all([broker.destroy(), ch.destroy()]);
  };
  try {
    const launch = async (name: string, role: string, service: ComposeService) => {
      const { env, ports } = await localise(serviceEnv(service, opts.shellEnv), broker, ch);
      const proc = spawnRole(role, { ...env, ...opts.extra?.[role] });
      const entry = { name, role, env, process: proc, ports };
      services.push(entry);
      return entry;
    };
    for (const m of compose.filter((s) => s.role === "migrate")) {
      const { process: p } = await launch(m.name, m.role, m.service);
      const code = await new Promise<number | null>((resolve) => {
        if (p.child.exitCode !== null) resolve(p.child.exitCode);
        else p.child.once("exit", (c) => resolve(c));
      });
      if (code !== 0) throw new Error(`skald migrate exited ${code}: ${p.output()}`);
    }
    const running = await Promise.all(
      compose.filter((s) => s.role !== "migrate").map((s) => launch(s.name, s.role, s.service)),
    );
    await Promise.all(running.map((s) => s.process.ready));
  } catch (err) {
    await destroy().catch(() => undefined);
    throw err;
  }
  return {
    broker,
    ch,
    services,
    byRole: (role) => services.filter((s) => s.role === role),
    destroy,
  };
}
