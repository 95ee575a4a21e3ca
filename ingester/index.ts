export { createIngester, type Ingester, type IngesterDeps } from "./ingester.js";
