import { type GraphQLResolveInfo, Kind, type SelectionSetNode } from "graphql";
import type { SpanColumnGroup } from "../span-record.js";

/** Span fields (at any depth below a trace) and the column group each one shows. */
const FIELD_GROUPS: ReadonlyMap<string, SpanColumnGroup> = new Map([
  ["attributes", "attributes"],
  ["droppedAttributesCount", "attributes"],
  ["resource", "resource"],
  ["events", "events"],
  ["droppedEventsCount", "events"],
  ["links", "links"],
  ["droppedLinksCount", "links"],
  ["status", "status"],
  ["scope", "scope"],
  ["traceState", "state"],
  ["flags", "state"],
]);

/**
 * The span column groups a field's selection can reach, through fragments: a group is read when
 * a field that shows it (`attributes`, `status`, `flags`, ...) appears anywhere below.
 * Over-inclusive on purpose (an event's `attributes` also reads the span's, a link's `flags` the
 * span's trace state): what matters is that a group nobody can see is not read.
 */
export function spanColumnsOf(info: GraphQLResolveInfo): Set<SpanColumnGroup> {
  const groups = new Set<SpanColumnGroup>();
  const seenFragments = new Set<string>();
  const visit = (set: SelectionSetNode | undefined): void => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) {
        const group = FIELD_GROUPS.get(s.name.value);
        if (group) groups.add(group);
        visit(s.selectionSet);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        visit(s.selectionSet);
      } else if (!seenFragments.has(s.name.value)) {
        seenFragments.add(s.name.value);
        visit(info.fragments[s.name.value]?.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet);
  return groups;
}
