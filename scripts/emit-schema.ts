// Writes schema.graphql from the resolvers. The services are never called while printing, so none are wired.
import "reflect-metadata";
import { writeFileSync } from "node:fs";
import { buildAppSchema, printAppSchema, type SchemaServices } from "../src/schema/build-schema.js";

const schema = await buildAppSchema({} as SchemaServices);
writeFileSync(new URL("../../schema.graphql", import.meta.url), printAppSchema(schema));
console.log("schema.graphql written");
