import { Field, InputType } from "type-graphql";
import { Role } from "./user-role.js";

@InputType("SignUpInput")
export class SignUpInput {
  @Field(() => String) email!: string;
  @Field(() => String, { description: "1 to 100 characters." }) name!: string;
  @Field(() => String, { description: "8 to 128 characters." }) password!: string;
}

@InputType("UpdateUserInput", { description: "Omitted fields stay as they are. role and active are for admins." })
export class UpdateUserInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) password?: string | null;
  @Field(() => Role, { nullable: true }) role?: Role | null;
  @Field(() => Boolean, { nullable: true }) active?: boolean | null;
}
