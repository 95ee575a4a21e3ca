export { createServiceMapJob, type ServiceMapJob, type ServiceMapJobConfig } from "./job.js";
export {
  DURATION_STATE,
  EDGE_AGGREGATES,
  type PairingRange,
  pairingSql,
  QUANTILE_LEVELS,
  QUANTILE_RELATIVE_ACCURACY,
  QUANTILES_MERGE,
  QUANTILES_STATE,
  SLOW_STATE,
} from "./pairing.js";
export { RED_COLUMNS, type RedRange, redRowsSql, redSql, watermarkSql } from "./red.js";
