import { Scope, type TokenBody } from "@drover/http/wire";

/**
 * What the signed-in token may do. Its own module so the pages can take it without
 * importing app.tsx, which imports the pages.
 */
export interface Access {
  readonly name: string | null;
  readonly write: boolean;
  readonly admin: boolean;
}

/** The {@link Access} a token's scopes grant: admin implies write. */
export function accessOf(info: TokenBody): Access {
  const admin = info.scopes.includes(Scope.Admin);
  return { name: info.name, admin, write: admin || info.scopes.includes(Scope.Write) };
}
