import { useCallback, useEffect, useRef, useState } from "react";
import { gql } from "../api.js";
import { SPAN_PAGE, SPAN_PAGE_FIRST, type SpanPageResult } from "../queries.js";
import type { WaterfallSpan } from "../waterfall.js";

export interface SpanPages {
  spans: WaterfallSpan[];
  total: number;
  error: string | null;
  loading: boolean;
  /** Fetches the next page unless one is in flight or all are loaded. */
  loadMore(): void;
}

/**
 * The trace's spans, fetched page by page with `spanPage(first, after)` as the user scrolls:
 * the server walks the waterfall order, so the client never holds more than it has shown.
 */
export function useSpanPages(traceId: string): SpanPages {
  const [state, setState] = useState<{
    spans: WaterfallSpan[];
    total: number;
    error: string | null;
    loading: boolean;
  }>({
    spans: [],
    total: 0,
    error: null,
    loading: true,
  });
  const cursor = useRef<string | null>(null);
  const done = useRef(false);
  const inFlight = useRef(false);
  const generation = useRef(0);

  const fetchPage = useCallback(
    (gen: number) => {
      if (inFlight.current || done.current) return;
      inFlight.current = true;
      setState((s) => ({ ...s, loading: true }));
      gql<SpanPageResult>(cursor.current ? SPAN_PAGE : SPAN_PAGE_FIRST, {
        id: traceId,
        after: cursor.current,
      }).then(
        (data) => {
          if (gen !== generation.current) return;
          inFlight.current = false;
          const page = data.trace?.spanPage;
          if (!page) {
            done.current = true;
            setState((s) => ({ ...s, loading: false }));
            return;
          }
          cursor.current = page.pageInfo.endCursor;
          done.current = !page.pageInfo.hasNextPage;
          const nodes = page.edges.map((e) => e.node);
          setState((s) => ({
            spans: s.spans.concat(nodes),
            total: page.totalCount,
            error: null,
            loading: false,
          }));
        },
        (err: unknown) => {
          if (gen !== generation.current) return;
          inFlight.current = false;
          done.current = true;
          setState((s) => ({
            ...s,
            loading: false,
            error: err instanceof Error ? err.message : String(err),
          }));
        },
      );
    },
    [traceId],
  );

  useEffect(() => {
    generation.current++;
    cursor.current = null;
    done.current = false;
    inFlight.current = false;
    setState({ spans: [], total: 0, error: null, loading: true });
    fetchPage(generation.current);
  }, [fetchPage]);

  const loadMore = useCallback(() => fetchPage(generation.current), [fetchPage]);
  return { ...state, loadMore };
}
