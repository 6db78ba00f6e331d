// The stack's own ceiling for incident by id: servers that answer the benchmark's by-id document with the API's own
// bytes, from memory, with one layer of the API's stack more at each step. No database, no token, no resolvers of
// ours: what is left between each of them and the raw floor is what that layer costs by itself.
// Benchmark-only: the server never imports this file.
//
//   --mode http     node:http: read the body, write the answer
//   --mode fastify  the same route on Fastify, as the API mounts it (its own JSON body parsing)
//   --mode apollo   Fastify + Apollo Server with the API's request options, executing the document with graphql-js
//                   against a schema of the same shape whose one resolver returns the incident from memory
//
// Run: node dist/bench/stack-ceiling.js --mode apollo --answer '<the API's answer>' (prints {"port":N} when listening)
import { ApolloServer, HeaderMap } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import Fastify from "fastify";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type CeilingMode = "http" | "fastify" | "apollo";

const typeDefs = `
  type User { name: String! }
  type Incident { id: ID! title: String! status: String! priority: String! reporter: User assignee: User }
  type Query { incident(id: ID!): Incident }
`;

/** A server of `mode` on an ephemeral port of 127.0.0.1 that answers `answer` (the API's JSON text) to every POST. */
export async function startCeiling(mode: CeilingMode, answer: string): Promise<Server> {
  if (mode === "http") {
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(answer));
    });
    return listen(server);
  }
  const server = createServer();
  const app = Fastify({ serverFactory: (handler) => server.on("request", handler), bodyLimit: 1024 * 1024 });
  if (mode === "fastify") {
    app.post("/graphql", async (_request, reply) => reply.header("content-type", "application/json; charset=utf-8").send(answer));
  } else {
    const incident = (JSON.parse(answer) as { data: { incident: unknown } }).data.incident;
    const apollo = new ApolloServer({
      typeDefs,
      resolvers: { Query: { incident: () => incident } },
      introspection: false,
      includeStacktraceInErrorResponses: false,
      stopOnTerminationSignals: false,
      allowBatchedHttpRequests: false,
      persistedQueries: false,
      csrfPrevention: { requestHeaders: ["x-apollo-operation-name", "apollo-require-preflight", "authorization"] },
      plugins: [ApolloServerPluginCacheControlDisabled(), ApolloServerPluginLandingPageDisabled()],
    });
    await apollo.start();
    app.post("/graphql", async (request, reply) => {
      // As src/http/server.ts hands a request to Apollo and its answer back.
      const headers = new HeaderMap();
      for (const [name, value] of Object.entries(request.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: "POST", headers, search: "", body: request.body },
        context: async () => ({}),
      });
      for (const [name, value] of response.headers) reply.header(name, value);
      reply.code(response.status ?? 200);
      return response.body.kind === "complete" ? response.body.string : "";
    });
  }
  await app.ready();
  return listen(server);
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const arg = (name: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
};

if (process.argv[1]?.endsWith("stack-ceiling.js")) {
  const mode = arg("mode") as CeilingMode;
  const answer = arg("answer");
  if (!["http", "fastify", "apollo"].includes(mode) || !answer) throw new Error("usage: stack-ceiling.js --mode http|fastify|apollo --answer JSON");
  const server = await startCeiling(mode, answer);
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
}
