import type { FastifyInstance, FastifyReply } from "fastify";
import { SkaldError } from "../../core/errors.js";
import { principalOf } from "../auth.js";
import type { QueryModuleDeps } from "../module.js";
import { unifiedLines } from "./diff.js";
import {
  applySelector,
  decode,
  type Expr,
  eddaKeys,
  matchesSelectors,
  parseFieldSelector,
  parseMatrix,
} from "./edda-selectors.js";
import type { ConfigHistoryReader } from "./reader.js";

/**
 * Edda-compatible REST: GET /api/v2/{aws,view,group}/<collection>[/<id>[,<id>…]] (also under
 * /edda/api/v2) with Edda's matrix arguments and field selectors; see the README section
 * "Config history" for what is supported. Times in matrix arguments and in `_meta` are epoch
 * milliseconds. Documents carry Edda's lower-camel-case field names.
 */
const KINDS = new Set(["aws", "view", "group"]);
const MS = 1_000_000n;

interface Rec {
  id: string;
  stime: bigint;
  ltime: bigint | null;
  ctime: bigint;
  data: unknown;
}

class EddaError extends Error {
  constructor(
    readonly status: number,
    readonly statusName: string,
    message: string,
  ) {
    super(message);
  }
}

const bool = (args: Map<string, string | null>, k: string) =>
  args.has(k) && (args.get(k) === null || args.get(k) === "1");
function ms(args: Map<string, string | null>, k: string): bigint | null {
  const v = args.get(k);
  if (v === undefined) return null;
  if (v === null || !/^-?\d{1,16}$/.test(v))
    throw new EddaError(400, "BAD_REQUEST", `${k} must be epoch milliseconds`);
  return BigInt(v) * MS;
}

export function registerEddaRoutes(
  app: FastifyInstance,
  reader: ConfigHistoryReader,
  deps: QueryModuleDeps,
): void {
  for (const prefix of ["/api/v2/", "/edda/api/v2/"]) {
    app.get(`${prefix}*`, async (req, reply) => {
      try {
        const tenant = principalOf(req).tenant;
        const raw = (req.raw.url ?? "").split("?")[0].slice(prefix.length);
        return await handle(reply, reader, tenant, raw, prefix);
      } catch (err) {
        const e =
          err instanceof EddaError
            ? err
            : err instanceof SkaldError && err.kind === "invalid_input"
              ? new EddaError(400, "BAD_REQUEST", err.message)
              : undefined;
        if (!e) {
          deps.logger.warn({ err }, "edda api: request failed");
          return reply
            .status(500)
            .send({ code: 500, name: "INTERNAL_SERVER_ERROR", message: "internal error" });
        }
        return reply.status(e.status).send({ code: e.status, name: e.statusName, message: e.message });
      }
    });
  }
}

