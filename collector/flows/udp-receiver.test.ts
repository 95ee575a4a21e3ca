import { createSocket } from "node:dgram";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { retryable } from "../../core/errors.js";
import { defaultFlowDecoderLimits } from "../../core/flows/decoder.js";
import type { FlowSink } from "../../core/flows/flow-sink.js";
import { createFlowMetrics } from "../../core/flows/metrics.js";
import type { FlowRecord } from "../../core/flows/model.js";
import {
  BASIC_FIELDS,
  basicRecord,
  ipfixMessage,
  ipfixTemplate,
  set,
} from "../../core/flows/testing/build.js";
import { createLogger } from "../../core/log.js";
import { createFlowUdpReceiver } from "./udp-receiver.js";

/** A sink that accepts the first `accept` calls and then refuses like a full batcher. */
function fakeSink(accept: number) {
  const got: FlowRecord[] = [];
  let calls = 0;
  const sink: FlowSink = {
    consume(_t, flows) {
      if (++calls > accept) return Promise.reject(retryable("QUEUE_FULL", "full", 1000));
      got.push(...flows);
      return Promise.resolve();
    },
    flush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  return { sink, got };
}

describe("flow UDP receiver", () => {
  it("decodes datagrams into the sink and counts refused flows as dropped (queue_full), never blocking", async () => {
    const registry = new Registry();
    const metrics = createFlowMetrics(registry);
    const { sink, got } = fakeSink(2);
    const r = createFlowUdpReceiver({
      name: "ipfix",
      host: "127.0.0.1",
      port: 0,
      tenant: "t",
      recvBufferBytes: 1 << 20,
      limits: defaultFlowDecoderLimits(),
      sink,
      metrics,
      logger: createLogger("silent"),
    });
    const port = Number((await r.start()).split(":").pop());
    const now = Math.floor(Date.now() / 1000);
    const rec = basicRecord("10.0.0.1", "10.0.0.2", 1, 2, 17, 10, 1, now * 1000, now * 1000);
    const u = createSocket("udp4");
    const send = (b: Buffer) => new Promise<void>((ok) => u.send(b, port, "127.0.0.1", () => ok()));
    await send(
      ipfixMessage({ domain: 1, seq: 0, exportSecs: now, sets: [set(2, ipfixTemplate(256, BASIC_FIELDS))] }),
    );
    for (let i = 0; i < 4; i++) {
      await send(
        ipfixMessage({
          domain: 1,
          seq: i * 3,
          exportSecs: now,
          sets: [set(256, Buffer.concat([rec, rec, rec]))],
        }),
      );
    }
    await send(Buffer.from("not a flow packet"));
    for (let i = 0; i < 100; i++) {
      const text = await registry.metrics();
      if (/skald_flow_packets_received_total\{receiver="ipfix"\} 6/.test(text)) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    u.close();
    await new Promise((res) => setTimeout(res, 50));
    await r.shutdown();
    await r.shutdown();
    const text = await registry.metrics();
    expect(got).toHaveLength(6);
    expect(text).toMatch(/skald_flows_decoded_total\{receiver="ipfix",source_type="ipfix"\} 12/);
    expect(text).toMatch(/skald_flows_dropped_total\{receiver="ipfix",reason="queue_full"\} 6/);
    expect(text).toMatch(/skald_flows_dropped_total\{receiver="ipfix",reason="unknown_version"\} 1/);
  });
});
