import { describe, expect, it } from "vitest";
import { parseVpcFormat, parseVpcLines, VPC_DEFAULT_FORMAT } from "./vpc.js";

const V2 = parseVpcFormat(VPC_DEFAULT_FORMAT);

describe("VPC Flow Logs", () => {
  it("version 2 default format, with NODATA and SKIPDATA records counted, not stored", () => {
    const r = parseVpcLines(
      [
        "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
        "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
        "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
        "garbage line",
      ].join("\n"),
      V2,
    );
    expect(r.dropped).toEqual({ vpc_nodata: 1, vpc_skipdata: 1, malformed_line: 1 });
    expect(r.flows).toHaveLength(1);
    expect(r.flows[0]).toMatchObject({
      sourceType: "vpc",
      exporter: "eni-1235b8ca123456789",
      srcAddr: "172.31.16.139",
      dstAddr: "172.31.16.21",
      srcPort: 20641,
      dstPort: 22,
      protocol: 6,
      packets: 20,
      bytes: 4249,
      startMs: 1418530010_000,
      endMs: 1418530070_000,
      extra: { version: "2", "account-id": "123456789010", action: "ACCEPT", "log-status": "OK" },
    });
  });

  it("version 3 custom format with `-` values", () => {
    const fmt = parseVpcFormat(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: AWS's own format syntax, not a template
      "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}",
    );
    const r = parseVpcLines(
      "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 - eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK",
      fmt,
    );
    expect(r.flows[0]).toMatchObject({
      srcAddr: "52.213.180.42",
      dstAddr: "10.0.0.62",
      bytes: 568,
      packets: 8,
      tcpFlags: 2,
    });
    expect(r.flows[0].extra).toMatchObject({
      "vpc-id": "vpc-abcdefab012345678",
      "subnet-id": "subnet-aaaaaaaa012345678",
      type: "IPv4",
      "pkt-srcaddr": "52.213.180.42",
    });
    expect(r.flows[0].extra).not.toHaveProperty("instance-id");
  });

  it("version 4 and 5 fields, and a header line that declares the format", () => {
    const text = [
      "version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end region az-id sublocation-type sublocation-id flow-direction traffic-path pkt-src-aws-service pkt-dst-aws-service",
      "5 eni-01234567890123456 10.0.1.5 52.95.128.179 36163 443 6 14 1433 1611077400 1611077430 us-east-1 use1-az4 - - egress 8 - S3",
      "5 eni-01234567890123456 2001:db8::5 2001:db8::6 1 2 17 1 100 1611077400 1611077430 us-east-1 use1-az4 wavelength wlid04 ingress - - -",
    ].join("\n");
    const r = parseVpcLines(text, V2);
    expect(r.dropped).toEqual({});
    expect(r.flows).toHaveLength(2);
    expect(r.flows[0]).toMatchObject({ direction: 1, bytes: 1433, dstPort: 443 });
    expect(r.flows[0].extra).toMatchObject({
      region: "us-east-1",
      "az-id": "use1-az4",
      "traffic-path": "8",
      "pkt-dst-aws-service": "S3",
    });
    expect(r.flows[1]).toMatchObject({ srcAddr: "2001:db8::5", direction: 0, protocol: 17 });
    expect(r.flows[1].extra).toMatchObject({ "sublocation-type": "wavelength", "sublocation-id": "wlid04" });
  });

  it("rejects a format with a bad field name", () => {
    expect(() => parseVpcFormat("version src;addr")).toThrow(/bad field/);
  });
});
