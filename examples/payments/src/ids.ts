import { z } from "zod";

/**
 * A payment's id: `pay_` and 16 to 32 url-safe characters. The entity id of the `payments`
 * machine, so it is also the `{id}` of `POST /v1/payments/{id}/events`.
 *
 * @example
 * PaymentId.parse("pay_2x8kQm4Lr7Tz9WcB");
 */
export const PaymentId = z
  .string()
  .regex(/^pay_[A-Za-z0-9_-]{16,32}$/, "a payment id is pay_ and 16 to 32 of A-Z a-z 0-9 _ -")
  .brand<"PaymentId">();
export type PaymentId = z.infer<typeof PaymentId>;

/**
 * The paying customer: `cus_` and 1 to 64 url-safe characters.
 *
 * @example
 * CustomerId.parse("cus_42");
 */
export const CustomerId = z
  .string()
  .regex(/^cus_[A-Za-z0-9_-]{1,64}$/, "a customer id is cus_ and 1 to 64 of A-Z a-z 0-9 _ -")
  .brand<"CustomerId">();
export type CustomerId = z.infer<typeof CustomerId>;

/**
 * The operator who verified a large payment (`verifiedBy`): 1 to 64 url-safe characters.
 *
 * @example
 * OperatorId.parse("ops_7");
 */
export const OperatorId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "an operator id is 1 to 64 of A-Z a-z 0-9 _ -")
  .brand<"OperatorId">();
export type OperatorId = z.infer<typeof OperatorId>;

/**
 * The payment provider's reference for an authorization (the hold on the customer's funds).
 * Opaque to us: 1 to 128 printable ASCII characters, no spaces.
 *
 * @example
 * AuthorizationId.parse("auth_8f3a");
 */
export const AuthorizationId = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, "an authorization id is 1 to 128 printable ASCII characters without spaces")
  .brand<"AuthorizationId">();
export type AuthorizationId = z.infer<typeof AuthorizationId>;
