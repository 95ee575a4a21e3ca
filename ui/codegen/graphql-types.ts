import {
  type FieldNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  parse,
  SchemaMetaFieldDef,
  type SelectionSetNode,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  typeFromAST,
  validate,
} from "graphql";

/**
 * TypeScript types for the dashboard's GraphQL documents, generated from the server's schema with
 * graphql-js alone: per operation `<Name>Query` (the `data` it returns) and `<Name>Variables`, plus
 * the enums and input types those use. Output is deterministic (documents in the order given,
 * types sorted by name) so a stale file is a plain text difference. Documents must be valid and
 * name their operation; two documents may share a name only if they give the same types.
 */

/** How each scalar arrives in JSON. Custom scalars of this server all travel as strings. */
const SCALARS: Record<string, string> = {
  String: "string",
  ID: "string",
  Boolean: "boolean",
  Int: "number",
  Float: "number",
  DateTime: "string",
  Duration: "string",
  TraceId: "string",
  SpanId: "string",
};

export function generateTypes(schema: GraphQLSchema, documents: Record<string, string>): string {
  const named = new Map<string, string>();
  const operations = new Map<string, string>();
  const wanted = new Set<GraphQLNamedType>();

  const scalar = (name: string) => {
    const ts = SCALARS[name];
    if (!ts) throw new Error(`no TypeScript type for scalar ${name}: add it to SCALARS`);
    return ts;
  };

  /** A named type used by an operation: enums and inputs become declarations of their own. */
  function namedRef(t: GraphQLNamedType): string {
    if (isScalarType(t)) return scalar(t.name);
    wanted.add(t);
    return t.name;
  }

  function inputType(t: GraphQLInputType): string {
    if (isNonNullType(t)) return inputType(t.ofType as GraphQLInputType).replace(/ \| null$/, "");
    if (isListType(t)) return `Array<${inputType(t.ofType as GraphQLInputType)}> | null`;
    return `${namedRef(t as GraphQLNamedType)} | null`;
  }

  function outputType(t: GraphQLOutputType, selection: SelectionSetNode | undefined, indent: string): string {
    if (isNonNullType(t)) return outputType(t.ofType, selection, indent).replace(/ \| null$/, "");
    if (isListType(t)) return `Array<${outputType(t.ofType, selection, indent)}> | null`;
    const n = getNamedType(t);
    if (isObjectType(n) || isInterfaceType(n)) {
      if (!selection) throw new Error(`${n.name} needs a selection`);
      return `${objectType(n, selection, indent)} | null`;
    }
    return `${namedRef(n)} | null`;
  }

  function fieldDef(
    parent: GraphQLNamedType,
    node: FieldNode,
    isRoot: boolean,
  ): GraphQLField<unknown, unknown> {
    const name = node.name.value;
    if (name === "__typename") return TypeNameMetaFieldDef;
    if (isRoot && name === "__schema") return SchemaMetaFieldDef;
    if (isRoot && name === "__type") return TypeMetaFieldDef;
    if (!isObjectType(parent) && !isInterfaceType(parent)) {
      throw new Error(`${parent.name}: only object and interface types can be selected from`);
    }
    const def = parent.getFields()[name];
    if (!def) throw new Error(`${parent.name} has no field ${name}`);
    return def as GraphQLField<unknown, unknown>;
  }

  function objectType(
    parent: GraphQLNamedType,
    set: SelectionSetNode,
    indent: string,
    isRoot = false,
  ): string {
    const inner = `${indent}  `;
    const lines: string[] = [];
    for (const sel of set.selections) {
      if (sel.kind !== Kind.FIELD) throw new Error("fragments are not supported: select fields directly");
      const def = fieldDef(parent, sel, isRoot);
      const key = sel.alias?.value ?? sel.name.value;
      lines.push(`${inner}${key}: ${outputType(def.type, sel.selectionSet, inner)};`);
    }
    return `{\n${lines.join("\n")}\n${indent}}`;
  }

  for (const [key, text] of Object.entries(documents)) {
    const doc = parse(text);
    const errors = validate(schema, doc);
    if (errors.length) throw new Error(`${key}: ${errors.map((e) => e.message).join("; ")}`);
    for (const def of doc.definitions) {
      if (def.kind !== Kind.OPERATION_DEFINITION) throw new Error(`${key}: fragments are not supported`);
      const name = def.name?.value;
      if (!name) throw new Error(`${key}: name the operation`);
      const root = schema.getRootType(def.operation);
      if (!root) throw new Error(`${key}: the schema has no ${def.operation} type`);
      const suffix =
        def.operation === "query" ? "Query" : def.operation === "mutation" ? "Mutation" : "Subscription";
      const vars = (def.variableDefinitions ?? []).map((v) => {
        const t = typeFromAST(schema, v.type) as GraphQLInputType | undefined;
        if (!t) throw new Error(`${key}: unknown variable type`);
        const optional = !isNonNullType(t) || v.defaultValue !== undefined;
        return `  ${v.variable.name.value}${optional ? "?" : ""}: ${inputType(t)};`;
      });
      const out =
        `/** Result of \`${name}\` (${key}). */\n` +
        `export type ${name}${suffix} = ${objectType(root, def.selectionSet, "", true)};\n\n` +
        `export type ${name}Variables = ${vars.length ? `{\n${vars.join("\n")}\n}` : "Record<string, never>"};\n`;
      const prev = operations.get(name);
      if (prev !== undefined && prev.replace(/\(.*\)/, "") !== out.replace(/\(.*\)/, "")) {
        throw new Error(`${key}: operation ${name} is also defined with other types`);
      }
      if (prev === undefined) operations.set(name, out);
    }
  }

  // Enums and input types, following input fields to the types they use.
  const done = new Set<string>();
  while (done.size < wanted.size) {
    for (const t of [...wanted]) {
      if (done.has(t.name)) continue;
      done.add(t.name);
      if (isEnumType(t)) {
        named.set(
          t.name,
          `export type ${t.name} = ${t
            .getValues()
            .map((v) => JSON.stringify(v.name))
            .join(" | ")};\n`,
        );
      } else if (isInputObjectType(t)) {
        const fields = Object.values(t.getFields()).map((f) => {
          const optional = !isNonNullType(f.type) || f.defaultValue !== undefined;
          return `  ${f.name}${optional ? "?" : ""}: ${inputType(f.type)};`;
        });
        named.set(t.name, `export interface ${t.name} {\n${fields.join("\n")}\n}\n`);
      } else {
        throw new Error(`unexpected named type ${t.name}`);
      }
    }
  }

  return [
    "// Generated by `npm run codegen` from the server's schema and ui/src/queries.ts. Do not edit.\n",
    ...[...named.keys()].sort().map((k) => named.get(k)),
    ...operations.values(),
  ].join("\n");
}
