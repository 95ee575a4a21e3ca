/**
 * V8 flags every Skald process should run with. They go on node's command line (V8 sizes its heap
 * before any JavaScript runs, and node refuses them in NODE_OPTIONS), so each launcher carries
 * them: bin/skald.js's shebang (`skald`, `npx skald`), `npm start`, the Dockerfile, and the test and
 * bench harnesses that spawn `bin/skald.js`. A unit test checks that they all agree.
 *
 * --initial-old-space-size=128: a collector or ingester allocates about 1 MB of Buffers per
 * request or batch (gRPC message, rows, kafkajs encoding and gzip). Buffers still referenced
 * during a round trip count against V8's old-generation limit until the next full GC. With V8's
 * small starting limit (a few tens of MB above the ~35 MB the process holds), that fell into
 * back-to-back mark-compacts, about 150 in 30 s. It happened in two of three bench:kafka runs
 * and doubled the collector's CPU per span (1.6 against 0.7 CPU-s per 100k). With this flag:
 * none in three runs. It costs at most that much more heap before the first full GC.
 */
export const NODE_FLAGS: readonly string[] = ["--initial-old-space-size=128"];

/** The flags this process was started without (empty when launched as above). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return NODE_FLAGS.filter((f) => !execArgv.includes(f));
}
