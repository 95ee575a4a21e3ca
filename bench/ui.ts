/**
 * npm run bench:ui — the dashboard's weight and speed in headless Debian chromium: gzip size of
 * what the first page loads (index.html, entry script, stylesheet), and per page the time to the
 * app shell's first render and to the page showing its data, median of BENCH_RUNS (default 5)
 * cold loads each (fresh tab, HTTP cache off). Data: one 5-span trace, a 20,000-span trace and a
 * 500-service estate inserted server-side into an in-process `skald start` on embedded chDB.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { loadConfig } from "../core/config/load.js";
import { encodeSpans, SPAN_COLUMNS } from "../core/store/span-encoder.js";
import { nowNs, resource, span, spanIdOf } from "../query/testing/fixtures.js";
import { findUiDist } from "../query/ui-static.js";
import { wideEstate } from "../test/e2e/ui-harness.js";
import { startApp } from "../test/support/app.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BIG = "b16b16b16b16b16b16b16b16b16b16b1";
const SMALL = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

function bundleSizes(dir: string): Array<{ file: string; raw: number; gzip: number }> {
  const html = readFileSync(join(dir, "index.html"), "utf8");
  const referenced = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]);
  return ["index.html", ...referenced].map((file) => {
    const body = readFileSync(join(dir, file));
    return { file, raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
  });
}

function traceSpans(traceId: string, n: number, base: bigint) {
  const services = Array.from({ length: 5 }, (_, i) => resource(`bench-svc-${i}`));
  return Array.from({ length: n }, (_, i) =>
    span({
      traceId,
      spanId: spanIdOf(i + 1),
      parentSpanId: i === 0 ? "" : spanIdOf(1 + Math.floor(i / 10)),
      name: `op-${i % 30}`,
      kind: i % 4 === 0 ? 2 : 3,
      start: base + BigInt(i) * 100_000n,
      durationMs: 1 + (i % 5),
      resource: services[i % services.length],
    }),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const dir = findUiDist();
  if (!dir) throw new Error("ui/dist is not built (npm run build:ui)");
  const sizes = bundleSizes(dir);
  const total = sizes.reduce((a, s) => a + s.gzip, 0);
  for (const s of sizes)
    console.log(
      `bundle ${s.file}: ${(s.raw / 1024).toFixed(1)} KiB raw, ${(s.gzip / 1024).toFixed(1)} KiB gzip`,
    );
  console.log(`first page total: ${(total / 1024).toFixed(1)} KiB gzip`);
  // Everything the first page does not load: the layout worker and the lazily loaded pages.
  const firstPage = new Set(sizes.map((x) => x.file));
  const workers = readdirSync(join(dir, "assets")).filter(
    (f) => f.endsWith(".js") && !firstPage.has(`assets/${f}`),
  );
  for (const w of workers)
    console.log(
      `lazy ${w}: ${(gzipSync(readFileSync(join(dir, "assets", w))).length / 1024).toFixed(1)} KiB gzip`,
    );

  const dataDir = mkdtempSync(join(tmpdir(), "skald-bench-ui-"));
  const profile = mkdtempSync(join(tmpdir(), "skald-bench-ui-profile-"));
  const app = await startApp({ storage: { dataDir } });
  try {
    const tenant = loadConfig({ env: {} }).otlp.defaultTenant;
    const base = nowNs() - 10n * 60_000_000_000n;
    await app.store.insertTsv(
      "spans",
      SPAN_COLUMNS,
      encodeSpans(tenant, [
        ...traceSpans(SMALL, 5, base),
        ...traceSpans(BIG, 20_000, base),
        ...wideEstate(500, base),
      ]),
    );
    const origin = app.graphqlUrl.replace(/\/graphql$/, "");
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1400, height: 900 },
    });
    const pages: Array<[string, string, string]> = [
      ["traces", "/traces?last=1h", '[data-testid="trace-link"]'],
      ["trace (5 spans)", `/trace/${SMALL}`, '[data-testid="span-row"]'],
      ["trace (20,000 spans)", `/trace/${BIG}`, '[data-testid="span-row"]'],
      // A shared link to a span deep in the big trace: its position is looked up, its block fetched.
      [
        "trace (20,000 spans) link to its last span",
        `/trace/${BIG}?span=${spanIdOf(20_000)}`,
        `#row-${spanIdOf(20_000)}`,
      ],
      ["compare (5 vs 20,000 spans)", `/compare?a=${SMALL}&b=${BIG}`, '[data-testid="compare-row"]'],
      ["service map (505 services)", "/map?last=1h", '[data-testid="map-node"], [data-testid="unavailable"]'],
      [
        "service map + network map beside",
        "/map?last=1h&net=beside",
        '[data-testid="network-map"], [data-testid="no-flows"]',
      ],
      ["security queries", "/security?last=1h", '[data-testid="security-answer"]'],
      ["flows (no flows stored)", "/flows?last=1h", 'text="No flows in this window."'],
    ];
    for (const [name, path, selector] of pages) {
      const shell: number[] = [];
      const data: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
        await page.goto(`${origin}${path}`);
        await page.locator(selector).first().waitFor({ timeout: 60_000 });
        const t = await page.evaluate(() => ({
          shell: performance.getEntriesByName("skald:first-render")[0]?.startTime ?? Number.NaN,
          data: performance.now(),
        }));
        shell.push(t.shell);
        data.push(t.data);
        await page.close();
      }
      console.log(
        `${name}: first render ${median(shell).toFixed(0)} ms, data shown ${median(data).toFixed(0)} ms (median of ${RUNS})`,
      );
    }
    await context.close();
  } finally {
    await app.shutdown();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
