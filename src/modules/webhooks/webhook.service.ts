import { lookup } from "node:dns/promises";
import { assertCan, Permission } from "../../auth/policy.js";
import type { CursorCodec } from "../../shared/cursor.js";
import type { Loaders } from "../../shared/loaders.js";
import { BadUserInputError, NotFoundError } from "../../shared/errors.js";
import { parseId } from "../../shared/ids.js";
import { parseDeliveryId } from "./delivery-id.js";
import { checkFirst, toConnection, type Connection } from "../../shared/pagination.js";
import type { UserRow } from "../users/user.table.js";
import { isPublicAddress } from "./address-policy.js";
import { webhookEventTypeValues, type WebhookDeliveryStatus, type WebhookEventType } from "./webhook-enums.js";
import { urlProblem } from "./webhook-sender.js";
import { newWebhookSecret, secretHint } from "./webhook-signature.js";
import type { EndpointChanges, WebhookDelivery, WebhookRepository } from "./webhook.repository.js";
import type { WebhookEndpointRow } from "./webhook.table.js";
import type { CreateWebhookEndpointInput, UpdateWebhookEndpointInput } from "./webhook.type.js";

export interface WebhookEndpointSecret {
  endpoint: WebhookEndpointRow;
  secret: string;
}

export interface WebhookServiceDeps {
  webhooks: WebhookRepository;
  cursors: CursorCodec;
  /** Production refuses http:// and non-public targets. */
  production: boolean;
  /** Resolves a host name to its addresses (dns.lookup by default). */
  resolve?: (hostname: string) => Promise<string[]>;
  /** A new delivery may be due: the dispatcher looks at once. */
  nudge?: () => void;
}

const maxUrlLength = 2_000;
const maxDescriptionLength = 1_000;
const maxServiceIds = 100;
// PostgreSQL text cannot hold NUL; a URL parser drops or escapes control characters, so the URL sent would not be the one saved.
const urlControl = /[\u0000-\u001f\u007f]/;

const defaultResolve = async (hostname: string) => (await lookup(hostname, { all: true })).map((entry) => entry.address);

