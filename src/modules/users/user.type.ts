import { Field, ID, ObjectType } from "type-graphql";
import { DateTimeScalar } from "../../shared/datetime.scalar.js";
import { connectionType } from "../../shared/connection.types.js";
import { Role } from "./user-role.js";

@ObjectType("User", { simpleResolvers: true })
export class UserType {
  @Field(() => ID) id!: number;
  @Field(() => String) email!: string;
  @Field(() => String) name!: string;
  @Field(() => Role) role!: Role;
  @Field(() => Boolean, { description: "Deactivated users cannot log in and their tokens stop working." })
  active!: boolean;
  @Field(() => DateTimeScalar) createdAt!: Date;
}

export const UserConnectionType = connectionType("User", UserType);

@ObjectType("AuthPayload", { simpleResolvers: true })
export class AuthPayloadType {
  @Field(() => String, { description: "Send as `Authorization: Bearer <token>`." }) token!: string;
  @Field(() => DateTimeScalar) expiresAt!: Date;
  @Field(() => UserType) user!: UserType;
}
