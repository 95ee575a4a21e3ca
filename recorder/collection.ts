import type { Json } from "./normalise.js";

/**
 * A collection is one kind of resource in one scope (an AWS account and region, a Kubernetes
 * cluster, an HTTP source). `list()` returns every resource, fully paged, or throws: a collection
 * never returns a partial listing as if it were complete, because the recorder turns absence
 * into deletion markers.
 */
export interface Collection {
  /** Collection name as queried: "instances", "securityGroups", … */
  readonly name: string;
  /** Account (AWS account id, cluster name, source name) and region ("global" when none). */
  readonly account: string;
  readonly region: string;
  /** Seconds between crawls. */
  readonly intervalSeconds: number;
  /** Dotted paths removed before hashing (volatile fields). */
  readonly ignore: readonly string[];
  /** Whether resources of this collection normally carry tags (enables the lost-tags check). */
  readonly tagged: boolean;
  /** Lists every resource. Called by the scheduler only; one call at a time per collection. */
  list(signal: AbortSignal): Promise<unknown[]>;
  /** The resource's id within the collection. */
  idOf(doc: Json): string;
  /** IP addresses the resource holds (for whoHad); none when omitted. */
  ipsOf?(doc: Json): string[];
}

/** Collects every string found at the given dotted paths; `[]` in a path walks each array element. */
export function collectStrings(doc: Json, paths: readonly string[]): string[] {
  const out = new Set<string>();
  const walk = (node: Json | undefined, parts: string[]): void => {
    if (node === undefined || node === null) return;
    if (parts.length === 0) {
      if (typeof node === "string" && node !== "") out.add(node);
      return;
    }
    if (Array.isArray(node)) {
      for (const item of node) walk(item, parts);
      return;
    }
    if (typeof node !== "object") return;
    walk(node[parts[0]], parts.slice(1));
  };
  for (const p of paths) walk(doc, p.split("."));
  return [...out].sort();
}
