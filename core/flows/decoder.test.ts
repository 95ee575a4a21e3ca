import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlowDecoder } from "./decoder.js";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "testdata", name));

describe("softflowd packets", () => {
  for (const v of ["v5", "v9", "v10", "v10a"]) {
    it(`decodes ${v}`, () => {
      const d = new FlowDecoder();
      const r = d.decode(fixture(`softflowd-${v}.bin`), "127.0.0.1");
      expect(r.dropped).toEqual({});
    });
  }
});
