/**
 * Test support: decodeTracesProto that also checks the transcoder against it on the same bytes.
 * The decoder's tests (hand-built edge cases, the OpenTelemetry SDK round trip, every truncation
 * and thousands of random mutations) import this instead of the decoder, so every input they
 * try is also a transcoder test: both refuse it, or both accept it with the same rejects and the
 * transcoder's rows are exactly the encoder's rows of the decoded spans.
 */
import { expect } from "vitest";
import type { DecodedTraces } from "../model/span.js";
import { encodeSpansRowBinary } from "../store/span-row-binary.js";
import { decodeTracesProto as decodeOnly } from "./decode-traces-proto.js";
import { OtlpDecodeError } from "./errors.js";
import { transcodeTracesProto } from "./transcode-traces-proto.js";

const TENANT = "tenant-ü";

export function decodeTracesProto(buf: Uint8Array): DecodedTraces {
  let decoded: DecodedTraces | undefined;
  let decodeError: unknown;
  try {
    decoded = decodeOnly(buf);
  } catch (err) {
    decodeError = err;
  }
  let transcoded: ReturnType<typeof transcodeTracesProto> | undefined;
  let transcodeError: unknown;
  try {
    transcoded = transcodeTracesProto(buf, TENANT);
  } catch (err) {
    transcodeError = err;
  }
  if (decoded === undefined) {
    expect(transcodeError, "the transcoder accepted what the decoder refuses").toBeInstanceOf(
      OtlpDecodeError,
    );
    throw decodeError;
  }
  expect(transcodeError, "the transcoder refused what the decoder accepts").toBeUndefined();
  const t = transcoded as NonNullable<typeof transcoded>;
  expect(t.rejected).toBe(decoded.rejected);
  expect(t.rejectReason).toBe(decoded.rejectReason);
  expect(t.rows.count).toBe(decoded.spans.length);
  const want = encodeSpansRowBinary(TENANT, decoded.spans);
  if (!t.rows.body.equals(want)) {
    // the first differing byte, for the failure message
    let i = 0;
    while (i < want.length && t.rows.body[i] === want[i]) i++;
    expect.fail(`transcoded rows differ from the encoder's at byte ${i} of ${want.length}`);
  }
  expect(t.rows.rowStarts[0]).toBe(0);
  expect(t.rows.rowStarts[t.rows.count]).toBe(want.length);
  decoded.spans.forEach((span, i) => {
    const { rowStarts, traceAt, body } = t.rows;
    expect(rowStarts[i + 1] - rowStarts[i]).toBe(encodeSpansRowBinary(TENANT, [span]).length);
    expect(body.toString("latin1", traceAt[i], traceAt[i] + 32)).toBe(span.traceId);
  });
  return decoded;
}
