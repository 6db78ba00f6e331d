import { isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import type { GraphQLContext } from "../shared/context.js";

/** Plain graphql-js resolvers by type and field name. */
export type DirectResolvers = Record<string, Record<string, GraphQLFieldResolver<any, GraphQLContext, any>>>;

/**
 * Puts resolvers straight onto fields that type-graphql declared, replacing its wrapped ones. Only for fields
 * without middleware or validation, whose class method delegates to the very same function.
 */
export function installDirectResolvers(schema: GraphQLSchema, resolvers: DirectResolvers): void {
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`${typeName} is not an object type of the schema`);
    const declared = type.getFields();
    for (const [fieldName, resolve] of Object.entries(fields)) {
      const field = declared[fieldName];
      if (!field) throw new Error(`${typeName}.${fieldName} is not declared`);
      field.resolve = resolve;
    }
  }
}
