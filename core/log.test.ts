import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./log.js";

describe("logger", () => {
  it("censors credentials wherever a logged object carries them", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger("info", "test", sink);
    log.info({ authorization: "Bearer s3cret-token-000" }, "a");
    log.info(
      { req: { headers: { authorization: "Bearer s3cret-token-001", "x-api-key": "s3cret-key-002" } } },
      "b",
    );
    log.info({ storage: { password: "s3cret-pw-003" }, kafka: { sasl: { password: "s3cret-pw-004" } } }, "c");
    log.info(
      { auth: { apiKeys: [{ key: "s3cret-key-005" }], tokens: [{ token: "s3cret-token-006" }] } },
      "d",
    );
    const text = lines.join("");
    expect(text).not.toMatch(/s3cret/);
    expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(6);
  });
});
