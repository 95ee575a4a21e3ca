export { createIngester, type Ingester, type IngesterDeps } from "./ingester.js";
export { flowStream, type IngestStream, spanStream } from "./stream.js";
