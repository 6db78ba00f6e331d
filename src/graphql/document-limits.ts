import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  valueFromAST,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";
import { QueryTooComplexError } from "../shared/errors.js";
import { MAX_METRICS_ROWS } from "../modules/insights/insight.service.js";
import { maxPageSize } from "../shared/pagination.js";
import { searchTerms } from "../modules/intelligence/search-terms.js";

export interface DocumentLimits {
  depth: number;
  aliases: number;
  directives: number;
  tokens: number;
  nodes: number;
}

/** Reported through validation, so that Apollo answers 400 before anything executes. */
function tooComplex(context: ValidationContext, limit: string): void {
  const error = new QueryTooComplexError(limit);
  context.reportError(new GraphQLError(error.message, { originalError: error }));
}

type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

/** Deepest field nesting of a selection set; introspection fields do not count, fragments are memoised. */
function depthOf(selectionSet: SelectionSetNode | undefined, fragments: Fragments, memo: Map<string, number>, seen: Set<string>): number {
  if (!selectionSet) return 0;
  let deepest = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value.startsWith("__")) continue;
      deepest = Math.max(deepest, 1 + depthOf(selection.selectionSet, fragments, memo, seen));
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      deepest = Math.max(deepest, depthOf(selection.selectionSet, fragments, memo, seen));
    } else {
      const name = selection.name.value;
      if (!memo.has(name)) {
        const fragment = fragments.get(name);
        if (!fragment || seen.has(name)) continue; // unknown or cyclic: graphql-js reports those
        seen.add(name);
        memo.set(name, depthOf(fragment.selectionSet, fragments, memo, seen));
        seen.delete(name);
      }
      deepest = Math.max(deepest, memo.get(name)!);
    }
  }
  return deepest;
}

function fragmentMap(context: ValidationContext): Fragments {
  return new Map(context.getDocument().definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d]] : [])));
}

export function documentLimitRules(limits: DocumentLimits): ValidationRule[] {
  const depthRule: ValidationRule = (context): ASTVisitor => {
    const fragments = fragmentMap(context);
    const memo = new Map<string, number>();
    return {
      OperationDefinition(operation) {
        if (depthOf(operation.selectionSet, fragments, memo, new Set()) > limits.depth) tooComplex(context, "depth");
        return false;
      },
    };
  };

  // Counted within graphql-js's one walk of the document (its rules run in parallel), not by walks of their own.
  const countRule =
    (limit: string, max: number, kind: Kind.FIELD | Kind.DIRECTIVE, counts: (node: { alias?: unknown }) => boolean = () => true): ValidationRule =>
    (context) => {
      let seen = 0;
      return {
        [kind]: (node: { alias?: unknown }) => {
          if (counts(node)) seen += 1;
        },
        Document: {
          leave() {
            if (seen > max) tooComplex(context, limit);
          },
        },
      };
    };

  return [
    depthRule,
    countRule("alias", limits.aliases, Kind.FIELD, (field) => field.alias !== undefined),
    countRule("directive", limits.directives, Kind.DIRECTIVE),
  ];
}

/**
 * Fixed nodes per call of the fields that rank or aggregate: what one call costs beyond the rows it returns, in
 * rows' worth of work. Measured on the seeded database (2,000 incidents): a similarity ranking or a search takes
 * 7-9 ms, a 366-day metrics pass 115-200 ms, a row of a nested page about 50 µs. So a ranking is counted as 1,000 rows
 * (what it costs at 100,000 incidents, with room to spare) and a metrics pass as 5,000: at the default node limit a
 * document holds at most 24 rankings or 5 metrics passes, and the cost budget charges 10 and 50 points for them.
 */
export const callWeights: Readonly<Record<string, number>> = {
  "Incident.similar": 1_000,
  "Query.similarIncidents": 1_000,
  "Query.searchIncidents": 1_000,
  "Query.incidentMetrics": 5_000,
};

/**
 * A search word of one character matches as a prefix nearly every term of the index: at 20,000 incidents one such
 * word took 129 ms on SQLite (the event loop held) and 197 ms on PostgreSQL, 32 of them 847 ms and 2.4 s, where a
 * search of ordinary words takes under 10 ms. Each one-character word therefore weighs as a metrics pass: a document
 * holds four at most at the default node limit, and each costs 50 points of the budget.
 */
export const oneCharacterSearchWordWeight = 5_000;

