/** GraphQL SDL of the packet-flow feature. Byte/packet/flow counts are Float (they exceed Int32). */
export const FLOWS_SDL = /* GraphQL */ `
  "How flow endpoints are grouped: raw IP address, or what held the address at the time (from config history)."
  enum FlowGroup {
    ADDRESS
    INSTANCE
    SERVICE
    ZONE
    REGION
    VPC
  }

  type FlowMatrixRow {
    source: String!
    destination: String!
    bytes: Float!
    packets: Float!
    flows: Float!
  }

  type FlowMatrix {
    groupBy: FlowGroup!
    rows: [FlowMatrixRow!]!
  }

  type FlowTalker {
    name: String!
    "Bytes sent plus received."
    bytes: Float!
    bytesOut: Float!
    bytesIn: Float!
    packets: Float!
    flows: Float!
  }

  type NetworkNode {
    id: String!
    bytesOut: Float!
    bytesIn: Float!
  }

  type NetworkEdge {
    source: String!
    destination: String!
    bytes: Float!
    packets: Float!
    flows: Float!
  }

  "Nodes and edges of observed traffic, shaped like the trace-derived service map."
  type NetworkMap {
    groupBy: FlowGroup!
    nodes: [NetworkNode!]!
    edges: [NetworkEdge!]!
  }

  extend type Query {
    "Traffic between groups of endpoints in [from, to), from per-minute rollups, largest first."
    flowMatrix(from: DateTime!, to: DateTime!, groupBy: FlowGroup!, limit: Int = 1000): FlowMatrix!
    "Endpoints (or groups) by bytes sent plus received."
    topTalkers(from: DateTime!, to: DateTime!, groupBy: FlowGroup = ADDRESS, limit: Int = 20): [FlowTalker!]!
    "flowMatrix rows whose source and destination zone differ."
    interZoneTraffic(from: DateTime!, to: DateTime!, limit: Int = 1000): FlowMatrix!
    "flowMatrix rows whose source and destination region differ (cross-region replication)."
    interRegionTraffic(from: DateTime!, to: DateTime!, limit: Int = 1000): FlowMatrix!
    networkMap(from: DateTime!, to: DateTime!, groupBy: FlowGroup = SERVICE, limit: Int = 1000): NetworkMap!
  }
`;
