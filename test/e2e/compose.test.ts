import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkExposure } from "../../core/auth/exposure.js";
import { ENV_KEYS, loadConfig } from "../../core/config/load.js";
import { packageRoot } from "../../core/paths.js";
import { profileServices, readCompose, serviceEnv } from "../support/compose.js";

// The Compose files, checked without a Docker engine: Debian's `docker-compose config -q` (the
// Compose file format's own validation, installed by .ci/run), then what Skald needs of them:
// every SKALD_* variable is one Skald knows and loads, images are pinned, health and start order.
const CI = process.env.CI === "true";
const root = packageRoot();
const hasCompose = spawnSync("docker-compose", ["version"], { encoding: "utf8" }).status === 0;
if (!hasCompose && !CI) console.warn("docker-compose config checks skipped: docker-compose not installed");

const composeConfig = (files: string[], profile: string, cwd = root) =>
  spawnSync("docker-compose", ["--profile", profile, ...files.flatMap((f) => ["-f", f]), "config", "-q"], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, COMPOSE_PROJECT_NAME: "skald-test" },
  });

describe.skipIf(!hasCompose && !CI)("docker-compose config accepts the Compose files", () => {
  it.each([
    [["docker-compose.yml"], "single"],
    [["docker-compose.yml"], "distributed"],
    [["docker-compose.yml", "docker-compose.cluster.yml"], "distributed"],
  ])("%j with profile %s", (files, profile) => {
    const res = composeConfig(files, profile);
    expect(res.stderr).not.toMatch(/ERROR/);
    expect(res.status).toBe(0);
  });

  it("and rejects an invalid one (the check has teeth)", () => {
    const dir = mkdtempSync(join(tmpdir(), "skald-compose-"));
    try {
      const broken = readFileSync(join(root, "docker-compose.yml"), "utf8").replace(
        "condition: service_completed_successfully",
        "condition: service_finished_somehow",
      );
      writeFileSync(join(dir, "docker-compose.yml"), broken);
      const res = composeConfig(["docker-compose.yml"], "distributed", dir);
      expect(res.status).not.toBe(0);
      expect(res.stderr).toMatch(/condition/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the distributed profile wires Skald as the README says", () => {
  const compose = readCompose();
  const cluster = readCompose("docker-compose.cluster.yml");
  const dist = profileServices(compose, "distributed");
  const skaldServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
  const role = (name: string) => dist[name]?.command?.[0];
  const withRole = (r: string) => Object.keys(dist).filter((n) => role(n) === r);

  it("has ClickHouse, Kafka in KRaft mode, migrate, two collectors behind one OTLP port, two ingesters, query, recorder", () => {
    expect(dist.clickhouse.image).toMatch(/^clickhouse\/clickhouse-server:/);
    expect(dist.kafka.image).toMatch(/^apache\/kafka:/);
    expect(dist.kafka.environment?.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(Object.keys(dist.kafka.environment ?? {}).join()).not.toMatch(/ZOOKEEPER/);
    expect(withRole("migrate")).toHaveLength(1);
    expect(withRole("collector")).toHaveLength(2);
    expect(withRole("ingester")).toHaveLength(2);
    expect(withRole("query")).toHaveLength(1);
    expect(withRole("recorder")).toHaveLength(1);
    // the collectors publish nothing themselves; the balancer owns the OTLP ports
    for (const c of withRole("collector")) expect(dist[c].ports).toBeUndefined();
    expect(dist.otlp.ports).toEqual(["4317:4317", "4318:4318"]);
    const nginx = readFileSync(join(root, "deploy", "nginx", "otlp.conf"), "utf8");
    for (const port of ["4317", "4318"]) {
      const upstream = [...nginx.matchAll(new RegExp(`server ([\\w-]+):${port}\\b`, "g"))].map((m) => m[1]);
      expect(upstream.sort()).toEqual(withRole("collector").sort());
    }
    expect(nginx).toMatch(/http2 on;[\s\S]*grpc_pass grpc:\/\/otlp_grpc;/);
  });

  it("every image is pinned to a version", () => {
    for (const file of [compose, cluster]) {
      for (const [name, s] of Object.entries(file.services)) {
        if (s.image === undefined) continue;
        expect(s.image, name).toMatch(/:(\$\{[^}]*:-)?[^:}]*\d[^:}]*\}?$/);
        expect(s.image, name).not.toMatch(/:latest$/);
      }
    }
  });

  it("every long-running service has a health check; dependencies wait for health (or migrate's success)", () => {
    for (const [name, s] of Object.entries(dist)) {
      if (role(name) !== "migrate") expect(s.healthcheck?.test, name).toBeDefined();
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(dist[dep], `${name} → ${dep}`).toBeDefined();
        expect(condition, `${name} → ${dep}`).toBe(
          role(dep) === "migrate" ? "service_completed_successfully" : "service_healthy",
        );
      }
    }
    for (const r of ["collector", "ingester", "query", "recorder"]) {
      for (const name of withRole(r)) expect(Object.keys(dist[name].depends_on ?? {})).toContain("migrate");
    }
  });

  it("keeps data in volumes", () => {
    expect(dist.clickhouse.volumes).toContain("clickhouse-data:/var/lib/clickhouse");
    expect(dist.kafka.volumes).toContain("kafka-data:/var/lib/kafka/data");
    expect(compose.services.skald.volumes).toContain("skald-data:/data");
    expect(compose.services.skald.profiles).toEqual(["single"]);
  });

  it("sets only SKALD_* variables Skald knows, with values its configuration accepts", () => {
    const overrides = Object.entries(cluster.services).filter(([name]) => compose.services[name]?.build);
    for (const [name, service] of [...skaldServices, ...overrides]) {
      const env = serviceEnv(service);
      const skaldKeys = Object.keys(env).filter((k) => k.startsWith("SKALD_"));
      expect(skaldKeys.length, name).toBeGreaterThan(0);
      for (const key of skaldKeys) expect(Object.keys(ENV_KEYS), `${name}: ${key}`).toContain(key);
      // ...and that the role would start with it (it refuses to listen openly without auth, say)
      const role = compose.services[name].command?.[0] ?? "";
      expect(() => checkExposure(role, loadConfig({ env })), name).not.toThrow();
    }
    // the roles agree on where Kafka and ClickHouse are and how many partitions the topic has
    const envOf = (n: string) => serviceEnv(dist[n]);
    const writers = [...withRole("collector"), ...withRole("ingester")];
    expect(new Set(writers.map((n) => envOf(n).SKALD_KAFKA_BROKERS))).toEqual(new Set(["kafka:9092"]));
    expect(new Set(writers.map((n) => envOf(n).SKALD_KAFKA_PARTITIONS)).size).toBe(1);
    const stores = [
      ...withRole("migrate"),
      ...withRole("ingester"),
      ...withRole("query"),
      ...withRole("recorder"),
    ];
    expect(new Set(stores.map((n) => envOf(n).SKALD_CLICKHOUSE_URL))).toEqual(
      new Set(["http://clickhouse:8123"]),
    );
  });

  it("the cluster file names one cluster in Skald's settings and in ClickHouse's, with every node in it", () => {
    const xml = readFileSync(join(root, "deploy", "clickhouse", "cluster.xml"), "utf8");
    const name = /<remote_servers>\s*<(\w+)>/.exec(xml)?.[1];
    const clusterOf = Object.entries(cluster.services)
      .filter(([n]) => compose.services[n]?.build && n !== "collector-1" && n !== "collector-2")
      .map(([, s]) => s.environment?.SKALD_CLICKHOUSE_CLUSTER);
    expect(clusterOf.length).toBeGreaterThanOrEqual(5);
    expect(new Set(clusterOf)).toEqual(new Set([name]));
    const hosts = [...xml.matchAll(/<host>([\w-]+)<\/host>/g)].map((m) => m[1]).filter((h) => h !== "keeper");
    expect(hosts).toHaveLength(4);
    const nodes = Object.entries(cluster.services).filter(([, s]) => s.environment?.CLICKHOUSE_REPLICA);
    expect(nodes.map(([, s]) => s.environment?.CLICKHOUSE_REPLICA).sort()).toEqual([...hosts].sort());
    const shards = nodes.map(([, s]) => s.environment?.CLICKHOUSE_SHARD);
    expect(shards.filter((s) => s === "01")).toHaveLength(2);
    expect(shards.filter((s) => s === "02")).toHaveLength(2);
  });
});
