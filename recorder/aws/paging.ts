/**
 * Drains an AWS SDK v3 paginator. A service that hands back a token it already gave (a pagination
 * loop) or more than `maxPages` pages makes the listing fail: a listing that stopped early must
 * never be recorded as complete, or the missing resources would be marked deleted.
 */
export async function drain<P, T>(
  pages: AsyncIterable<P>,
  tokenOf: (page: P) => string | undefined,
  itemsOf: (page: P) => T[] | undefined,
  signal: AbortSignal,
  maxPages = 100_000,
): Promise<T[]> {
  const out: T[] = [];
  const seen = new Set<string>();
  let count = 0;
  for await (const page of pages) {
    signal.throwIfAborted();
    out.push(...(itemsOf(page) ?? []));
    const token = tokenOf(page);
    if (token) {
      if (seen.has(token)) throw new Error(`pagination loop: token ${token.slice(0, 40)} repeated`);
      seen.add(token);
    }
    if (++count > maxPages) throw new Error(`pagination did not end after ${maxPages} pages`);
  }
  return out;
}

/** Splits a list into chunks of at most `size` (for APIs taking at most N ids per call). */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
