import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { missingNodeFlags, NODE_FLAGS } from "./node-flags.js";
import { packageRoot } from "./paths.js";

const read = (path: string) => readFileSync(join(packageRoot(), path), "utf8");

describe("node flags", () => {
  it("every launcher of bin/skald.js passes the same V8 flags", () => {
    const flags = NODE_FLAGS.join(" ");
    expect(read("bin/skald.js").split("\n")[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
    const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${flags} bin/skald.js start`);
    expect(read("Dockerfile")).toContain(
      `ENTRYPOINT ${JSON.stringify(["node", ...NODE_FLAGS, "/app/bin/skald.js"]).replaceAll(",", ", ")}`,
    );
  });

  it("names the flags a process was started without", () => {
    expect(missingNodeFlags([...NODE_FLAGS, "--inspect"])).toEqual([]);
    expect(missingNodeFlags([])).toEqual([...NODE_FLAGS]);
  });
});
