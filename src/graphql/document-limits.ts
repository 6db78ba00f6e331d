import {
  GraphQLError,
  Kind,
  getNamedType,
  isInterfaceType,
  isObjectType,
  valueFromAST,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";
import { QueryTooComplexError } from "../shared/errors.js";
import { maxPageSize } from "../shared/pagination.js";

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
 * GitHub's node limit: for every connection in the operation, the product of the `first` values on its path
 * (its own included, defaults for omitted ones), summed. Needs the variables, so it runs once the operation
 * is resolved, still before any resolver or SQL.
 */
export function nodeCount(
  schema: GraphQLSchema,
  selectionSet: SelectionSetNode,
  rootType: GraphQLNamedType,
  fragments: Fragments,
  variables: Record<string, unknown>,
  budget: number,
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
        const returned = getNamedType(field.type);
        let next = multiplier;
        if (returned.name.endsWith("Connection")) {
          const definition = field.args.find((arg) => arg.name === "first");
          const node = selection.arguments?.find((arg) => arg.name.value === "first");
          const given = node && definition ? valueFromAST(node.value, definition.type, variables) : undefined;
          const first = typeof given === "number" ? given : Number(definition?.defaultValue ?? maxPageSize);
          // Out-of-range values are refused later with BAD_USER_INPUT; here they count as the largest page.
          next = multiplier * Math.min(Math.max(first, 0), maxPageSize);
          total += next;
        }
        walk(selection.selectionSet, returned, next);
      }
    }
  };
  walk(selectionSet, rootType, 1);
  return total;
}
