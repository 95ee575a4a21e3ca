import type { Collection } from "./collection.js";
import { getPath, type Json } from "./normalise.js";

export interface HttpSourceConfig {
  name: string;
  url: string;
  itemsPath: string;
  idPath: string;
  intervalSeconds?: number;
  headers: Record<string, string>;
}

/**
 * A generic HTTP JSON source (a service registry such as Eureka): GET `url`, the resources are
 * the array at `itemsPath` (dotted; "" = the body itself), each identified by the value at
 * `idPath`. A non-2xx answer, a body that is not JSON or a missing array fails the crawl (a gap,
 * never deletions). Account = the source name, region "global".
 */
export function createHttpCollection(
  src: HttpSourceConfig,
  defaults: { intervalSeconds: number; ignore: readonly string[]; timeoutMs?: number },
): Collection {
  return {
    name: src.name,
    account: src.name,
    region: "global",
    intervalSeconds: src.intervalSeconds ?? defaults.intervalSeconds,
    ignore: defaults.ignore,
    tagged: false,
    async list(signal) {
      const timeout = AbortSignal.timeout(defaults.timeoutMs ?? 30_000);
      const res = await fetch(src.url, {
        headers: { accept: "application/json", ...src.headers },
        signal: AbortSignal.any([signal, timeout]),
      });
      if (!res.ok) throw new Error(`GET ${src.url} answered ${res.status}`);
      const body = (await res.json()) as Json;
      const items = src.itemsPath === "" ? body : getPath(body, src.itemsPath);
      if (!Array.isArray(items)) throw new Error(`GET ${src.url}: no array at "${src.itemsPath}"`);
      return items;
    },
    idOf: (doc) => {
      const v = getPath(doc, src.idPath);
      return typeof v === "string" || typeof v === "number" ? String(v) : "";
    },
  };
}
