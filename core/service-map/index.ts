export {
  createServiceMapJob,
  type ServiceMapJob,
  type ServiceMapJobConfig,
  unstagedWindowsSql,
} from "./job.js";
export {
  DURATION_STATE,
  EDGE_AGGREGATES,
  type PairingInputs,
  type PairingRange,
  pairingCensusSql,
  pairingInputsOf,
  pairingSql,
  pairsAnything,
  QUANTILE_LEVELS,
  QUANTILE_RELATIVE_ACCURACY,
  QUANTILES_MERGE,
  SLOW_STATE,
} from "./pairing.js";
export {
  LocalPublications,
  localPublications,
  type PublicationState,
  publicationStateOf,
  publicationStateSql,
  readPublished,
} from "./publication.js";
export { liveRedSql, redRowsSql } from "./red.js";
