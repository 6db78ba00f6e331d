import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";
import type { LogColumn } from "./incident.repository.js";

// IncidentLog fields and the row columns they read; a field not listed reads none (its cursor uses `id`).
const columnsOfField: Readonly<Record<string, readonly LogColumn[]>> = {
  id: ["id"],
  kind: ["kind"],
  message: ["message"],
  author: ["authorId"],
  fromStatus: ["fromStatus"],
  toStatus: ["toStatus"],
  createdAt: ["createdAt"],
  incident: ["incidentId"],
};

/**
 * The columns an `Incident.logs` selection reads from its entries, through `nodes { ... }` and
 * `edges { node { ... } }`, fragments included; undefined (everything) when the selection cannot be read.
 */
export function logColumnsSelected(info: GraphQLResolveInfo): LogColumn[] | undefined {
  const columns = new Set<LogColumn>();
  const seen = new Set<string>();
  let readable = true;

  const fieldsOf = (set: SelectionSetNode | undefined, visit: (name: string, inner?: SelectionSetNode) => void) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) visit(selection.name.value, selection.selectionSet);
      else if (selection.kind === Kind.INLINE_FRAGMENT) fieldsOf(selection.selectionSet, visit);
      else {
        const fragment = info.fragments[selection.name.value];
        if (!fragment || seen.has(fragment.name.value)) {
          readable = readable && Boolean(fragment);
          continue;
        }
        seen.add(fragment.name.value);
        fieldsOf(fragment.selectionSet, visit);
        seen.delete(fragment.name.value);
      }
    }
  };
  const entry = (name: string) => columnsOfField[name]?.forEach((column) => columns.add(column));

  for (const node of info.fieldNodes) {
    fieldsOf(node.selectionSet, (name, inner) => {
      if (name === "nodes") fieldsOf(inner, entry);
      if (name === "edges") fieldsOf(inner, (edgeField, nodeSet) => edgeField === "node" && fieldsOf(nodeSet, entry));
    });
  }
  return readable ? [...columns] : undefined;
}
