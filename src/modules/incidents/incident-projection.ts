import {
  getArgumentValues,
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  type FieldNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
} from "graphql";
import { nodeFieldsSelected, projection } from "../../graphql/selected-fields.js";
import type { IncidentColumn, LogColumn } from "./incident.repository.js";
import type { IncidentPageReads, TimelineReads } from "./incident.service.js";

// What each GraphQL field of a row reads from it. A page fetches only the columns its selection needs: long
// descriptions and messages nobody asked for were most of what building the rows cost.

/** Incident fields and the columns they read; `logs` reads only the id, which every row carries anyway. */
export const incidentColumnsSelected = projection<IncidentColumn>({
  id: ["id"],
  title: ["title"],
  description: ["description"],
  status: ["status"],
  priority: ["priority"],
  version: ["version"],
  createdAt: ["createdAt"],
  updatedAt: ["updatedAt"],
  acknowledgedAt: ["acknowledgedAt"],
  resolvedAt: ["resolvedAt"],
  closedAt: ["closedAt"],
  reporter: ["reporterId"],
  assignee: ["assigneeId"],
  allowedTransitions: ["status"],
  logs: ["id"],
  service: ["serviceId"],
  labels: ["id"],
  alerts: ["id"],
  template: ["title", "createdAt", "serviceId"],
  outlier: ["title", "createdAt", "serviceId"],
  mergedInto: ["mergedIntoId"],
});

/** IncidentLog fields and the columns they read. */
export const logColumnsSelected = projection<LogColumn>({
  id: ["id"],
  kind: ["kind"],
  message: ["message"],
  author: ["authorId"],
  fromStatus: ["fromStatus"],
  toStatus: ["toStatus"],
  createdAt: ["createdAt"],
  incident: ["incidentId"],
});

/**
 * What a page's selection reads of its rows, in the service's terms: the columns, whether reporters and assignees
 * are read, and the timeline selection when every row selects the same one. The page then loads timelines and
 * users for all its rows at once, and the row fields resolve without a promise or a loader call each.
 */
export function incidentPageReads(info: GraphQLResolveInfo): IncidentPageReads {
  const fields = nodeFieldsSelected(info);
  const columns = incidentColumnsSelected(info);
  if (!fields) return { columns };
  // The same array while nothing is skipped: selections are memoized per array.
  const included = (name: string) => {
    const nodes = fields.get(name) ?? [];
    const kept = (node: FieldNode) => isIncluded(node, info.variableValues);
    return nodes.every(kept) ? nodes : nodes.filter(kept);
  };
  return {
    columns,
    reporters: included("reporter").length > 0,
    assignees: included("assignee").length > 0,
    logs: timelineReads(info, included("logs")),
  };
}

/**
 * False when the field's own @skip or @include leaves it out for these variables, so that the page does not load
 * for it. Directives on enclosing fragments are not looked at: loading for a field left out that way only wastes.
 */
function isIncluded(node: FieldNode, variables: GraphQLResolveInfo["variableValues"]): boolean {
  try {
    const skip = getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true;
    const include = getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
    return !skip && include;
  } catch {
    return true;
  }
}

function timelineReads(info: GraphQLResolveInfo, logsNodes: readonly FieldNode[]): TimelineReads | undefined {
  if (logsNodes.length === 0) return undefined;
  const definition = (info.schema.getType("Incident") as GraphQLObjectType).getFields().logs!;
  let args: { first?: number | null; after?: string | null } | undefined;
  try {
    for (const node of logsNodes) {
      const values = getArgumentValues(definition, node, info.variableValues) as typeof args & object;
      if (args && (args.first !== values.first || args.after !== values.after)) return undefined;
      args = values;
    }
  } catch {
    return undefined; // the field itself reports a bad argument, at its own path
  }
  const selection = { fieldNodes: logsNodes, fragments: info.fragments };
  return {
    first: args!.first ?? null,
    after: args!.after ?? null,
    columns: logColumnsSelected(selection),
    authors: nodeFieldsSelected(selection)?.has("author") ?? true,
  };
}
