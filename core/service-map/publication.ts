/**
 * How readers of the service map see each finished window whole or not at all.
 *
 * A map or RED read adds the rollups of the windows the job finished (up to the watermark,
 * max(window_end) of sm_windows) to a live aggregation of what arrived since. The ten-minute and
 * hourly rollups, and the RED ones, keep no window, so a read cannot leave out a window it also
 * aggregates live: if the rollups held part of a window past the watermark, its calls would count
 * twice. The job therefore publishes a window in one short step (job.ts, migrations/0022): it
 * records the window in sm_publishing, inserts its calls (already paired, slice by slice, into
 * sm_edges_stage) and its RED, and records it in sm_windows. A read is taken when, before it, no
 * window was being published (every window in sm_publishing is in sm_windows) and, after it,
 * neither record has moved: then the rollups it read held exactly the windows up to the watermark
 * it read. Otherwise it waits for the publication (a few milliseconds) and reads again. On an
 * embedded store the state comes from memory (LocalPublications).
 */

/** The two records, as milliseconds since the epoch (0 when empty). */
export interface PublicationState {
  /** max(window_end) of sm_windows: the watermark. */
  published: bigint;
  /** max(window_end) of sm_publishing: the newest window whose publication began. */
  publishing: bigint;
}

/** One row: `published` and `publishing` (PublicationState) as decimal strings. */
export const publicationStateSql = (db: string): string =>
  `SELECT toString(toUnixTimestamp64Milli(max(window_end))) AS published,
     (SELECT toString(toUnixTimestamp64Milli(max(window_end))) FROM ${db}.sm_publishing) AS publishing
   FROM ${db}.sm_windows`;

export const publicationStateOf = (
  row: { published?: string; publishing?: string } | undefined,
): PublicationState => ({
  published: BigInt(row?.published || "0"),
  publishing: BigInt(row?.publishing || "0"),
});

/**
 * Publications by the jobs of this process on an embedded store, where they are the only runners
 * (chDB's data directory is open in one process). Readers take the state from here instead of two
 * queries that each wait behind the store's one-at-a-time inserts. Under 8 OTLP clients (about
 * 13,000 spans/s with the reads), serviceMap over 1 h took a mean of 437 ms with the queries
 * against 340 without any check, and 367 from memory against 372 without (two runs of each,
 * alternating). A read that meets a publication still waits for it: p99 844 ms against 558.
 */
export class LocalPublications {
  private epoch = 0n;
  private open = 0;
  /**
   * Whether this process can answer for the store: set by a job's run that ended without error,
   * cleared by a failed publication. A window that an earlier process left in publication (it
   * died there) is published again by the first run (it resumes at the watermark), and a failed
   * one by a later run; until then readers ask the store.
   */
  ready = false;

  /** A window's publication begins (before its record in sm_publishing). */
  begin(): void {
    this.open++;
    this.epoch++;
  }

  /** It ended: recorded in sm_windows, or failed (then `ready` is cleared until a run succeeds). */
  end(): void {
    this.open = Math.max(0, this.open - 1);
    this.epoch++;
  }

  state(): PublicationState {
    return { published: this.epoch - (this.open > 0 ? 1n : 0n), publishing: this.epoch };
  }
}

const locals = new WeakMap<object, LocalPublications>();

/** The tracker of embedded store `store` (made by its first job; readers pass `create` false). */
export function localPublications(store: object, create: boolean): LocalPublications | undefined {
  let tracker = locals.get(store);
  if (!tracker && create) {
    tracker = new LocalPublications();
    locals.set(store, tracker);
  }
  return tracker;
}

/** How long a read waits for a publication to end before it reads what is there. */
export const PUBLICATION_WAIT_MS = 5000;

export interface PublishedReadOptions {
  /** Total wait for publications in progress (default PUBLICATION_WAIT_MS). */
  maxWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Runs `read` until it ran between two identical publication states with no window being
 * published. A window stays in publication only while one runner inserts it; one whose runner
 * died there is published again by the next run (the same dedup tokens). Past `maxWaitMs` the
 * last read is returned as it is, and `onGiveUp` is told.
 */
export async function readPublished<T>(
  state: () => Promise<PublicationState>,
  read: () => Promise<T>,
  onGiveUp: (s: PublicationState) => void = () => {},
  options: PublishedReadOptions = {},
): Promise<T> {
  const maxWaitMs = options.maxWaitMs ?? PUBLICATION_WAIT_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const deadline = now() + maxWaitMs;
  let pause = 5;
  for (;;) {
    const before = await state();
    const quiet = before.publishing <= before.published;
    if (quiet || now() >= deadline) {
      const result = await read();
      const after = await state();
      if (quiet && after.published === before.published && after.publishing === before.publishing)
        return result;
      if (now() >= deadline) {
        onGiveUp(after);
        return result;
      }
    }
    await sleep(pause);
    pause = Math.min(100, pause * 2);
  }
}