async function handle(
  reply: FastifyReply,
  reader: ConfigHistoryReader,
  tenant: string,
  raw: string,
  prefix: string,
) {
  let selector: Expr | undefined;
  let path = raw;
  const sel = raw.indexOf(":(");
  if (sel >= 0) {
    const start = raw[sel - 1] === ":" ? sel - 1 : sel;
    selector = parseFieldSelector(decode(raw.slice(start)));
    path = raw.slice(0, start);
  }
  const [kind, collSeg = "", ...idParts] = path.split("/");
  if (!KINDS.has(kind) || collSeg === "") throw new EddaError(404, "NOT_FOUND", `no such api: ${kind}`);
  const coll = parseMatrix(collSeg);
  const idSeg = idParts.length > 0 ? parseMatrix(idParts.join("/")) : undefined;
  const args = new Map([...coll.args, ...(idSeg?.args ?? [])]);
  const id = idSeg && idSeg.name !== "" ? idSeg.name : null;
  const collName = `${kind}.${coll.name}`;
  if (!(await reader.types(tenant)).includes(coll.name)) {
    throw new EddaError(400, "BAD_REQUEST", `invalid collection: ${collName}${id ? `.${id}` : ""}`);
  }
  const meta = new Map([...args].filter(([k]) => k.startsWith("_")));
  const select = new Map([...args].filter(([k]) => !k.startsWith("_")));
  const at = ms(meta, "_at");
  const since = ms(meta, "_since");
  const until = ms(meta, "_until");
  const isMeta = bool(meta, "_meta");
  const all = bool(meta, "_all") || (id !== null && (meta.has("_since") || meta.has("_until")));
  const diff = meta.has("_diff") ? meta.get("_diff") : undefined;
  const pp = diff !== undefined || bool(meta, "_pp");
  const single = id !== null && !id.includes(",") && !all;
  const limitArg = meta.get("_limit");
  if (limitArg && !/^\d{1,9}$/.test(limitArg))
    throw new EddaError(400, "BAD_REQUEST", "_limit must be an integer");
  const limit = single ? 1 : Number(limitArg ?? 0);
  const expand = id !== null || isMeta || all || bool(meta, "_expand");
  const timeTravelling = all || meta.has("_at") || meta.has("_since");
  const updated = bool(meta, "_updated");
  const callback = meta.get("_callback");
  if (callback && !/^[A-Za-z_$][\w$.]{0,99}$/.test(callback))
    throw new EddaError(400, "BAD_REQUEST", "bad _callback name");

  const ids = id ? id.split(",").filter((x) => x !== "") : null;
  const records = await recordsOf(reader, tenant, coll.name, ids, at ?? until);
  const now = BigInt(Date.now()) * MS;
  let recs = records.filter((r) => {
    if (at !== null) {
      if (!(r.stime <= at && (r.ltime === null || r.ltime > at))) return false;
    } else if (!timeTravelling && r.ltime !== null) return false;
    if (updated) {
      if (r.stime < (since ?? 0n) || r.stime > (until ?? now)) return false;
    } else if (since !== null || until !== null) {
      if (!(r.ltime === null || r.ltime > (since ?? 0n)) || r.stime > (until ?? now)) return false;
    }
    return matchesSelectors(isMeta ? metaOf(r, false) : r.data, select);
  });
  recs.sort((a, b) => (a.stime === b.stime ? a.id.localeCompare(b.id) : a.stime > b.stime ? -1 : 1));
  if (!all) {
    const seen = new Set<string>();
    recs = recs.filter((r) => !seen.has(r.id) && !!seen.add(r.id));
    if (id === null) recs.sort((a, b) => a.id.localeCompare(b.id));
  }
  if (limit > 0) recs = recs.slice(0, limit);

  if (single && recs.length === 0) {
    const ever = records.filter((r) => r.id === id);
    if (!timeTravelling && ever.length > 0) {
      const last = ever.reduce((a, b) => (b.stime > a.stime ? b : a));
      throw new EddaError(
        410,
        "GONE",
        `record "${id}" is no longer valid in collection ${collName}. Use _at, _since or _all arguments to fetch historical records.  Last seen at ${last.stime / MS}`,
      );
    }
    throw new EddaError(404, "NOT_FOUND", `record "${id}" not found in collection ${collName}`);
  }
  if (diff !== undefined && id !== null) {
    if (recs.length < 2)
      throw new EddaError(
        400,
        "BAD_REQUEST",
        `_diff requires at least 2 documents, only ${recs.length} found`,
      );
    const base = `${prefix.replace(/\/$/, "")}/${kind}/${coll.name}`;
    const text = (r: Rec) => JSON.stringify(r.data, null, 2).split("\n");
    let out = "";
    for (let i = 0; i + 1 < recs.length; i++) {
      const [newer, older] = [recs[i], recs[i + 1]];
      const a = text(older);
      const b = text(newer);
      const ctx = diff === null || diff === "" ? Math.max(a.length, b.length) : Number(diff);
      if (!Number.isFinite(ctx) || ctx < 0)
        throw new EddaError(400, "BAD_REQUEST", "_diff must be a number of lines");
      out += unifiedLines(
        a,
        b,
        `${base}/${older.id};_pp;_at=${older.stime / MS}`,
        `${base}/${newer.id};_pp;_at=${newer.stime / MS}`,
        ctx,
      );
    }
    return reply.type("text/plain; charset=utf-8").send(out);
  }
  const shown = (r: Rec) => {
    const root = isMeta ? metaOf(r, pp) : r.data;
    return selector ? applySelector(selector, root) : root;
  };
  let body: unknown;
  if (single) body = shown(recs[0]);
  else body = expand ? recs.map(shown).filter((x) => x !== undefined) : recs.map((r) => r.id);
  const json = pp ? JSON.stringify(body ?? null, null, 2) : JSON.stringify(body ?? null);
  if (callback) return reply.type("application/javascript").send(`${callback}(${json})`);
  return reply.type("application/json; charset=utf-8").send(json);
}

function metaOf(r: Rec, pp: boolean) {
  const t = (ns: bigint | null) =>
    ns === null ? null : pp ? new Date(Number(ns / MS)).toISOString() : Number(ns / MS);
  return {
    id: r.id,
    stime: t(r.stime),
    ltime: t(r.ltime),
    ctime: t(r.ctime),
    mtime: t(r.stime),
    data: r.data,
  };
}

/** Every recorded version as an Edda record: stime = first seen, ltime = when the next version or deletion was seen. */
async function recordsOf(
  reader: ConfigHistoryReader,
  tenant: string,
  type: string,
  ids: string[] | null,
  until: bigint | null,
): Promise<Rec[]> {
  const out: Rec[] = [];
  for (const [id, versions] of await reader.history(tenant, type, ids, until)) {
    const ctime = versions[0]?.at ?? 0n;
    versions.forEach((v, i) => {
      if (v.deleted) return;
      out.push({
        id,
        stime: v.at,
        ltime: versions[i + 1]?.at ?? null,
        ctime,
        data: eddaKeys(JSON.parse(v.doc)),
      });
    });
  }
  return out;
}
