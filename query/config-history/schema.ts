/** GraphQL SDL of config history. Types are collection names ("instances", "securityGroups", …). */
export const configHistoryTypeDefs = /* GraphQL */ `
  "Any JSON value (a recorded configuration document, a JSON Patch)."
  scalar ConfigJSON

  "A resource as recorded at a time."
  type ConfigResource {
    type: String!
    id: String!
    account: String!
    region: String!
    "When the version shown was recorded."
    since: DateTime!
    "Normalised document (keys sorted, volatile fields removed)."
    doc: ConfigJSON
  }

  type IpHolder {
    "Collection of the holder: instances, networkInterfaces, loadBalancers, …"
    type: String!
    id: String!
    account: String!
    region: String!
    "When the holder was first recorded holding the address."
    since: DateTime!
  }

  type ConfigVersion {
    "First seen."
    at: DateTime!
    "End of this version (the next version's time), null while current."
    until: DateTime
    hash: String!
    deleted: Boolean!
    account: String!
    region: String!
    doc: ConfigJSON
  }

  type ConfigDiffLine {
    left: String
    right: String
    "same, removed, added or changed"
    change: String!
  }

  type ConfigDiff {
    from: DateTime
    to: DateTime
    "RFC 6902 JSON Patch turning the 'from' document into the 'to' document."
    patch: ConfigJSON!
    sideBySide: [ConfigDiffLine!]!
    unified: String!
  }

  type ConfigResourceHistory {
    type: String!
    id: String!
    versions: [ConfigVersion!]!
    "The version current at t (null if the resource did not exist then)."
    at(t: DateTime!): ConfigVersion
    "Diff between the versions current at 'from' and 'to'; default: the last two versions."
    diff(from: DateTime, to: DateTime): ConfigDiff
  }

  type ConfigChange {
    type: String!
    id: String!
    account: String!
    region: String!
    at: DateTime!
    "created, modified or deleted"
    kind: String!
    hash: String!
    doc: ConfigJSON
  }

  type ConfigCrawl {
    type: String!
    account: String!
    region: String!
    startedAt: DateTime!
    finishedAt: DateTime!
    "success, failed, partial or discarded (the last three are gaps)"
    status: String!
    resources: Int!
    changes: Int!
    error: String!
  }

  type ConfigCoverage {
    type: String!
    account: String!
    region: String!
    lastSuccess: DateTime
    lastCrawl: ConfigCrawl!
    "Crawls that recorded nothing reliable (failed, partial, discarded), newest first."
    gaps: [ConfigCrawl!]!
  }

  "A condition on a JSON path (dotted; arrays along the path match if any element matches)."
  input ConfigFilter {
    path: String!
    eq: ConfigJSON
    ne: ConfigJSON
    "JavaScript regex, at most 200 characters, no nested quantifiers."
    regex: String
    gt: Float
    gte: Float
    lt: Float
    lte: Float
    "The value at path is an array containing this element."
    contains: ConfigJSON
    exists: Boolean
    "Conditions that must all hold on one element of the array at path."
    elem: [ConfigFilter!]
  }

  extend type Query {
    "Resources of a collection live at 'at' (default now), optionally filtered."
    resources(type: String!, at: DateTime, filter: [ConfigFilter!], limit: Int): [ConfigResource!]!
    "One resource's history."
    resource(type: String!, id: String!): ConfigResourceHistory
    "Which instance, interface or load balancer held an IP at a time."
    whoHad(ip: String!, at: DateTime!): [IpHolder!]!
    "Versions and deletions recorded in [since, until), oldest first."
    changes(since: DateTime!, until: DateTime, types: [String!]): [ConfigChange!]!
    "Everything recorded as live at 'at' (default now), for audits."
    snapshot(at: DateTime, types: [String!]): [ConfigResource!]!
    "Crawl coverage per collection: last success and gaps."
    coverage(types: [String!], since: DateTime, until: DateTime): [ConfigCoverage!]!
  }

  type Subscription {
    "Changes as they are recorded (polled from the store every second)."
    configChanges(types: [String!]): ConfigChange!
  }
`;
