import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** One built file of the dashboard, held in memory with its gzip form. */
interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Where the built dashboard is: `ui/dist` at the package root, found from this module whether it
 * runs from source (query/) or compiled (dist/query/). Null when it has not been built.
 */
export function findUiDist(): string | null {
  for (const up of ["../ui/dist", "../../ui/dist"]) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return null;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const body = readFileSync(path);
        const type = TYPES[extname(name)] ?? "application/octet-stream";
        const compressible = /^(text\/|image\/svg|application\/json)/.test(type) && body.length > 1024;
        assets.set(`/${relative(dir, path).split(sep).join("/")}`, {
          body,
          gzip: compressible ? gzipSync(body) : null,
          type,
        });
      }
    }
  };
  walk(dir);
  return assets;
}

function send(req: FastifyRequest, reply: FastifyReply, asset: Asset, cache: string): FastifyReply {
  reply.header("content-type", asset.type).header("cache-control", cache).header("vary", "accept-encoding");
  const gzipOk = asset.gzip && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  if (gzipOk && asset.gzip) return reply.header("content-encoding", "gzip").send(asset.gzip);
  return reply.send(asset.body);
}

/**
 * Serves the dashboard built in `dir` at `/`: hashed files under /assets/ are cached for a year,
 * index.html never; any other GET that is not an API route and not a file answers index.html, so
 * client-side routes (/trace/<id>, /map, …) load the app. Files are read once, at start.
 */
export function registerUi(app: FastifyInstance, dir: string): void {
  const assets = loadAssets(dir);
  const index = assets.get("/index.html");
  if (!index) throw new Error(`no index.html in ${dir}`);
  const serveIndex = (req: FastifyRequest, reply: FastifyReply) => send(req, reply, index, "no-cache");
  app.get("/", serveIndex);
  app.get("/assets/*", async (req, reply) => {
    const asset = assets.get(req.url.split("?")[0]);
    if (!asset) return reply.status(404).send({ error: "not found" });
    return send(req, reply, asset, "public, max-age=31536000, immutable");
  });
  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split("?")[0];
    const asset = req.method === "GET" || req.method === "HEAD" ? assets.get(path) : undefined;
    if (asset) return send(req, reply, asset, "no-cache");
    if (req.method === "GET" && !extname(path) && /text\/html/.test(String(req.headers.accept ?? ""))) {
      return serveIndex(req, reply);
    }
    return reply.status(404).send({ error: "not found", path });
  });
}
