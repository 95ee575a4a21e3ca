import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql, type startApp as StartApp, startApp } from "../support/app.js";
import { STORE_TARGETS } from "../support/targets.js";
import { sendCanaryTraffic } from "./canary-traffic.js";

type App = Awaited<ReturnType<typeof StartApp>>;

const MINUTES = 12;
const PER_MINUTE = 40;
// A window of whole minutes, a little in the past.
const START_MS = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const FROM = new Date(START_MS).toISOString();
const TO = new Date(START_MS + MINUTES * 60_000).toISOString();

const CONTRACT = `query ($service: String!, $baseline: String!, $canary: String!, $from: DateTime!, $to: DateTime!) {
  canaryAnalysis(service: $service, baseline: $baseline, canary: $canary, from: $from, to: $to) { score verdict }
}`;

const FULL = `query ($service: String!, $from: DateTime!, $to: DateTime!, $configJson: String) {
  canaryAnalysis(service: $service, baseline: "1.0", canary: "1.1", from: $from, to: $to, configJson: $configJson) {
    id status score verdict reasons
    metrics { name classification observed pValue shiftEstimate effectSize explanation baseline { count } canary { count } }
    zones { zone score verdict metrics { name classification } }
    signatures(metric: "p95 latency") { zone baseline { time value } canary { time value } }
  }
}`;

interface Metric {
  name: string;
  classification: string;
  observed: string;
  explanation: string;
  baseline: { count: number };
  canary: { count: number };
}
interface Run {
  id: string;
  status: string;
  score: number;
  verdict: string;
  reasons: string[];
  metrics: Metric[];
  zones: Array<{
    zone: string;
    score: number;
    verdict: string;
    metrics: Array<{ name: string; classification: string }>;
  }>;
  signatures: Array<{
    zone: string | null;
    baseline: Array<{ time: string; value: number }>;
    canary: unknown[];
  }>;
}

const defaultConfigJson = {
  metrics: [
    {
      name: "p50 latency",
      query: { type: "latency", quantile: 0.5 },
      groups: ["latency"],
      analysisConfigurations: { canary: { direction: "increase" } },
    },
    {
      name: "p95 latency",
      query: { type: "latency", quantile: 0.95 },
      groups: ["latency"],
      analysisConfigurations: { canary: { direction: "increase" } },
    },
    {
      name: "error ratio",
      query: { type: "errorRatio" },
      groups: ["errors"],
      analysisConfigurations: { canary: { direction: "increase" } },
    },
    { name: "request rate per instance", query: { type: "requestRate" }, groups: ["traffic"] },
  ],
};

const baseConfig = (direction: string, mustHaveData = false) => ({
  name: `latency-${direction}`,
  metrics: [
    {
      name: "p95 latency",
      query: { type: "latency", quantile: 0.95 },
      groups: ["latency"],
      analysisConfigurations: { canary: { direction, mustHaveData } },
    },
    {
      name: "error ratio",
      query: { type: "errorRatio" },
      groups: ["errors"],
      analysisConfigurations: { canary: { direction: "increase" } },
    },
  ],
});

