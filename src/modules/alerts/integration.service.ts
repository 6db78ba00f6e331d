import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { assertCan, Permission } from "../../auth/policy.js";
import { BadUserInputError, NotFoundError } from "../../shared/errors.js";
import { parseId } from "../../shared/ids.js";
import type { UserRow } from "../users/user.table.js";
import type { AlertRepository, AuthenticatedIntegration } from "./alert.repository.js";
import type { IntegrationRow } from "./alert.table.js";
import type { IntegrationKind } from "./alert-enums.js";

/** 32 random bytes (at least 24 are required), URL-safe. */
const newKey = () => randomBytes(32).toString("base64url");
export const hashKey = (key: string) => createHash("sha256").update(key, "utf8").digest("hex");

export interface IntegrationKey {
  integration: IntegrationRow;
  key: string;
}

export class IntegrationService {
  constructor(private readonly alerts: AlertRepository) {}

  async create(actor: UserRow, input: { serviceId: string; name: string; kind: IntegrationKind }): Promise<IntegrationKey> {
    assertCan(actor, Permission.MANAGE_SERVICES);
    const name = input.name.trim();
    if (name.length < 1 || name.length > 100) throw new BadUserInputError("Name must be 1 to 100 characters", "name");
    const serviceId = parseId(input.serviceId);
    const key = newKey();
    const integration =
      serviceId === undefined
        ? undefined
        : await this.alerts.createIntegration({ serviceId, name, kind: input.kind, keyHash: hashKey(key), keyHint: key.slice(-4) });
    if (!integration) throw new NotFoundError("Service", "serviceId");
    return { integration, key };
  }

  /** The old key stops working at once, on every instance: each request looks its key up in the database. */
  async rotate(actor: UserRow, rawId: string): Promise<IntegrationKey> {
    assertCan(actor, Permission.MANAGE_SERVICES);
    const id = parseId(rawId);
    const key = newKey();
    const integration = id === undefined ? undefined : await this.alerts.rotateKey(id, hashKey(key), key.slice(-4));
    if (!integration) throw new NotFoundError("Integration", "id");
    return { integration, key };
  }

  async delete(actor: UserRow, rawId: string): Promise<string> {
    assertCan(actor, Permission.MANAGE_SERVICES);
    const id = parseId(rawId);
    if (id === undefined || !(await this.alerts.deleteIntegration(id))) throw new NotFoundError("Integration", "id");
    return String(id);
  }

  /**
   * The integration a presented key belongs to, if it is of `kind`. The lookup goes through the key's SHA-256
   * (an index search that reveals nothing of the stored hashes), and the hashes are then compared in constant time.
   */
  async authenticate(key: string | undefined, kind: IntegrationKind): Promise<AuthenticatedIntegration | undefined> {
    if (!key || key.length > 512) return undefined;
    const presented = hashKey(key);
    const found = await this.alerts.authenticate(presented);
    if (!found || found.kind !== kind) return undefined;
    const stored = Buffer.from(found.target.keyHash, "hex");
    return stored.length === 32 && timingSafeEqual(stored, Buffer.from(presented, "hex")) ? found : undefined;
  }
}
