/**
 * Differences between two versions: RFC 6902 JSON Patch (add/remove/replace; arrays compared
 * element by element by index) and a readable side-by-side of the pretty-printed documents.
 */
export interface PatchOp {
  op: "add" | "remove" | "replace";
  path: string;
  value?: unknown;
}

const pointerEscape = (key: string) => key.replaceAll("~", "~0").replaceAll("/", "~1");
const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

export function jsonPatch(from: unknown, to: unknown, path = ""): PatchOp[] {
  if (JSON.stringify(from) === JSON.stringify(to)) return [];
  if (isObj(from) && isObj(to)) {
    const ops: PatchOp[] = [];
    for (const k of Object.keys(from))
      if (!(k in to)) ops.push({ op: "remove", path: `${path}/${pointerEscape(k)}` });
    for (const k of Object.keys(to)) {
      const p = `${path}/${pointerEscape(k)}`;
      if (!(k in from)) ops.push({ op: "add", path: p, value: to[k] });
      else ops.push(...jsonPatch(from[k], to[k], p));
    }
    return ops;
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    const ops: PatchOp[] = [];
    const common = Math.min(from.length, to.length);
    for (let i = 0; i < common; i++) ops.push(...jsonPatch(from[i], to[i], `${path}/${i}`));
    // removals from the end first, so indexes stay valid when the patch is applied in order
    for (let i = from.length - 1; i >= common; i--) ops.push({ op: "remove", path: `${path}/${i}` });
    for (let i = common; i < to.length; i++) ops.push({ op: "add", path: `${path}/-`, value: to[i] });
    return ops;
  }
  return [{ op: "replace", path, value: to }];
}

export interface SideBySideLine {
  left: string | null;
  right: string | null;
  change: "same" | "removed" | "added" | "changed";
}

/** Line diff (LCS) of the pretty-printed documents, paired side by side. */
export function sideBySide(from: unknown, to: unknown): SideBySideLine[] {
  return sideBySideLines(pretty(from), pretty(to));
}

function sideBySideLines(a: string[], b: string[]): SideBySideLine[] {
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) {
    return [
      ...a.map((l) => ({ left: l, right: null, change: "removed" as const })),
      ...b.map((l) => ({ left: null, right: l, change: "added" as const })),
    ];
  }
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out: SideBySideLine[] = [];
  let i = 0;
  let j = 0;
  const removed: string[] = [];
  const added: string[] = [];
  const flush = () => {
    const k = Math.max(removed.length, added.length);
    for (let x = 0; x < k; x++) {
      const l = removed[x] ?? null;
      const r = added[x] ?? null;
      out.push({
        left: l,
        right: r,
        change: l !== null && r !== null ? "changed" : l !== null ? "removed" : "added",
      });
    }
    removed.length = 0;
    added.length = 0;
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      flush();
      out.push({ left: a[i], right: b[j], change: "same" });
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) added.push(b[j++]);
    else removed.push(a[i++]);
  }
  flush();
  return out;
}

/** Unified diff text with @@ hunk headers (as `diff -u` and Edda's `_diff=N` print). */
export function unifiedDiff(from: unknown, to: unknown, nameA: string, nameB: string, context = 3): string {
  return unifiedLines(pretty(from), pretty(to), nameA, nameB, context);
}

const pretty = (v: unknown): string[] => (v === undefined ? [] : JSON.stringify(v, null, 2).split("\n"));

/** Unified diff of two line lists; `context` lines around each change (Infinity = whole file). */
export function unifiedLines(
  a: string[],
  b: string[],
  nameA: string,
  nameB: string,
  context: number,
): string {
  // edit script: [' ', line] | ['-', line] | ['+', line], with old/new line numbers
  const script: Array<{ op: " " | "-" | "+"; text: string }> = [];
  for (const l of sideBySideLines(a, b)) {
    if (l.change === "same") script.push({ op: " ", text: l.left as string });
    else {
      if (l.left !== null) script.push({ op: "-", text: l.left });
      if (l.right !== null) script.push({ op: "+", text: l.right });
    }
  }
  // sideBySide pairs removed/added lines; a unified diff lists removals before additions per block
  for (let i = 0; i < script.length; ) {
    let j = i;
    while (j < script.length && script[j].op !== " ") j++;
    if (j > i) {
      const block = script.slice(i, j);
      script.splice(i, j - i, ...block.filter((x) => x.op === "-"), ...block.filter((x) => x.op === "+"));
    }
    i = j + 1;
  }
  const out = [`--- ${nameA}`, `+++ ${nameB}`];
  const changed = script.map((x, i) => (x.op !== " " ? i : -1)).filter((i) => i >= 0);
  if (changed.length === 0) return `${out.join("\n")}\n`;
  const ctx = Number.isFinite(context) ? Math.max(0, context) : script.length;
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, changed[k] - ctx);
    let end = Math.min(script.length - 1, changed[k] + ctx);
    while (k + 1 < changed.length && changed[k + 1] - ctx <= end + 1) {
      k++;
      end = Math.min(script.length - 1, changed[k] + ctx);
    }
    k++;
    let oldStart = 1;
    let newStart = 1;
    for (let i = 0; i < start; i++) {
      if (script[i].op !== "+") oldStart++;
      if (script[i].op !== "-") newStart++;
    }
    const hunk = script.slice(start, end + 1);
    const oldLen = hunk.filter((x) => x.op !== "+").length;
    const newLen = hunk.filter((x) => x.op !== "-").length;
    out.push(
      `@@ -${oldLen === 0 ? oldStart - 1 : oldStart},${oldLen} +${newLen === 0 ? newStart - 1 : newStart},${newLen} @@`,
    );
    for (const x of hunk) out.push(`${x.op}${x.text}`);
  }
  return `${out.join("\n")}\n`;
}
