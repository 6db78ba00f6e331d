// Writes schema.graphql from the resolvers. The services are never called while printing, so none are wired.
import "reflect-metadata";
import { writeFileSync } from "node:fs";
import { buildAppSchema, printAppSchema } from "../src/schema/build-schema.js";

const schema = await buildAppSchema({ users: undefined as never, incidents: undefined as never });
writeFileSync(new URL("../../schema.graphql", import.meta.url), printAppSchema(schema));
console.log("schema.graphql written");
