import { type GraphQLResolveInfo, Kind, type SelectionSetNode } from "graphql";
import { SPAN_COLUMN_GROUPS, type SpanColumnGroup } from "../span-record.js";

/**
 * The span column groups a field's selection can reach, through fragments: a group is read when
 * a field of its name (`attributes`, `resource`, `events`, `links`) appears anywhere below.
 * Over-inclusive on purpose (an event's `attributes` also reads the span's): what matters is that
 * a group nobody can see is not read.
 */
export function spanColumnsOf(info: GraphQLResolveInfo): Set<SpanColumnGroup> {
  const groups = new Set<SpanColumnGroup>();
  const names = new Set<string>(SPAN_COLUMN_GROUPS);
  const seenFragments = new Set<string>();
  const visit = (set: SelectionSetNode | undefined): void => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) {
        if (names.has(s.name.value)) groups.add(s.name.value as SpanColumnGroup);
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
