export { createServiceMapModule } from "./module.js";
