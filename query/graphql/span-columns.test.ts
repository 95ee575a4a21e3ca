import { type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, Kind, parse } from "graphql";
import { describe, expect, it } from "vitest";
import { spanColumnsOf } from "./span-columns.js";

/** The resolve info of the root `trace` field of `query`, as far as spanColumnsOf reads it. */
function infoOf(query: string): GraphQLResolveInfo {
  const doc = parse(query);
  const fragments: Record<string, FragmentDefinitionNode> = {};
  let field: FieldNode | undefined;
  for (const d of doc.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
    if (d.kind === Kind.OPERATION_DEFINITION)
      field = d.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD);
  }
  return { fieldNodes: [field as FieldNode], fragments } as unknown as GraphQLResolveInfo;
}

describe("span columns a trace selection can show", () => {
  it("none beyond the core for ids, names and times", () => {
    expect(spanColumnsOf(infoOf(`{ trace(id: "a") { spans { spanId name startTime duration } } }`))).toEqual(
      new Set(),
    );
  });

  it("each group whose field appears, at any depth, through inline and named fragments", () => {
    const groups = spanColumnsOf(
      infoOf(`{ trace(id: "a") { rootSpan { attributes { key } } spanPage { edges { node { ...F } } } } }
        fragment F on Span { ... on Span { events { name } } ...G }
        fragment G on Span { resource { serviceName } ...F }`),
    );
    expect(groups).toEqual(new Set(["attributes", "events", "resource"]));
  });

  it("the group of each field that shows one: dropped counts, status, scope, trace state and flags", () => {
    const of = (fields: string) => spanColumnsOf(infoOf(`{ trace(id: "a") { spans { spanId ${fields} } } }`));
    expect(of("droppedAttributesCount")).toEqual(new Set(["attributes"]));
    expect(of("droppedEventsCount droppedLinksCount")).toEqual(new Set(["events", "links"]));
    expect(of("status { code }")).toEqual(new Set(["status"]));
    expect(of("scope { name }")).toEqual(new Set(["scope"]));
    expect(of("traceState")).toEqual(new Set(["state"]));
    expect(of("flags")).toEqual(new Set(["state"]));
    expect(of("traceId kind serviceName depth descendantCount")).toEqual(new Set());
  });
});
