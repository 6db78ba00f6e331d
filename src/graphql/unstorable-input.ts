import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, Kind, type ArgumentNode, type DocumentNode, type ValueNode } from "graphql";
import { BadUserInputError } from "../shared/errors.js";
import { isUnstorable } from "../shared/unstorable-text.js";

const message = (field: string) => `${field} must not hold a NUL character or a lone surrogate`;

/**
 * The input field (the last name on its path) of the first unstorable string in a variables object. A loop, not
 * recursion: a client's JSON may nest thousands deep, even in variables the operation does not declare.
 */
function inVariables(variables: unknown, field: string): string | undefined {
  const stack: Array<[unknown, string]> = [[variables, field]];
  while (stack.length > 0) {
    const [value, name] = stack.pop()!;
    if (typeof value === "string") {
      if (isUnstorable(value)) return name;
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], name]);
    } else if (value !== null && typeof value === "object") {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]![1], entries[i]![0]]);
    }
  }
  return undefined;
}

function inLiteral(value: ValueNode, field: string): string | undefined {
  switch (value.kind) {
    case Kind.STRING:
      return isUnstorable(value.value) ? field : undefined;
    case Kind.LIST:
      for (const item of value.values) {
        const found = inLiteral(item, field);
        if (found) return found;
      }
      return undefined;
    case Kind.OBJECT:
      for (const item of value.fields) {
        const found = inLiteral(item.value, item.name.value);
        if (found) return found;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Every argument of every field and directive in the document, fragments included. */
function* argumentsOf(document: DocumentNode): Generator<ArgumentNode> {
  const stack: unknown[] = [...document.definitions];
  while (stack.length > 0) {
    const node = stack.pop() as { kind?: string; arguments?: readonly ArgumentNode[]; directives?: readonly unknown[]; selectionSet?: { selections: readonly unknown[] } };
    if (node.arguments) yield* node.arguments;
    if (node.directives) stack.push(...node.directives);
    if (node.selectionSet) stack.push(...node.selectionSet.selections);
  }
}

/**
 * Text that no field can keep as it was sent is refused before anything runs, alike on both backends: PostgreSQL
 * cannot store NUL, and a lone surrogate is no character (each backend would store a different replacement). The
 * answer is BAD_USER_INPUT naming the input field, as for a variable of the wrong type.
 */
export function unstorableInputPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, operation }) {
          // Only the variables the operation declares reach a resolver; GraphQL ignores the others.
          const declared = Object.fromEntries(
            (operation?.variableDefinitions ?? []).map((definition) => [definition.variable.name.value, request.variables?.[definition.variable.name.value]]),
          );
          let field = inVariables(declared, "variables");
          // A document's strings hold NUL only through an escape; graphql-js refuses lone surrogates itself.
          if (!field && request.query?.includes("\\u")) {
            for (const argument of argumentsOf(document)) {
              field = inLiteral(argument.value, argument.name.value);
              if (field) break;
            }
          }
          if (!field) return;
          const error = new BadUserInputError(message(field), field);
          throw new GraphQLError(error.message, { originalError: error, extensions: { http: { status: 400 } } });
        },
      };
    },
  };
}
