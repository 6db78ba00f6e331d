import { assertCan, Permission } from "../../auth/policy.js";
import type { PasswordHasher } from "../../auth/password.js";
import type { IssuedToken, TokenService } from "../../auth/tokens.js";
import type { CursorCodec } from "../../shared/cursor.js";
import { BadUserInputError, ForbiddenError, NotFoundError, UnauthenticatedError } from "../../shared/errors.js";
import { parseId } from "../../shared/ids.js";
import { checkFirst, toConnection, type Connection } from "../../shared/pagination.js";
import type { LoginThrottle } from "../../auth/login-throttle.js";
import { Role } from "./user-role.js";
import type { UserChanges, UserRepository } from "./user.repository.js";
import { checkPassword, normalizeEmail, normalizeName } from "./user.rules.js";
import type { UserRow } from "./user.table.js";

export interface AuthResult extends IssuedToken {
  user: UserRow;
}

export interface SignUpInput {
  email: string;
  name: string;
  password: string;
}

export interface UpdateUserInput {
  name?: string | null;
  password?: string | null;
  role?: Role | null;
  active?: boolean | null;
}

export interface UserServiceDeps {
  users: UserRepository;
  hasher: PasswordHasher;
  tokens: TokenService;
  cursors: CursorCodec;
  /** Failed logins per email. */
  throttle: LoginThrottle;
  /** Failed logins per client address, so one client cannot walk through many emails. */
  addressThrottle: LoginThrottle;
  allowSignup: boolean;
}

const invalidCredentials = "Invalid email or password";

export class UserService {
  constructor(private readonly deps: UserServiceDeps) {}

  async signUp(input: SignUpInput): Promise<AuthResult> {
    const email = normalizeEmail(input.email);
    const name = normalizeName(input.name);
    const passwordHash = await this.deps.hasher.hash(checkPassword(input.password));
    const user = await this.deps.users.create({ email, name, passwordHash }, (isFirstUser) => {
      if (isFirstUser) return Role.ADMIN;
      if (!this.deps.allowSignup) throw new ForbiddenError("Sign-up is disabled; ask an administrator for an account");
      return Role.VIEWER;
    });
    return this.issue(user);
  }

  async login(rawEmail: string, password: string, clientAddress = "unknown"): Promise<AuthResult> {
    const email = rawEmail.trim().toLowerCase();
    await this.deps.addressThrottle.check(clientAddress);
    await this.deps.throttle.check(email);
    const user = email.length <= 254 ? await this.deps.users.findByEmail(email) : undefined;
    const valid = user
      ? await this.deps.hasher.verify(user.passwordHash, password)
      : await this.deps.hasher.verifyNothing(password);
    if (!user || !valid || !user.active) {
      await this.deps.throttle.fail(email);
      await this.deps.addressThrottle.fail(clientAddress);
      throw new UnauthenticatedError(invalidCredentials);
    }
    await this.deps.throttle.succeed(email);
    return this.issue(user);
  }

  async signOutEverywhere(actor: UserRow): Promise<boolean> {
    assertCan(actor, Permission.MANAGE_OWN_ACCOUNT);
    await this.deps.users.bumpTokenVersion(actor.id);
    return true;
  }

  async page(
    actor: UserRow,
    args: { first?: number | null; after?: string | null; role?: Role | null },
  ): Promise<Connection<UserRow>> {
    assertCan(actor, Permission.READ);
    const first = checkFirst(args.first, 20);
    const afterId = args.after == null ? undefined : this.afterId(args.after);
    const role = args.role ?? undefined;
    const rows = await this.deps.users.page({ first, afterId, role });
    return toConnection(
      rows,
      first,
      afterId !== undefined,
      (row) => this.deps.cursors.encode("users", [row.id]),
      () => this.deps.users.count(role),
    );
  }

  async update(actor: UserRow, rawId: string, input: UpdateUserInput): Promise<UserRow> {
    assertCan(actor, Permission.MANAGE_OWN_ACCOUNT);
    const id = parseId(rawId);
    const self = id === actor.id;
    const touchesAccess = input.role !== undefined || input.active !== undefined;
    if (!self || touchesAccess) assertCan(actor, Permission.MANAGE_USERS);
    if (id === undefined) throw new NotFoundError("User", "id");

    const changes: UserChanges = {};
    for (const field of ["name", "password", "role", "active"] as const) {
      if (input[field] === null) throw new BadUserInputError(`${field} cannot be null`, field);
    }
    if (input.name != null) changes.name = normalizeName(input.name);
    if (input.password != null) changes.passwordHash = await this.deps.hasher.hash(checkPassword(input.password));
    if (input.role != null) changes.role = input.role;
    if (input.active != null) changes.active = input.active;
    if (Object.keys(changes).length === 0) throw new BadUserInputError("No fields provided for update");

    const updated = await this.deps.users.update(id, (current, activeAdmins) => {
      const isLastAdmin = current.role === Role.ADMIN && current.active && activeAdmins <= 1;
      if (isLastAdmin && changes.role !== undefined && changes.role !== Role.ADMIN) {
        throw new BadUserInputError("The last active admin cannot be demoted", "role");
      }
      if (isLastAdmin && changes.active === false) {
        throw new BadUserInputError("The last active admin cannot be deactivated", "active");
      }
      // Deactivation revokes every token: reactivating the account later must not revive them.
      return changes.active === false && current.active ? { ...changes, tokenVersion: current.tokenVersion + 1 } : changes;
    });
    if (!updated) throw new NotFoundError("User", "id");
    return updated;
  }

  private afterId(after: string): number {
    const [id] = this.deps.cursors.decode("users", after);
    if (typeof id !== "number") throw new BadUserInputError("Invalid cursor", "after");
    return id;
  }

  private async issue(user: UserRow): Promise<AuthResult> {
    const token = await this.deps.tokens.issue({ userId: user.id, tokenVersion: user.tokenVersion });
    return { ...token, user };
  }
}
