import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { bearerToken } from "../../http/bearer.js";
import { AlertIntakeService, IngestRateLimitedError, UnknownKeyError } from "./alert-intake.service.js";
import type { IntegrationKind } from "./alert-enums.js";
import { InvalidEventError, isObject, parseAlertmanager, parseEventsV2, routingKeyOf } from "./alert-payloads.js";

// The two wire formats' HTTP answers, exactly as their senders expect them. Alertmanager retries 5xx and drops
// 4xx, hence 503 when over the rate limit; Events v2 senders retry 429.

const invalid = (reply: FastifyReply, message: string, errors: string[], status = 400) =>
  reply.code(status).send({ status: "invalid event", message, errors });

function sendFailure(error: unknown, request: FastifyRequest, reply: FastifyReply, kind: IntegrationKind) {
  const overLimitStatus = kind === "ALERTMANAGER" ? 503 : 429;
  if (error instanceof InvalidEventError) return invalid(reply, error.message, error.errors);
  if (error instanceof UnknownKeyError) return reply.code(401).send({ status: "unauthorized", message: error.message });
  if (error instanceof IngestRateLimitedError) {
    return reply
      .code(overLimitStatus)
      .header("retry-after", String(error.retryAfterSeconds))
      .send({ status: "throttle exceeded", message: error.message });
  }
  const fastifyError = error as FastifyError;
  if (fastifyError?.statusCode === 413) return invalid(reply, "Request body is larger than 1 MB", ["the body is over 1 MB"], 413);
  if (fastifyError?.statusCode === 415) return invalid(reply, "Unsupported body encoding", [fastifyError.message], 415);
  if (fastifyError?.code === "INVALID_JSON" || fastifyError?.statusCode === 400) {
    return invalid(reply, "Event object is invalid", ["the body is not valid JSON"]);
  }
  request.requestLog.error({ err: error }, "alert ingestion failed");
  return reply.code(500).send({ status: "error", message: "Internal server error" });
}

/**
 * The body as parsed. One that is not an object and was not sent as JSON (text/plain, no content type) was never
 * read as JSON: saying it is not an object would send the sender looking at its JSON instead of its headers.
 */
function jsonBody(request: FastifyRequest): unknown {
  const body = request.body;
  if (isObject(body) || /^application\/json\b/i.test(request.headers["content-type"] ?? "")) return body;
  throw new InvalidEventError(["the body must be JSON sent with content-type: application/json"]);
}

/** POST /hooks/alertmanager and POST /v2/enqueue, in their own context (their own error answers). */
export function alertHooks(intake: AlertIntakeService) {
  return async (app: FastifyInstance) => {
    await app.register(async (hooks) => {
      const fail = (error: unknown, request: FastifyRequest, reply: FastifyReply, kind: IntegrationKind) => {
        intake.rejected(kind);
        return sendFailure(error, request, reply, kind);
      };
      // Bodies refused before the route runs (not JSON, over 1 MB, another encoding).
      hooks.setErrorHandler((error, request, reply) => fail(error, request, reply, request.url.startsWith("/v2") ? "EVENTS_V2" : "ALERTMANAGER"));

      hooks.post("/hooks/alertmanager", async (request, reply) => {
        try {
          const key = bearerToken(request.headers.authorization) ?? undefined;
          const result = await intake.receive("ALERTMANAGER", key, () => parseAlertmanager(jsonBody(request)));
          return reply.code(200).send({ status: "ok", alerts: result.outcomes.length, incidents: result.incidentIds.map(String) });
        } catch (error) {
          return fail(error, request, reply, "ALERTMANAGER");
        }
      });

      hooks.post("/v2/enqueue", async (request, reply) => {
        try {
          // The key is in the body: a body without one is invalid before it is unauthorized.
          const body = jsonBody(request);
          if (!routingKeyOf(body)) parseEventsV2(body);
          let dedupKey = "";
          await intake.receive("EVENTS_V2", routingKeyOf(body), () => {
            const { alert } = parseEventsV2(body);
            dedupKey = alert.fingerprint;
            return [alert];
          });
          return reply.code(202).send({ status: "success", message: "Event processed", dedup_key: dedupKey });
        } catch (error) {
          return fail(error, request, reply, "EVENTS_V2");
        }
      });
    });
  };
}
