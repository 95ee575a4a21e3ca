import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { gql } from "../api.js";
import { SPAN_PAGE, SPAN_PAGE_FIRST, SPAN_POSITION, waterfallSpan } from "../queries.js";
import { blockRange, blocksFor, type WaterfallSpan } from "../waterfall.js";

export interface SpanPages {
  /** Loaded spans by waterfall position (holes where a block is not loaded). */
  at: ReadonlyArray<WaterfallSpan | undefined>;
  /** The loaded spans in waterfall order. */
  loaded: WaterfallSpan[];
  total: number;
  error: string | null;
  /** A block is being fetched. */
  loading: boolean;
  /** Fetches the blocks holding positions [from, to] that are neither loaded nor on their way. */
  want(from: number, to: number): void;
  /** The waterfall position of a span (asking the server when it is not loaded), or null. */
  locate(spanId: string): Promise<number | null>;
}

/** Blocks fetched at once; a jump's blocks go first, older wishes wait. */
const PARALLEL = 2;

/**
 * The trace's spans in blocks fetched by offset (`spanPage(first, offset)`) as the view needs
 * them: opening a trace fetches the first block, jumping to row N fetches only the block(s) that
 * show N, never the pages before it.
 */
export function useSpanPages(traceId: string): SpanPages {
  const blocks = useRef(new Map<number, WaterfallSpan[]>());
  const inFlight = useRef(new Set<number>());
  const wanted = useRef<number[]>([]);
  const totalRef = useRef(0);
  const generation = useRef(0);
  const [version, setVersion] = useState(0);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  const pump = useCallback(() => {
    const gen = generation.current;
    while (inFlight.current.size < PARALLEL) {
      const next = wanted.current.find((b) => !blocks.current.has(b) && !inFlight.current.has(b));
      if (next === undefined) break;
      inFlight.current.add(next);
      const [offset] = blockRange(next);
      gql(next === 0 ? SPAN_PAGE_FIRST : SPAN_PAGE, { id: traceId, offset }).then(
        (data) => {
          if (gen !== generation.current) return;
          inFlight.current.delete(next);
          const page = data.trace?.spanPage;
          if (page) {
            // Spans that arrived meanwhile shift positions: start over from this block.
            if (totalRef.current && page.totalCount !== totalRef.current) blocks.current.clear();
            totalRef.current = page.totalCount;
            blocks.current.set(
              next,
              page.edges.map((e) => waterfallSpan(e.node)),
            );
            setTotal(page.totalCount);
            setError(null);
          } else blocks.current.set(next, []);
          setVersion((v) => v + 1);
          setLoading(inFlight.current.size > 0);
          pump();
        },
        (err: unknown) => {
          if (gen !== generation.current) return;
          inFlight.current.delete(next);
          wanted.current = wanted.current.filter((b) => b !== next);
          setError(err instanceof Error ? err.message : String(err));
          setLoading(inFlight.current.size > 0);
        },
      );
      setLoading(true);
    }
  }, [traceId]);

  useEffect(() => {
    generation.current++;
    blocks.current = new Map();
    inFlight.current = new Set();
    wanted.current = [0];
    totalRef.current = 0;
    setTotal(0);
    setError(null);
    setVersion((v) => v + 1);
    pump();
  }, [pump]);

  const want = useCallback(
    (from: number, to: number) => {
      if (totalRef.current === 0) return;
      const need = blocksFor(from, to, totalRef.current).filter((b) => !blocks.current.has(b));
      if (need.length === 0) return;
      // The newest wish first: what the user looks at now beats what they scrolled past.
      wanted.current = [...need, ...wanted.current.filter((b) => !need.includes(b))].slice(0, 8);
      pump();
    },
    [pump],
  );

  const locate = useCallback(
    async (spanId: string) => {
      for (const [b, list] of blocks.current) {
        const i = list.findIndex((x) => x.spanId === spanId);
        if (i >= 0) return blockRange(b)[0] + i;
      }
      const data = await gql(SPAN_POSITION, { id: traceId, span: spanId });
      const pos = data.trace?.spanPosition ?? null;
      if (pos !== null) want(pos, pos);
      return pos;
    },
    [traceId, want],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` marks a change in the blocks ref.
  const { at, loaded } = useMemo(() => {
    const arr: Array<WaterfallSpan | undefined> = new Array(total);
    const list: WaterfallSpan[] = [];
    for (const b of [...blocks.current.keys()].sort((x, y) => x - y)) {
      const [start] = blockRange(b);
      const spans = blocks.current.get(b) ?? [];
      for (let i = 0; i < spans.length && start + i < total; i++) {
        arr[start + i] = spans[i];
        list.push(spans[i]);
      }
    }
    return { at: arr, loaded: list };
  }, [version, total]);

  return { at, loaded, total, error, loading, want, locate };
}
