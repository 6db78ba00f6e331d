import { registerEnumType } from "type-graphql";

export const Role = {
  ADMIN: "ADMIN",
  RESPONDER: "RESPONDER",
  VIEWER: "VIEWER",
} as const;
export type Role = (typeof Role)[keyof typeof Role];
export const roleValues = Object.values(Role) as [Role, ...Role[]];

registerEnumType(Role, { name: "Role", description: "What a user may do; read from the database on every request." });