describe.each(STORE_TARGETS)("canary analysis end to end on $name ClickHouse", (target) => {
  let app: App;
  let setup: Awaited<ReturnType<typeof target.setup>>;

  const full = async (service: string, config?: unknown) => {
    const res = await graphql<{ canaryAnalysis: Run }>(app.graphqlUrl, FULL, {
      service,
      from: FROM,
      to: TO,
      configJson: config ? JSON.stringify(config) : null,
    });
    expect(res.errors).toBeUndefined();
    return res.data!.canaryAnalysis;
  };
  const byName = (run: Run) => Object.fromEntries(run.metrics.map((m) => [m.name, m]));

  beforeAll(async () => {
    setup = await target.setup();
    app = await startApp({ storage: setup.storage });
    const common = {
      otlpHttpUrl: app.listeners.otlpHttp,
      startMs: START_MS,
      minutes: MINUTES,
      perMinute: PER_MINUTE,
    };
    const same = { version: "1.0", latencyFactor: 1, errorEvery: 0 };
    await sendCanaryTraffic({
      ...common,
      service: "regress",
      versions: [same, { version: "1.1", latencyFactor: 1.3, errorEvery: 20 }],
    });
    await sendCanaryTraffic({ ...common, service: "same", versions: [same, { ...same, version: "1.1" }] });
    await sendCanaryTraffic({
      ...common,
      service: "faster",
      versions: [same, { version: "1.1", latencyFactor: 0.7, errorEvery: 0 }],
    });
    await sendCanaryTraffic({ ...common, service: "dark", versions: [same] });
  }, 180_000);
  afterAll(async () => {
    await app?.shutdown();
    await setup?.cleanup();
  });

  it("a canary with +30% latency and 5% errors fails, latency and errors High, in every zone", async () => {
    const res = await graphql<{ canaryAnalysis: { score: number; verdict: string } }>(
      app.graphqlUrl,
      CONTRACT,
      {
        service: "regress",
        baseline: "1.0",
        canary: "1.1",
        from: FROM,
        to: TO,
      },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.canaryAnalysis.verdict).toBe("FAIL");
    const run = await full("regress");
    const m = byName(run);
    expect(m["p50 latency"].classification).toBe("High");
    expect(m["p95 latency"].classification).toBe("High");
    expect(m["error ratio"].classification).toBe("High");
    expect(m["request rate per instance"].classification).toBe("Pass");
    expect(m["p95 latency"].baseline.count).toBe(MINUTES);
    expect(m["p50 latency"].explanation).toMatch(
      /^p50 latency was 30% higher in the canary \(median shift \+[\d.]+ ms, 98% CI \+[\d.]+ ms\.\.\+[\d.]+ ms, p < 0\.001\): High; direction 'increase' is bad$/,
    );
    expect(m["error ratio"].explanation).toMatch(
      /^error ratio was higher in the canary \(mean 0% → 5\.00%\)/,
    );
    expect(run.score).toBeLessThan(75);
    expect(run.zones.map((z) => z.zone)).toEqual(["us-east-1a", "us-east-1b", "us-east-1c"]);
    for (const z of run.zones) expect(z.verdict).toBe("FAIL");
    expect(run.signatures.find((s) => s.zone === null)?.baseline).toHaveLength(MINUTES);
    expect(run.signatures.filter((s) => s.zone !== null)).toHaveLength(3);
    // The default config reads the service map's rollup; raw spans say the same.
    const fromSpans = await full("regress", { ...defaultConfigJson, source: "spans" });
    expect(fromSpans.metrics.map((x) => [x.name, x.classification])).toEqual(
      run.metrics.map((x) => [x.name, x.classification]),
    );
    expect(fromSpans.zones.map((z) => z.verdict)).toEqual(["FAIL", "FAIL", "FAIL"]);
  });

  it("an identical pair passes with score 100", async () => {
    const res = await graphql<{ canaryAnalysis: { score: number; verdict: string } }>(
      app.graphqlUrl,
      CONTRACT,
      {
        service: "same",
        baseline: "1.0",
        canary: "1.1",
        from: FROM,
        to: TO,
      },
    );
    expect(res.data?.canaryAnalysis).toEqual({ score: 100, verdict: "PASS" });
  });

  it("a faster canary is Low with direction either, and passes when the direction is increase", async () => {
    const either = await full("faster", baseConfig("either"));
    expect(byName(either)["p95 latency"].classification).toBe("Low");
    expect(either.verdict).not.toBe("PASS");
    const increase = await full("faster", baseConfig("increase"));
    expect(byName(increase)["p95 latency"]).toMatchObject({ classification: "Pass", observed: "lower" });
    expect(increase).toMatchObject({ score: 100, verdict: "PASS" });
    const byDefault = await full("faster");
    expect(byDefault.verdict).toBe("PASS");
  });

  it("a canary without traffic: Nodata by default (the run fails), NodataFailMetric when data is required", async () => {
    const run = await full("dark");
    expect(run.metrics.every((m) => m.classification === "Nodata")).toBe(true);
    expect(run).toMatchObject({ score: 0, verdict: "FAIL" });
    expect(run.reasons[0]).toBe("4 of 4 metrics had no data");
    expect(byName(run)["p95 latency"].explanation).toBe(
      "p95 latency had no data in the canary: Nodata; not scored",
    );
    const strict = await full("dark", baseConfig("increase", true));
    expect(byName(strict)["p95 latency"].classification).toBe("NodataFailMetric");
    expect(strict.verdict).toBe("FAIL");
  });

  it("saved runs are listed and re-read, and belong to their tenant", async () => {
    const run = await full("same");
    const read = await graphql<{ canaryRun: { id: string; score: number; verdict: string } | null }>(
      app.graphqlUrl,
      `query ($id: ID!) { canaryRun(id: $id) { id score verdict } }`,
      { id: run.id },
    );
    expect(read.data?.canaryRun).toEqual({ id: run.id, score: 100, verdict: "PASS" });
    const list = await graphql<{ canaryRuns: Array<{ id: string }> }>(
      app.graphqlUrl,
      `{ canaryRuns(service: "same") { id } }`,
    );
    expect(list.data?.canaryRuns.map((r) => r.id)).toContain(run.id);
    const other = await graphql<{ canaryRun: unknown }>(
      app.graphqlUrl,
      `query ($id: ID!) { canaryRun(id: $id) { id } }`,
      { id: run.id },
      { "x-scope-orgid": "other-team" },
    );
    expect(other.data?.canaryRun).toBeNull();
    // Another tenant sees no spans of this one: its analysis has no data at all.
    const blind = await graphql<{ canaryAnalysis: { score: number; verdict: string } }>(
      app.graphqlUrl,
      CONTRACT,
      { service: "regress", baseline: "1.0", canary: "1.1", from: FROM, to: TO },
      { "x-scope-orgid": "other-team" },
    );
    expect(blind.data?.canaryAnalysis).toEqual({ score: 0, verdict: "FAIL" });
  });

  it("metrics declared as SQL run read-only, bound, and scoped to the tenant", async () => {
    const sqlConfig = {
      name: "sql",
      stepSeconds: 60,
      metrics: [
        {
          name: "mean latency (SQL)",
          query: {
            type: "sql",
            sql: `SELECT toStartOfInterval(start_time, toIntervalSecond({step:UInt32})) AS t, avg(duration_ns) / 1e6 AS value
              FROM {database}.spans
              WHERE service_name = {service:String} AND kind = 'SERVER'
                AND has({selectorValues:Array(String)}, resource_attributes[{selectorKey:String}])
                AND start_time >= {from:DateTime64(9)} AND start_time < {to:DateTime64(9)}
              GROUP BY t`,
          },
          groups: ["latency"],
          analysisConfigurations: { canary: { direction: "increase" } },
        },
      ],
    };
    const run = await full("regress", sqlConfig);
    expect(byName(run)["mean latency (SQL)"]).toMatchObject({
      classification: "High",
      baseline: { count: MINUTES },
    });
    const other = await graphql<{ canaryAnalysis: Run }>(
      app.graphqlUrl,
      FULL,
      { service: "regress", from: FROM, to: TO, configJson: JSON.stringify(sqlConfig) },
      { "x-scope-orgid": "other-team" },
    );
    expect(other.data?.canaryAnalysis.metrics[0].classification).toBe("Nodata");
    for (const sql of [
      "SELECT 1 AS t, 1 AS value; DROP TABLE spans",
      "INSERT INTO spans SELECT * FROM spans",
      "SELECT 1 AS t, count() AS value FROM merge('skald', 'spans')",
      "SELECT 1 AS t, 1 AS value SETTINGS readonly = 0",
    ]) {
      const bad = await graphql(app.graphqlUrl, FULL, {
        service: "regress",
        from: FROM,
        to: TO,
        configJson: JSON.stringify({
          ...sqlConfig,
          metrics: [{ ...sqlConfig.metrics[0], query: { type: "sql", sql } }],
        }),
      });
      expect(bad.errors?.[0].extensions?.code, sql).toBe("BAD_USER_INPUT");
    }
  });

  it("Kayenta-shaped REST: create a config, POST a run, poll until complete, read the score", async () => {
    const base = app.graphqlUrl.replace(/\/graphql$/, "/kayenta");
    const headers = { "content-type": "application/json", "x-scope-orgid": "deploy-team" };
    // The deploy team's spans: the same regressing canary, sent under its tenant.
    await sendCanaryTraffic({
      otlpHttpUrl: app.listeners.otlpHttp,
      service: "payments",
      startMs: START_MS,
      minutes: MINUTES,
      perMinute: PER_MINUTE,
      headers: { "x-scope-orgid": "deploy-team" },
      versions: [
        { version: "2.0", latencyFactor: 1, errorEvery: 0 },
        { version: "2.1", latencyFactor: 1.3, errorEvery: 20 },
      ],
    });
    const created = await fetch(`${base}/canaryConfig`, {
      method: "POST",
      headers,
      body: JSON.stringify(baseConfig("increase")),
    });
    expect(created.status).toBe(200);
    const { canaryConfigId } = (await created.json()) as { canaryConfigId: string };
    const scope = (version: string) => ({
      scope: `payments-${version}-us-east-1a,payments-${version}-us-east-1b,payments-${version}-us-east-1c`,
      start: FROM,
      end: TO,
      step: 60,
      extendedScopeParams: { selector: "k8s.pod.name" },
    });
    const started = await fetch(`${base}/canary/${canaryConfigId}?application=payments`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        scopes: { default: { controlScope: scope("2.0"), experimentScope: scope("2.1") } },
        thresholds: { pass: 95, marginal: 75 },
      }),
    });
    expect(started.status).toBe(200);
    const { canaryExecutionId } = (await started.json()) as { canaryExecutionId: string };
    let status: {
      complete: boolean;
      status: string;
      result?: {
        judgeResult: {
          score: { score: number; classification: string };
          results: Array<{ name: string; classification: string; classificationReason: string }>;
        };
      };
    };
    for (;;) {
      const res = await fetch(`${base}/canary/${canaryExecutionId}`, { headers });
      expect(res.status).toBe(200);
      status = (await res.json()) as typeof status;
      if (status.complete) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status.status).toBe("succeeded");
    expect(status.result?.judgeResult.score).toMatchObject({ score: 0, classification: "Fail" });
    const latency = status.result?.judgeResult.results.find((r) => r.name === "p95 latency");
    expect(latency?.classification).toBe("High");
    expect(latency?.classificationReason).toMatch(/30% higher in the canary/);
    const elsewhere = await fetch(`${base}/canary/${canaryExecutionId}`);
    expect(elsewhere.status).toBe(404);
    const badRun = await fetch(`${base}/canary/${canaryConfigId}`, { method: "POST", headers, body: "{}" });
    expect(badRun.status).toBe(400);
    const missing = await fetch(`${base}/canaryConfig/nope`, { headers });
    expect(missing.status).toBe(404);
  });
});
