import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";

type Fragments = GraphQLResolveInfo["fragments"];

/** Field name -> every node selecting it (aliases and fragments included), in document order. */
export type SelectedFields = ReadonlyMap<string, readonly FieldNode[]>;

/** What a resolver's info offers about its selection. */
export type Selection = Pick<GraphQLResolveInfo, "fieldNodes" | "fragments">;

type Of = "connection rows" | "object";

// Per field-node list: an executor hands the same list to every call of a field in one document (graphql-jit
// compiles it in; graphql-js memoizes sub-selections per list), so a page of rows walks the selection once.
const memoized = (of: Of) => {
  const cache = new WeakMap<readonly FieldNode[], SelectedFields | null>();
  return (info: Selection): SelectedFields | undefined => {
    let fields = cache.get(info.fieldNodes);
    if (fields === undefined) {
      fields = collectFields(info.fieldNodes, info.fragments, of);
      cache.set(info.fieldNodes, fields);
    }
    return fields ?? undefined;
  };
};

/**
 * The fields selected on a connection's rows, through `nodes { ... }` and `edges { node { ... } }`, fragments
 * included. Directives are ignored, so a field under `@include(if: false)` still counts: a superset is safe to
 * fetch for. Undefined when a fragment cannot be found (read everything then).
 */
export const nodeFieldsSelected = memoized("connection rows");

/** The fields selected directly on an object field's value, fragments included; as `nodeFieldsSelected`. */
export const fieldsSelected = memoized("object");

function collectFields(fieldNodes: readonly FieldNode[], fragments: Fragments, of: Of): SelectedFields | null {
  const fields = new Map<string, FieldNode[]>();
  let readable = true;
  const inFragment = new Set<string>();

  const eachField = (set: SelectionSetNode | undefined, visit: (field: FieldNode) => void) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) visit(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) eachField(selection.selectionSet, visit);
      else {
        const fragment = fragments[selection.name.value];
        if (!fragment) {
          readable = false;
          continue;
        }
        // Validation forbids fragment cycles; this guard only keeps a bad document from recursing forever.
        if (inFragment.has(fragment.name.value)) continue;
        inFragment.add(fragment.name.value);
        eachField(fragment.selectionSet, visit);
        inFragment.delete(fragment.name.value);
      }
    }
  };
  const add = (field: FieldNode) => {
    const nodes = fields.get(field.name.value);
    if (nodes) nodes.push(field);
    else fields.set(field.name.value, [field]);
  };

  for (const node of fieldNodes) {
    if (of === "object") {
      eachField(node.selectionSet, add);
      continue;
    }
    eachField(node.selectionSet, (field) => {
      if (field.name.value === "nodes") eachField(field.selectionSet, add);
      if (field.name.value === "edges") {
        eachField(field.selectionSet, (edgeField) => edgeField.name.value === "node" && eachField(edgeField.selectionSet, add));
      }
    });
  }
  return readable ? fields : null;
}

/**
 * Maps a connection's selected fields to the columns they read, given what each field reads. The answer is
 * undefined (every column) when the selection is unknown or names a field the map does not know: a field
 * added later must never read a column that was left out. Memoized per selection.
 */
export function projection<C extends string>(
  columnsOfField: Readonly<Record<string, readonly C[]>>,
): (info: Selection) => readonly C[] | undefined {
  const memo = new WeakMap<SelectedFields, readonly C[] | null>();
  return (info) => {
    const fields = nodeFieldsSelected(info);
    if (!fields) return undefined;
    let columns = memo.get(fields);
    if (columns === undefined) {
      columns = columnsOf(fields, columnsOfField);
      memo.set(fields, columns);
    }
    return columns ?? undefined;
  };
}

function columnsOf<C extends string>(fields: SelectedFields, columnsOfField: Readonly<Record<string, readonly C[]>>): C[] | null {
  const columns = new Set<C>();
  for (const field of fields.keys()) {
    if (field === "__typename") continue;
    const read = Object.hasOwn(columnsOfField, field) ? columnsOfField[field] : undefined;
    if (!read) return null;
    for (const column of read) columns.add(column);
  }
  return [...columns];
}
