import type { DecodedMessage } from "../core/kafka/format.js";

/** One consumed message, decoded (or with the reason it cannot be). */
export interface Entry {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  decoded: DecodedMessage;
  /** Bytes held in memory for it. */
  bytes: number;
}

/** Contiguous offsets of one partition, written (and committed) as a unit. */
export interface Batch {
  partition: number;
  /** First offset of the range: the committed offset before it (the planned first offset on a replay). */
  first: number;
  /** Last offset of the range, inclusive. */
  end: number;
  entries: Entry[];
  rows: number;
  bytes: number;
  /** Cut at a plan recorded by an earlier owner: the plan is already committed. */
  replay: boolean;
  /** Its plan is recorded as the committed offset's metadata. */
  planCommitted: boolean;
}

export function newBatch(partition: number, first: number): Batch {
  return {
    partition,
    first,
    end: first - 1,
    entries: [],
    rows: 0,
    bytes: 0,
    replay: false,
    planCommitted: false,
  };
}
