export { createConfigHistoryModule } from "./module.js";
export { ConfigHistoryReader } from "./reader.js";
