import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef } from "react";
import { formatDuration } from "../format.js";
import { barOf, hasChildren, needsMore, rowCount, serviceColour, ticks, visibleRows } from "../waterfall.js";
import type { SpanPages } from "./use-span-pages.js";

const ROW_H = 24;

interface Props {
  pages: SpanPages;
  startNs: bigint;
  durNs: bigint;
  collapsed: ReadonlySet<string>;
  onToggle(spanId: string): void;
  selected: string;
  onSelect(spanId: string): void;
  query: string;
}

/**
 * The waterfall: only the rows in view are in the DOM (react-virtual); rows past the loaded spans
 * are placeholders, and scrolling near them fetches the next page. Keyboard: the list is one tab
 * stop; ↑/↓ move the selection, ←/→ collapse/expand, Home/End jump.
 */
export function WaterfallView({
  pages,
  startNs,
  durNs,
  collapsed,
  onToggle,
  selected,
  onSelect,
  query,
}: Props) {
  const { spans, total } = pages;
  const rows = useMemo(() => visibleRows(spans, collapsed), [spans, collapsed]);
  const count = rowCount(rows.length, spans.length, total);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_H,
    overscan: 20,
  });
  const items = virtual.getVirtualItems();
  const last = items.length ? items[items.length - 1].index : 0;
  const q = query.trim().toLowerCase();
  const selectedRow = useMemo(
    () => rows.findIndex((i) => spans[i].spanId === selected),
    [rows, spans, selected],
  );
  const { loadMore } = pages;
  // Fetch the next page when the view nears the loaded rows, or a selected span is not loaded yet.
  useEffect(() => {
    if (
      needsMore(last, rows.length, spans.length, total) ||
      (selected && selectedRow < 0 && spans.length < total)
    )
      loadMore();
  }, [last, rows.length, spans.length, total, selected, selectedRow, loadMore]);
  const durText = useMemo(() => ticks(Number(durNs), 4), [durNs]);

  const moveTo = (row: number) => {
    const r = Math.max(0, Math.min(rows.length - 1, row));
    if (rows[r] === undefined) return;
    onSelect(spans[rows[r]].spanId);
    virtual.scrollToIndex(r, { align: "auto" });
  };
  const onKeyDown = (e: React.KeyboardEvent) => {
    const cur = selectedRow < 0 ? -1 : selectedRow;
    const idx = cur >= 0 ? rows[cur] : -1;
    if (e.key === "ArrowDown") moveTo(cur + 1);
    else if (e.key === "ArrowUp") moveTo(cur - 1);
    else if (e.key === "Home") moveTo(0);
    else if (e.key === "End") moveTo(rows.length - 1);
    else if (e.key === "PageDown") moveTo(cur + 20);
    else if (e.key === "PageUp") moveTo(cur - 20);
    else if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && idx >= 0 && hasChildren(spans, idx)) {
      const isCollapsed = collapsed.has(spans[idx].spanId);
      if ((e.key === "ArrowLeft") !== isCollapsed) onToggle(spans[idx].spanId);
    } else return;
    e.preventDefault();
  };

  return (
    <div className="waterfall">
      <div className="wf-axis" aria-hidden="true">
        <div className="wf-name">Service · operation</div>
        <div className="wf-timeline">
          {durText.map((t) => (
            <span key={t.at} style={{ left: `${t.at * 100}%` }}>
              {formatDuration(t.ns)}
            </span>
          ))}
        </div>
      </div>
      <div
        ref={scroller}
        className="wf-scroll"
        role="tree"
        aria-label="Spans"
        tabIndex={0}
        onKeyDown={onKeyDown}
        aria-activedescendant={selectedRow >= 0 ? `row-${spans[rows[selectedRow]].spanId}` : undefined}
        data-testid="waterfall"
      >
        <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
          {items.map((item) => {
            const style = { transform: `translateY(${item.start}px)`, height: ROW_H };
            const i = rows[item.index];
            if (i === undefined) {
              return (
                <div key={item.key} className="wf-row placeholder" style={style} aria-hidden="true">
                  <div className="wf-name muted">loading…</div>
                </div>
              );
            }
            const s = spans[i];
            const bar = barOf(s, startNs, durNs);
            const parent = hasChildren(spans, i);
            const isCollapsed = collapsed.has(s.spanId);
            const match =
              q !== "" && (s.name.toLowerCase().includes(q) || s.serviceName.toLowerCase().includes(q));
            const dur = BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano);
            const cls = `wf-row${s.spanId === selected ? " selected" : ""}${match ? " match" : ""}${q && !match ? " dim" : ""}`;
            return (
              // biome-ignore lint/a11y/useFocusableInteractive: focus stays on the tree (aria-activedescendant).
              <div
                key={item.key}
                id={`row-${s.spanId}`}
                className={cls}
                style={style}
                role="treeitem"
                aria-level={s.depth + 1}
                aria-expanded={parent ? !isCollapsed : undefined}
                aria-selected={s.spanId === selected}
                data-testid="span-row"
                onClick={() => onSelect(s.spanId)}
                onKeyDown={undefined}
              >
                <div className="wf-name" style={{ paddingLeft: 4 + Math.min(s.depth, 40) * 12 }}>
                  {parent ? (
                    <button
                      type="button"
                      className="twisty"
                      tabIndex={-1}
                      aria-label={isCollapsed ? "Expand" : "Collapse"}
                      onClick={(e) => {
                        e.stopPropagation();
                        onToggle(s.spanId);
                      }}
                    >
                      {isCollapsed ? "▸" : "▾"}
                    </button>
                  ) : (
                    <span className="twisty" />
                  )}
                  <span className="lane-dot" style={{ background: serviceColour(s.serviceName) }} />
                  <span className="svc">{s.serviceName}</span> <span className="op">{s.name}</span>
                </div>
                <div className="wf-timeline">
                  <div
                    className={s.status.code === "ERROR" ? "bar error-bar" : "bar"}
                    style={{
                      left: `${bar.left * 100}%`,
                      width: `${bar.width * 100}%`,
                      background: s.status.code === "ERROR" ? undefined : serviceColour(s.serviceName),
                    }}
                  />
                  <span
                    className="bar-label"
                    style={{ left: `${Math.min(bar.left + bar.width, 0.9) * 100}%` }}
                  >
                    {formatDuration(dur)}
                  </span>
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
