import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSchema, parse, validate } from "graphql";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.js";
import { createLogger } from "../../core/log.js";
import { encodeSpans, SPAN_COLUMNS } from "../../core/store/span-encoder.js";
import { typeDefs } from "../../query/graphql/schema.js";
import { QUERY_MODULES } from "../../query/modules.js";
import { nowNs } from "../../query/testing/fixtures.js";
import { ALL_DOCUMENTS, PAGE_FIELDS } from "../../ui/src/queries.js";
import { startApp } from "../support/app.js";
import { ARTIFACTS, type Browser, hugeTrace, openBrowser, sendCheckoutTrace } from "./ui-harness.js";

type App = Awaited<ReturnType<typeof startApp>>;

const HUGE_TRACE = "feedfacefeedfacefeedfacefeedface";
const HUGE_SPANS = 100_000;

/**
 * The dashboard in Debian's chromium against an in-process `skald start` (embedded chDB): trace
 * search → trace view → span details, collapsing, shareable URLs, themes, the 100,000-span trace,
 * every page screenshotted into .artifacts/ui/, and no console errors anywhere.
 */
describe("dashboard in a real browser", () => {
  let app: App;
  let dataDir: string;
  let base: string;
  let browser: Browser;
  let traceId: string;
  let schemaFields: string[];

  beforeAll(async () => {
    if (!existsSync("ui/dist/index.html"))
      throw new Error("ui/dist is not built: run `npm run build:ui` first");
    dataDir = mkdtempSync(join(tmpdir(), "skald-ui-"));
    app = await startApp({ storage: { dataDir } });
    base = app.graphqlUrl.replace(/\/graphql$/, "");
    traceId = await sendCheckoutTrace(app.listeners.otlpHttp, "ui");
    const tenant = loadConfig({ env: {} }).otlp.defaultTenant;
    const huge = hugeTrace(HUGE_TRACE, HUGE_SPANS, nowNs() - 30n * 60_000_000_000n);
    await app.store.insertTsv("spans", SPAN_COLUMNS, encodeSpans(tenant, huge));
    browser = await openBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.shutdown();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Opens `path`, waits for `selector`, and screenshots the page as `name`.png. */
  async function visit(
    path: string,
    selector: string,
    name?: string,
  ): Promise<{ page: Page; errors: string[] }> {
    const tab = await browser.newPage();
    await tab.page.goto(`${base}${path}`);
    await tab.page.locator(selector).first().waitFor({ timeout: 30_000 });
    if (name) await tab.page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    return tab;
  }

  it("validates every UI query against the server's schema", async () => {
    const config = loadConfig({ env: {} });
    const logger = createLogger("silent");
    const modules = QUERY_MODULES.map((f) => f({ store: app.store, config, metrics: app.metrics, logger }));
    const sdl = [typeDefs(config.query), ...modules.flatMap((m) => (m.typeDefs ? [m.typeDefs] : []))].join(
      "\n",
    );
    for (const m of modules) await m.close?.();
    const schema = buildSchema(sdl);
    schemaFields = Object.keys(schema.getQueryType()?.getFields() ?? {});
    const mapLive = PAGE_FIELDS.map.every((f) => schemaFields.includes(f));
    for (const [name, doc] of Object.entries(ALL_DOCUMENTS)) {
      // The map's documents are checked once the service-map module is in the schema.
      if (!mapLive && (name === "SERVICE_MAP" || name === "SERVICE_METRICS")) continue;
      expect(validate(schema, parse(doc)).map((e) => `${name}: ${e.message}`)).toEqual([]);
    }
  });

  it("searches traces, opens one, expands a span and shows its details", async () => {
    const { page, errors } = await visit("/traces?last=1h", '[data-testid="trace-link"]', "traces");
    await expect.poll(() => page.locator(".scatter circle").count()).toBeGreaterThanOrEqual(1);

    // Search by operation and attribute through the form: the URL carries the filter.
    await page.getByLabel("Operation").fill("GET /checkout");
    await page.getByLabel(/^Attributes/).fill("request.guid=guid-ui");
    await page.getByLabel("Status").selectOption("ERROR");
    await page.getByRole("button", { name: "Find traces" }).click();
    await expect.poll(() => page.url()).toContain("attrs=request.guid%3Dguid-ui");
    await expect.poll(() => page.locator('[data-testid="trace-link"]').count()).toBe(1);
    await expect.poll(() => page.getByText("1 trace", { exact: true }).count()).toBe(1);

    await page.locator('[data-testid="trace-link"]').first().click();
    await page.waitForURL(`**/trace/${traceId}**`);
    const rows = page.locator('[data-testid="span-row"]');
    await expect.poll(() => rows.count()).toBe(5);
    expect(await page.locator('[data-testid="span-count"]').textContent()).toBe("5");
    await page.locator('[data-testid="swimlanes"]').waitFor();

    // Collapse the root, then expand it again.
    await rows.first().getByRole("button", { name: "Collapse" }).click();
    await expect.poll(() => rows.count()).toBe(1);
    await rows.first().getByRole("button", { name: "Expand" }).click();
    await expect.poll(() => rows.count()).toBe(5);

    // Span details: the failing database call, with attributes, the link, and the resource.
    await rows.filter({ hasText: "SELECT carts" }).click();
    const details = page.locator('[data-testid="span-details"]');
    await details.getByText("deadlock detected").waitFor();
    expect(await details.textContent()).toContain("postgresql");
    expect(await details.textContent()).toContain("link.reason");
    expect(await details.textContent()).toContain("service.version");
    await page.screenshot({ path: join(ARTIFACTS, "trace.png"), fullPage: true });

    // The URL is the state: reloading shows the same span selected.
    expect(page.url()).toContain("span=");
    await page.reload();
    await details.getByText("deadlock detected").waitFor();

    // Keyboard: arrow up from the selected span selects its parent's row above it.
    await page.locator('[data-testid="waterfall"]').focus();
    await page.keyboard.press("ArrowUp");
    await details.getByRole("heading", { name: "GetCart" }).waitFor();

    // Dark theme.
    await page.getByRole("button", { name: "Switch to dark theme" }).click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    await page.screenshot({ path: join(ARTIFACTS, "trace-dark.png"), fullPage: true });
    await page.getByRole("button", { name: "Switch to light theme" }).click();
    expect(errors).toEqual([]);
    await page.close();
  });

  it("opens and scrolls a 100,000-span trace, loading pages as it goes", async () => {
    const { page, errors } = await visit(`/trace/${HUGE_TRACE}`, '[data-testid="span-row"]', "trace-100k");
    expect(await page.locator('[data-testid="span-count"]').textContent()).toBe("100,000");
    // Only the rows in view are in the DOM.
    expect(await page.locator('[data-testid="span-row"]').count()).toBeLessThan(200);
    const scroller = page.locator('[data-testid="waterfall"]');
    // Scroll to the end, step by step, until the last row is a real span (all 25 pages loaded).
    await expect
      .poll(
        async () => {
          await scroller.evaluate((el) => {
            el.scrollTop = el.scrollHeight;
          });
          return page.locator(".wf-row.placeholder").count();
        },
        { timeout: 90_000, interval: 250 },
      )
      .toBe(0);
    const last = page.locator('[data-testid="span-row"]').last();
    expect(await last.textContent()).toMatch(/huge-svc-\d op-\d+/);
    await page.screenshot({ path: join(ARTIFACTS, "trace-100k-end.png") });
    // Select a span deep in the trace and see its details.
    await last.click();
    await page
      .locator('[data-testid="span-details"] h2')
      .filter({ hasText: /^op-\d+$/ })
      .waitFor();
    expect(errors).toEqual([]);
    await page.close();
  }, 150_000);

  it("keeps the global time range and service filter across pages, and says which APIs are missing", async () => {
    const { page, errors } = await visit("/traces?last=6h&service=cart", '[data-testid="trace-link"]');
    expect(await page.getByLabel("Service filter").inputValue()).toBe("cart");
    await page.getByRole("link", { name: "Network flows" }).click();
    await expect.poll(() => page.url()).toBe(`${base}/flows?last=6h&service=cart`);
    // Absolute range through the picker lands in the URL as from/to.
    await page.getByRole("button", { name: /^Time range/ }).click();
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => page.url()).toMatch(/from=.*&to=/);
    for (const [path, name] of [
      ["/config", "config-history"],
      ["/canary", "canary"],
      ["/flows", "flows"],
    ] as const) {
      const tab = await visit(path, "main h1", name);
      expect(await tab.page.locator('[data-testid="unavailable"]').count()).toBe(1);
      expect(tab.errors).toEqual([]);
      await tab.page.close();
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});
