import { Role } from "../modules/users/user-role.js";
import { ForbiddenError } from "../shared/errors.js";

/** Section 4 of the contract as data: what each role may do. */
export const Permission = {
  READ: "READ",
  MANAGE_OWN_ACCOUNT: "MANAGE_OWN_ACCOUNT",
  WRITE_INCIDENTS: "WRITE_INCIDENTS",
  MANAGE_USERS: "MANAGE_USERS",
  DELETE_INCIDENTS: "DELETE_INCIDENTS",
  /** Services and their integrations (keys). */
  MANAGE_SERVICES: "MANAGE_SERVICES",
  /** Webhook endpoints, their secrets and deliveries. */
  MANAGE_WEBHOOKS: "MANAGE_WEBHOOKS",
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

const grants: Readonly<Record<Role, readonly Permission[]>> = {
  VIEWER: ["READ", "MANAGE_OWN_ACCOUNT"],
  RESPONDER: ["READ", "MANAGE_OWN_ACCOUNT", "WRITE_INCIDENTS"],
  ADMIN: ["READ", "MANAGE_OWN_ACCOUNT", "WRITE_INCIDENTS", "MANAGE_USERS", "DELETE_INCIDENTS", "MANAGE_SERVICES", "MANAGE_WEBHOOKS"],
};

export function can(role: Role, permission: Permission): boolean {
  return grants[role].includes(permission);
}

export function assertCan(actor: { role: Role }, permission: Permission): void {
  if (!can(actor.role, permission)) throw new ForbiddenError(`The ${actor.role} role is not allowed to do this`);
}