/** Endpoints, secrets and deliveries: ADMIN only, everything here. */
export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  async endpoints(actor: UserRow, args: { first?: number | null; after?: string | null }): Promise<Connection<WebhookEndpointRow>> {
    assertCan(actor, Permission.MANAGE_WEBHOOKS);
    const first = checkFirst(args.first, 20);
    const afterId = args.after == null ? undefined : this.decodeId("webhook-endpoints", args.after);
    const rows = await this.deps.webhooks.endpointPage(first, afterId);
    return toConnection(
      rows,
      first,
      afterId !== undefined,
      (row) => this.deps.cursors.encode("webhook-endpoints", [row.id]),
      () => this.deps.webhooks.endpointCount(),
    );
  }

  /** Newest first; the pages of a whole list of endpoints load together (one statement). */
  async deliveries(
    actor: UserRow,
    endpoint: WebhookEndpointRow,
    args: { first?: number | null; after?: string | null; status?: WebhookDeliveryStatus[] | null },
    loaders: Loaders,
  ): Promise<Connection<WebhookDelivery>> {
    assertCan(actor, Permission.MANAGE_WEBHOOKS);
    const first = checkFirst(args.first, 20);
    const beforeId = args.after == null ? undefined : this.decodeId("webhook-deliveries", args.after);
    const statuses = args.status ?? undefined;
    if (statuses?.length === 0) return toConnection([], first, beforeId !== undefined, () => "", () => 0);
    const rows = await loaders.deliveryPage.load({ endpointId: endpoint.id, first, beforeId, statuses });
    return toConnection(
      rows,
      first,
      beforeId !== undefined,
      (row) => this.deps.cursors.encode("webhook-deliveries", [row.id]),
      () => loaders.deliveryCount.load({ endpointId: endpoint.id, statuses }),
    );
  }

  async create(actor: UserRow, input: CreateWebhookEndpointInput): Promise<WebhookEndpointSecret> {
    assertCan(actor, Permission.MANAGE_WEBHOOKS);
    const url = await this.checkUrl(input.url);
    const description = this.checkDescription(input.description ?? "");
    const events = this.checkEvents(input.events ?? []);
    const serviceIds = await this.checkServices(input.serviceIds ?? []);
    const secret = newWebhookSecret();
    const endpoint = await this.deps.webhooks.createEndpoint({ url, description, events, serviceIds, secret, secretHint: secretHint(secret) });
    return { endpoint, secret };
  }

  async update(actor: UserRow, rawId: string, input: UpdateWebhookEndpointInput): Promise<WebhookEndpointRow> {
    assertCan(actor, Permission.MANAGE_WEBHOOKS);
    for (const field of ["url", "description", "events", "serviceIds", "enabled"] as const) {
      if (input[field] === null) throw new BadUserInputError(`${field} cannot be null`, field);
    }
    const changes: EndpointChanges = {};
    if (input.url != null) changes.url = await this.checkUrl(input.url);
    if (input.description != null) changes.description = this.checkDescription(input.description);
    if (input.events != null) changes.events = this.checkEvents(input.events);
    if (input.serviceIds != null) changes.serviceIds = await this.checkServices(input.serviceIds);
    if (input.enabled != null) changes.enabled = input.enabled;
    if (Object.keys(changes).length === 0) throw new BadUserInputError("No fields provided for update");
    const id = parseId(rawId);
    const endpoint = id === undefined ? undefined : await this.deps.webhooks.updateEndpoint(id, changes);
    if (!endpoint) throw new NotFoundError("WebhookEndpoint", "id");
    // Enabled again: its pending deliveries are due.
    if (changes.enabled) this.deps.nudge?.();
    return endpoint;
  }

  async rotateSecret(actor: UserRow, rawId: string): Promise<WebhookEndpointSecret> {
    assertCan(actor, Permission.MANAGE_WEBHOOKS);
    const id = parseId(rawId);
    const secret = newWebhookSecret();
    const endpoint = id === undefined ? undefined : await this.deps.webhooks.rotateSecret(id, secret, secretHint(secret));
    if (!endpoint) throw new NotFoundError("WebhookEndpoint", "id");
    return { endpoint, secret };
  }

  async delete(actor: UserRow, rawId: string): Promise<string> {
    assertCan(actor, Permission.MANAGE_WEBHOOKS);
    const id = parseId(rawId);
    if (id === undefined || !(await this.deps.webhooks.deleteEndpoint(id))) throw new NotFoundError("WebhookEndpoint", "id");
    return String(id);
  }

  async redeliver(actor: UserRow, rawDeliveryId: string): Promise<WebhookDelivery> {
    assertCan(actor, Permission.MANAGE_WEBHOOKS);
    const named = parseDeliveryId(rawDeliveryId);
    const delivery = named === undefined ? undefined : await this.deps.webhooks.redeliver(named.id, named.createdAt, new Date());
    if (!delivery) throw new NotFoundError("WebhookDelivery", "deliveryId");
    this.deps.nudge?.();
    return delivery;
  }

  /** In production: https:// only, and no name or address that leads to a non-public address (checked again at send time). */
  private async checkUrl(raw: string): Promise<string> {
    const url = raw.trim();
    if (url.length > maxUrlLength) throw new BadUserInputError(`URL must be at most ${maxUrlLength} characters`, "url");
    if (urlControl.test(url)) throw new BadUserInputError("URL must not contain control characters", "url");
    const problem = urlProblem(url, this.deps.production);
    if (problem) throw new BadUserInputError(`URL ${problem}`, "url");
    if (this.deps.production) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
      // A name that does not resolve today may tomorrow: it is checked on every attempt anyway.
      const addresses = await (this.deps.resolve ?? defaultResolve)(host).catch(() => [] as string[]);
      if (addresses.some((address) => !isPublicAddress(address))) {
        throw new BadUserInputError("URL must not lead to a loopback, private, link-local or metadata address", "url");
      }
    }
    return url;
  }

  private checkDescription(description: string): string {
    if (description.length > maxDescriptionLength) {
      throw new BadUserInputError(`Description must be at most ${maxDescriptionLength} characters`, "description");
    }
    if (description.includes("\u0000")) throw new BadUserInputError("Description must not contain a NUL character", "description");
    return description;
  }

  private checkEvents(events: readonly WebhookEventType[]): WebhookEventType[] {
    return webhookEventTypeValues.filter((type) => events.includes(type));
  }

  private async checkServices(rawIds: readonly string[]): Promise<number[]> {
    if (rawIds.length > maxServiceIds) throw new BadUserInputError(`At most ${maxServiceIds} services`, "serviceIds");
    const ids = [...new Set(rawIds.map(parseId))];
    const known = await this.deps.webhooks.existingServices(ids.filter((id): id is number => id !== undefined));
    if (ids.some((id) => id === undefined || !known.has(id))) throw new NotFoundError("Service", "serviceIds");
    return (ids as number[]).sort((a, b) => a - b);
  }

  private decodeId(scope: string, cursor: string): number {
    const [id] = this.deps.cursors.decode(scope, cursor);
    if (typeof id !== "number") throw new BadUserInputError("Invalid cursor", "after");
    return id;
  }
}
