import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef } from "react";
import { formatDuration } from "../format.js";
import { barOf, hasChildren, rowsOf, serviceColour, ticks } from "../waterfall.js";
import { Minimap } from "./minimap.js";
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
  /** Spans on the critical path (empty when it is not shown). */
  critical: ReadonlySet<string>;
  /** A waterfall position to bring into view (from "Jump to span"); changes of `seq` repeat it. */
  jump: { position: number; seq: number } | null;
}

/**
 * The waterfall: only the rows in view are in the DOM (react-virtual); rows whose spans are not
 * loaded are placeholders, and the blocks under the view are fetched by offset, so scrolling or
 * jumping anywhere in a 100,000-span trace fetches only what is shown. Keyboard: the list is one
 * tab stop; ↑/↓ move the selection, ←/→ collapse/expand, Home/End jump, PageUp/PageDown.
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
  critical,
  jump,
}: Props) {
  const { at, total, want, locate } = pages;
  const rows = useMemo(() => rowsOf(at, total, collapsed), [at, total, collapsed]);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_H,
    overscan: 20,
  });
  const items = virtual.getVirtualItems();
  const firstRow = items.length ? items[0].index : 0;
  const lastRow = items.length ? items[items.length - 1].index : 0;
  const q = query.trim().toLowerCase();
  const selectedPos = useMemo(
    () => (selected ? at.findIndex((s) => s?.spanId === selected) : -1),
    [at, selected],
  );
  const selectedRow = selectedPos >= 0 ? rows.rowOf(selectedPos) : -1;

  // Fetch the blocks under the view (the first and last row in view, and every block between).
  useEffect(() => {
    if (rows.count === 0) return;
    want(rows.position(firstRow), rows.position(Math.min(lastRow, rows.count - 1)));
  }, [firstRow, lastRow, rows, want]);

  // A selected span that is not loaded (a shared link): ask where it is and scroll there.
  const located = useRef("");
  useEffect(() => {
    if (!selected || selectedPos >= 0 || total === 0 || located.current === selected) return;
    located.current = selected;
    locate(selected).then((pos) => {
      if (pos === null) return;
      const r = rows.rowOf(pos);
      if (r >= 0) virtual.scrollToIndex(r, { align: "center" });
    });
  }, [selected, selectedPos, total, locate, rows, virtual]);

  // "Jump to span": scroll to the position's row; its block is fetched as it comes into view.
  const jumped = useRef(0);
  useEffect(() => {
    if (!jump || jump.seq === jumped.current || rows.count === 0) return;
    jumped.current = jump.seq;
    const r = rows.rowOf(Math.min(Math.max(0, jump.position), total - 1));
    if (r >= 0) virtual.scrollToIndex(r, { align: "center" });
  }, [jump, rows, total, virtual]);

  // A keyboard move to a row not loaded yet selects its span once it arrives.
  const pendingRow = useRef(-1);
  useEffect(() => {
    const r = pendingRow.current;
    if (r < 0 || r >= rows.count) return;
    const s = at[rows.position(r)];
    if (s) {
      pendingRow.current = -1;
      onSelect(s.spanId);
    }
  }, [at, rows, onSelect]);

  const durText = useMemo(() => ticks(Number(durNs), 4), [durNs]);

  const moveTo = (row: number) => {
    if (rows.count === 0) return;
    const r = Math.max(0, Math.min(rows.count - 1, row));
    virtual.scrollToIndex(r, { align: "auto" });
    const s = at[rows.position(r)];
    if (s) {
      pendingRow.current = -1;
      onSelect(s.spanId);
    } else pendingRow.current = r;
  };
  const onKeyDown = (e: React.KeyboardEvent) => {
    const cur = selectedRow;
    const span = selectedPos >= 0 ? at[selectedPos] : undefined;
    if (e.key === "ArrowDown") moveTo(cur + 1);
    else if (e.key === "ArrowUp") moveTo(cur - 1);
    else if (e.key === "Home") moveTo(0);
    else if (e.key === "End") moveTo(rows.count - 1);
    else if (e.key === "PageDown") moveTo(cur + 20);
    else if (e.key === "PageUp") moveTo(Math.max(0, cur - 20));
    else if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && span && hasChildren(span)) {
      const isCollapsed = collapsed.has(span.spanId);
      if ((e.key === "ArrowLeft") !== isCollapsed) onToggle(span.spanId);
    } else return;
    e.preventDefault();
  };

  return (
    <div className="waterfall-wrap">
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
          aria-activedescendant={selectedRow >= 0 ? `row-${selected}` : undefined}
          data-testid="waterfall"
        >
          <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
            {items.map((item) => {
              const style = { transform: `translateY(${item.start}px)`, height: ROW_H };
              const position = rows.position(item.index);
              const s = at[position];
              if (s === undefined) {
                return (
                  <div key={item.key} className="wf-row placeholder" style={style} aria-hidden="true">
                    <div className="wf-name muted">loading span {(position + 1).toLocaleString("en")}…</div>
                  </div>
                );
              }
              const bar = barOf(s, startNs, durNs);
              const parent = hasChildren(s);
              const isCollapsed = collapsed.has(s.spanId);
              const match =
                q !== "" && (s.name.toLowerCase().includes(q) || s.serviceName.toLowerCase().includes(q));
              const onPath = critical.has(s.spanId);
              const dur = BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano);
              const cls = `wf-row${s.spanId === selected ? " selected" : ""}${match ? " match" : ""}${q && !match ? " dim" : ""}${onPath ? " critical" : ""}`;
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
                  aria-posinset={position + 1}
                  data-testid="span-row"
                  data-position={position}
                  data-critical={onPath ? "true" : undefined}
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
                    {onPath && (
                      <span className="cp-mark" title="On the critical path">
                        <span className="sr-only">(critical path)</span>
                      </span>
                    )}
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
      <Minimap
        at={at}
        loaded={pages.loaded}
        rows={rows}
        startNs={startNs}
        durNs={durNs}
        critical={critical}
        firstRow={firstRow}
        lastRow={lastRow}
        onScrollTo={(row) => virtual.scrollToIndex(row, { align: "start" })}
      />
    </div>
  );
}
