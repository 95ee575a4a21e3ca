export { createOtlpGrpcReceiver, type Receiver, traceServiceDefinition } from "./otlp-grpc.js";
export { createOtlpHttpReceiver } from "./otlp-http.js";
export { exportTraces } from "./trace-export.js";
