/**
 * What authentication decides for one request: a {@link AuthSuccess} (the route and the identity) or a
 * {@link Rejection} (`rejection.ts` maps it to HTTP). Its own module so that the verdict cache and the
 * composer (`authenticate.ts`) both use it without importing each other.
 */
import type { Route } from "../config/types.js";
import type { Principal } from "./claims.js";
import type { Rejection } from "./rejection.js";

/** A request that may proceed. */
export interface AuthSuccess {
  readonly ok: true;
  /** The matched rule (forward the `Authorization` header only if `route.forwardAuthorization`). */
  readonly route: Route;
  /** The token's identity; undefined on anonymous and passthrough routes. */
  readonly principal: Principal | undefined;
}

/** Outcome of authentication; discriminate on `ok`. */
export type AuthResult = AuthSuccess | Rejection;
