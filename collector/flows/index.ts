export { createFlowReceivers, type FlowPipeline, startFlowPipeline } from "./receivers.js";
export { createFlowUdpReceiver, type FlowUdpDeps } from "./udp-receiver.js";
export { createVpcHttpReceiver } from "./vpc-http.js";
