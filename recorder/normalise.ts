import { createHash } from "node:crypto";

/**
 * Normalisation: the same configuration always gives the same bytes, so "unchanged" is a hash
 * comparison. Keys are sorted, `undefined` is dropped, Dates become RFC 3339 text, AWS `Tags`
 * arrays are sorted by Key, volatile paths and suppressed tags are removed.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface NormaliseOptions {
  /** Dotted paths removed from the document before hashing ("State.TransitionReason", "Tags.*"). */
  ignore?: readonly string[];
  /** Tag keys removed from AWS `Tags` arrays and `tags` maps (churny tags). */
  suppressTags?: readonly string[];
}

/** Plain JSON value with every object's keys sorted; Dates to ISO text; undefined and functions dropped. */
export function toJson(value: unknown): Json | undefined {
  if (value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return value.toString();
    case "object": {
      if (Array.isArray(value)) return value.map((v) => toJson(v) ?? null);
      if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
      const out: { [key: string]: Json } = {};
      for (const key of Object.keys(value as object).sort()) {
        if (key === "$metadata") continue;
        const v = toJson((value as Record<string, unknown>)[key]);
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    default:
      return undefined;
  }
}

function removePath(doc: Json, parts: string[]): void {
  if (doc === null || typeof doc !== "object" || parts.length === 0) return;
  const [head, ...rest] = parts;
  if (Array.isArray(doc)) {
    for (const item of doc) removePath(item, parts);
    return;
  }
  if (head === "*") {
    for (const key of Object.keys(doc)) {
      if (rest.length === 0) delete doc[key];
      else removePath(doc[key], rest);
    }
    return;
  }
  if (!(head in doc)) return;
  if (rest.length === 0) delete doc[head];
  else removePath(doc[head], rest);
}

function sortTags(doc: Json, suppress: ReadonlySet<string>): void {
  if (doc === null || typeof doc !== "object") return;
  if (Array.isArray(doc)) {
    for (const item of doc) sortTags(item, suppress);
    return;
  }
  for (const [key, value] of Object.entries(doc)) {
    if (key === "Tags" && Array.isArray(value)) {
      const tags = value.filter(
        (t) => !(t && typeof t === "object" && !Array.isArray(t) && suppress.has(String(t.Key))),
      );
      tags.sort((a, b) => tagKey(a).localeCompare(tagKey(b)));
      doc[key] = tags;
    } else if (key === "tags" && value && typeof value === "object" && !Array.isArray(value)) {
      for (const k of suppress) delete value[k];
    } else {
      sortTags(value, suppress);
    }
  }
}

const tagKey = (t: Json): string =>
  t && typeof t === "object" && !Array.isArray(t) ? `${String(t.Key)}\u0000${String(t.Value)}` : "";

/** The normalised document of a raw API object. */
export function normalise(raw: unknown, opts: NormaliseOptions = {}): Json {
  const doc = toJson(raw) ?? null;
  for (const path of opts.ignore ?? []) removePath(doc, path.split("."));
  sortTags(doc, new Set(opts.suppressTags ?? []));
  return doc;
}

/** Canonical text: JSON.stringify of a normalised document (keys are already sorted). */
export const canonical = (doc: Json): string => JSON.stringify(doc);

/** Content hash of canonical text (SHA-256, hex, first 32 characters). */
export const contentHash = (text: string): string =>
  createHash("sha256").update(text).digest("hex").slice(0, 32);

/** True when the document carries at least one tag (AWS `Tags` array or a `tags` map). */
export function hasTags(doc: Json): boolean {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return false;
  const tags = doc.Tags ?? doc.tags;
  if (Array.isArray(tags)) return tags.length > 0;
  return !!tags && typeof tags === "object" && Object.keys(tags).length > 0;
}

/** Reads a dotted path ("Placement.AvailabilityZone"); arrays are not traversed. */
export function getPath(doc: Json | undefined, path: string): Json | undefined {
  let node: Json | undefined = doc;
  for (const part of path.split(".")) {
    if (node === null || typeof node !== "object" || Array.isArray(node)) return undefined;
    node = node[part];
  }
  return node;
}
