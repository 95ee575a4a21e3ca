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

  it("with an allow-list, hears only exporters whose address is listed, as the tenant their CIDR names", async () => {
    const registry = new Registry();
    const metrics = createFlowMetrics(registry);
    const tenants: string[] = [];
    const sink: FlowSink = {
      consume(t) {
        tenants.push(t);
        return Promise.resolve();
      },
      flush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    const receiverFor = (allowed: (address: string) => string | undefined) =>
      createFlowUdpReceiver({
        name: "ipfix",
        host: "127.0.0.1",
        port: 0,
        tenant: "default",
        sourceTenant: allowed,
        recvBufferBytes: 1 << 20,
        limits: defaultFlowDecoderLimits(),
        sink,
        metrics,
        logger: createLogger("silent"),
      });
    const now = Math.floor(Date.now() / 1000);
    const rec = basicRecord("10.0.0.1", "10.0.0.2", 1, 2, 17, 10, 1, now * 1000, now * 1000);
    const packet = ipfixMessage({
      domain: 1,
      seq: 0,
      exportSecs: now,
      sets: [set(2, ipfixTemplate(256, BASIC_FIELDS)), set(256, rec)],
    });
    const u = createSocket("udp4");
    const { flowSourceTenants } = await import("../../core/auth/flow-sources.js");
    for (const [cidrs, expected] of [
      [[{ cidr: "10.0.0.0/8", tenant: "far" }], null],
      [[{ cidr: "127.0.0.0/8", tenant: "lab" }], "lab"],
    ] as const) {
      const r = receiverFor(flowSourceTenants(cidrs));
      const port = Number((await r.start()).split(":").pop());
      await new Promise<void>((ok) => u.send(packet, port, "127.0.0.1", () => ok()));
      const heard = async () =>
        tenants.length > 0 ||
        /reason="unauthorized_source"} 1/.test(
          (await registry.getSingleMetricAsString("skald_flows_dropped_total")) ?? "",
        );
      for (let i = 0; i < 100 && !(expected ? tenants.length > 0 : await heard()); i++) {
        await new Promise((res) => setTimeout(res, 20));
      }
      await r.shutdown();
      if (expected === null) {
        expect(await registry.getSingleMetricAsString("skald_flows_dropped_total")).toMatch(
          /receiver="ipfix",reason="unauthorized_source"} 1/,
        );
        expect(tenants).toEqual([]);
      } else {
        expect(tenants).toEqual([expected]);
      }
    }
    u.close();
  });
});
