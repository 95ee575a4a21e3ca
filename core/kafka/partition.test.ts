import { randomBytes } from "node:crypto";
import { Partitioners } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaPartitionOf } from "./partition.js";

describe("kafkaPartitionOf", () => {
  it("picks the partition kafkajs's default (Java-compatible murmur2) partitioner picks", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 4, 7, 64]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
        partitionId: i,
        leader: 0,
        replicas: [0],
        isr: [0],
        partitionErrorCode: 0,
      }));
      const keys = [
        "",
        "a",
        "ab",
        "abc",
        "abcd",
        "é",
        "trace-é-ü-日本",
        ...Array.from({ length: 3000 }, (_, i) =>
          i % 3 === 0
            ? randomBytes(16).toString("hex")
            : i % 3 === 1
              ? randomBytes(1 + (i % 13)).toString("base64")
              : `é${randomBytes(i % 7).toString("hex")}`,
        ),
      ];
      for (const key of keys) {
        const theirs = partitioner({ topic: "t", partitionMetadata, message: { key, value: null } });
        expect(kafkaPartitionOf(key, partitions), `${key} over ${partitions}`).toBe(theirs);
      }
    }
  });
});
