import { getArgumentValues, type FieldNode, type GraphQLObjectType, type GraphQLResolveInfo } from "graphql";
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
  return {
    columns,
    reporters: fields.has("reporter"),
    assignees: fields.has("assignee"),
    logs: timelineReads(info, fields.get("logs")),
  };
}

function timelineReads(info: GraphQLResolveInfo, logsNodes: readonly FieldNode[] | undefined): TimelineReads | undefined {
  if (!logsNodes) return undefined;
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
