export { classifyMetric } from "./classify.js";
export { explain, formatP, formatValue } from "./explain.js";
export { hodgesLehmann, type ShiftEstimate } from "./hodges-lehmann.js";
export { judge, verdictOf } from "./judge.js";
export { type MannWhitneyResult, mannWhitneyU } from "./mann-whitney.js";
export { applyNanStrategy, describe as describeSample, removeOutliers } from "./preprocess.js";
export { logNormal, seededRandom } from "./random.js";
export * from "./types.js";
