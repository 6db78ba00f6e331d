import { assertCan, Permission } from "../../auth/policy.js";
import type { CursorCodec } from "../../shared/cursor.js";
import { BadUserInputError, NotFoundError } from "../../shared/errors.js";
import { parseId } from "../../shared/ids.js";
import { checkFirst, toConnection, type Connection } from "../../shared/pagination.js";
import type { UserRow } from "../users/user.table.js";
import type { CreateServiceInput, UpdateServiceInput } from "./service.inputs.js";
import type { ServiceChanges, ServiceRepository } from "./service.repository.js";
import { checkAlertGrouping, checkServiceDescription, normalizeServiceName, type AlertGrouping } from "./service.rules.js";
import type { ServiceRow } from "./service.table.js";

export interface ServiceServiceDeps {
  services: ServiceRepository;
  cursors: CursorCodec;
}

/** The grouping a service row holds. */
export const alertGroupingOf = (service: ServiceRow): AlertGrouping => ({
  labels: JSON.parse(service.groupingLabels) as string[],
  windowSeconds: service.groupingWindowSeconds,
});

export class ServiceService {
  constructor(private readonly deps: ServiceServiceDeps) {}

  async page(actor: UserRow, args: { first?: number | null; after?: string | null }): Promise<Connection<ServiceRow>> {
    assertCan(actor, Permission.READ);
    const first = checkFirst(args.first, 20);
    let afterId: number | undefined;
    if (args.after != null) {
      const [id] = this.deps.cursors.decode("services", args.after);
      if (typeof id !== "number") throw new BadUserInputError("Invalid cursor", "after");
      afterId = id;
    }
    const rows = await this.deps.services.page(first, afterId);
    return toConnection(
      rows,
      first,
      afterId !== undefined,
      (row) => this.deps.cursors.encode("services", [row.id]),
      () => this.deps.services.count(),
    );
  }

  async create(actor: UserRow, input: CreateServiceInput): Promise<ServiceRow> {
    assertCan(actor, Permission.MANAGE_SERVICES);
    for (const field of ["description", "autoResolve"] as const) {
      if (input[field] === null) throw new BadUserInputError(`${field} cannot be null`, field);
    }
    const grouping = checkAlertGrouping(input.alertGrouping ?? { labels: [], windowSeconds: 0 });
    return this.deps.services.create({
      name: normalizeServiceName(input.name),
      description: checkServiceDescription(input.description ?? ""),
      autoResolve: input.autoResolve ?? true,
      groupingLabels: grouping.labels,
      groupingWindowSeconds: grouping.windowSeconds,
    });
  }

  async update(actor: UserRow, rawId: string, input: UpdateServiceInput): Promise<ServiceRow> {
    assertCan(actor, Permission.MANAGE_SERVICES);
    const changes: ServiceChanges = {};
    for (const field of ["name", "description", "autoResolve", "alertGrouping"] as const) {
      if (input[field] === null) throw new BadUserInputError(`${field} cannot be null`, field);
    }
    if (input.name != null) changes.name = normalizeServiceName(input.name);
    if (input.description != null) changes.description = checkServiceDescription(input.description);
    if (input.autoResolve != null) changes.autoResolve = input.autoResolve;
    if (input.alertGrouping != null) {
      const grouping = checkAlertGrouping(input.alertGrouping);
      changes.groupingLabels = grouping.labels;
      changes.groupingWindowSeconds = grouping.windowSeconds;
    }
    if (Object.keys(changes).length === 0) throw new BadUserInputError("No fields provided for update");
    const id = parseId(rawId);
    const row = id === undefined ? undefined : await this.deps.services.update(id, changes);
    if (!row) throw new NotFoundError("Service", "id");
    return row;
  }

  async delete(actor: UserRow, rawId: string): Promise<string> {
    assertCan(actor, Permission.MANAGE_SERVICES);
    const id = parseId(rawId);
    if (id === undefined || !(await this.deps.services.delete(id))) throw new NotFoundError("Service", "id");
    return String(id);
  }
}