/** A call's weight: `callWeights`, and for a search the one-character words of its query on top. */
function callWeight(key: string, selection: FieldNode, definition: GraphQLField<unknown, unknown>, variables: Record<string, unknown>): number | undefined {
  const weight = callWeights[key];
  if (weight === undefined || key !== "Query.searchIncidents") return weight;
  const node = selection.arguments?.find((arg) => arg.name.value === "query");
  const type = definition.args.find((arg) => arg.name === "query")?.type;
  const query = node && type ? valueFromAST(node.value, type, variables) : undefined;
  if (typeof query !== "string") return weight;
  let words: string[];
  try {
    words = searchTerms(query);
  } catch {
    return weight; // refused by the search itself, before any SQL
  }
  return weight + oneCharacterSearchWordWeight * words.filter((word) => [...word].length === 1).length;
}

/** Lists without `first` that have a bound of their own (metrics rows: one per bucket and group, refused past it). */
const listBounds: Readonly<Record<string, number>> = { "Query.incidentMetrics": MAX_METRICS_ROWS };

export interface NodeCountOptions {
  /**
   * A subscription runs its document once per event, for as many events as happen: a weighted field in it has no
   * bounded cost, so it counts as unbounded (refused by the node limit).
   */
  perEvent?: boolean;
}

/** A product of counts in which zero wins: a weighted field under `first: 0` runs no times, even per event. */
const times = (a: number, b: number) => (a === 0 || b === 0 ? 0 : a * b);

/** The `first` a field will run with: the argument, else its default, else the largest page; clamped to a page. */
function firstOf(field: GraphQLField<unknown, unknown>, selection: FieldNode, variables: Record<string, unknown>): number | undefined {
  const definition = field.args.find((arg) => arg.name === "first");
  if (!definition) return undefined;
  const node = selection.arguments?.find((arg) => arg.name.value === "first");
  const given = node ? valueFromAST(node.value, definition.type, variables) : undefined;
  const first = typeof given === "number" ? given : Number(definition.defaultValue ?? maxPageSize);
  // Out-of-range values are refused later with BAD_USER_INPUT; here they count as the largest page.
  return Math.min(Math.max(first, 0), maxPageSize);
}

/**
 * GitHub's node limit: for every connection, and every list field taking `first`, in the operation, the product of
 * the `first` values on its path (its own included, defaults for omitted ones), summed. Other lists of objects
 * multiply what is below them by their bound (metrics rows: 5,000), else by the largest page. A field of
 * `callWeights` adds its weight once per call, the call multiplied by the lists above it. Needs the variables, so it runs once the
 * operation is resolved, still before any resolver or SQL.
 */
export function nodeCount(
  schema: GraphQLSchema,
  selectionSet: SelectionSetNode,
  rootType: GraphQLNamedType,
  fragments: Fragments,
  variables: Record<string, unknown>,
  budget: number,
  options: NodeCountOptions = {},
): number {
  let total = 0;
  let visits = 0;
  const walk = (set: SelectionSetNode, type: GraphQLNamedType, multiplier: number): void => {
    for (const selection of set.selections) {
      if (++visits > 100_000 || total > budget) {
        total = Number.POSITIVE_INFINITY; // pathological fragment fan-out: refuse rather than keep walking
        return;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        walk(selection.selectionSet, condition ?? type, multiplier);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        const condition = fragment && schema.getType(fragment.typeCondition.name.value);
        if (fragment && condition) walk(fragment.selectionSet, condition, multiplier);
      } else if (selection.selectionSet && (isObjectType(type) || isInterfaceType(type))) {
        const field: GraphQLField<unknown, unknown> | undefined = type.getFields()[selection.name.value];
        if (!field) continue;
        const key = `${type.name}.${field.name}`;
        const weight = callWeight(key, selection, field, variables);
        if (weight !== undefined) total += times(multiplier, options.perEvent ? Number.POSITIVE_INFINITY : weight);
        const returned = getNamedType(field.type);
        const isList = isListType(getNullableType(field.type));
        const first = returned.name.endsWith("Connection")
          ? (firstOf(field, selection, variables) ?? maxPageSize)
          : isList
            ? firstOf(field, selection, variables)
            : undefined;
        let next = multiplier;
        if (first !== undefined) {
          next = times(multiplier, first);
          total += next;
        } else if (isList && !type.name.endsWith("Connection")) {
          // A connection's own nodes and edges are its page, already counted; other lists are not paged.
          next = times(multiplier, listBounds[key] ?? maxPageSize);
        }
        walk(selection.selectionSet, returned, next);
      }
    }
  };
  walk(selectionSet, rootType, 1);
  return total;
}
