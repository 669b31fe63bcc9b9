/**
 * Conditional requests (RFC 9110 §13): entity tags, `If-Match` and `If-None-Match`. Pure
 * functions over header text, so the routes decide what "the current entity" is.
 */

/** One entity tag (RFC 9110 §8.8.3): `"x"` (strong) or `W/"x"` (weak). */
export interface EntityTag {
  /** The characters between the quotes. */
  readonly opaque: string;
  readonly weak: boolean;
}

/** What a precondition header names: any current entity (`*`), or a list of tags. */
export const ConditionKind = { Any: "any", Tags: "tags" } as const;
export type ConditionKind = (typeof ConditionKind)[keyof typeof ConditionKind];

/** A parsed `If-Match` or `If-None-Match` value. */
export type EntityTagCondition =
  | { readonly kind: typeof ConditionKind.Any }
  | { readonly kind: typeof ConditionKind.Tags; readonly tags: readonly EntityTag[] };

// etagc = %x21 / %x23-7E / obs-text: a comma may sit inside the quotes, so a list is scanned
// element by element instead of split on commas. Empty elements are allowed (RFC 9110 §5.6.1).
const TAG = /^(W\/)?"([\x21\x23-\x7E\x80-\xFF]*)"$/;
const ELEMENT = /[ \t]*(?:(W\/)?"([\x21\x23-\x7E\x80-\xFF]*)")?[ \t]*(?:,|$)/y;

/**
 * Parse one entity tag such as an `ETag` value.
 *
 * @returns `undefined` when `text` is not one entity tag.
 * @example parseEntityTag('W/"3"') // { opaque: "3", weak: true }
 */
export function parseEntityTag(text: string): EntityTag | undefined {
  const match = TAG.exec(text.trim());
  return match?.[2] === undefined ? undefined : { opaque: match[2], weak: match[1] !== undefined };
}

/**
 * Parse an `If-Match` or `If-None-Match` value: `*`, or a comma-separated list of entity
 * tags (weak ones too), with spaces, tabs and empty elements anywhere between them.
 *
 * @returns `undefined` when the value is malformed (including a list with no tag at all).
 * @example parseEntityTagList('"1", W/"2"') // { kind: "tags", tags: [{ opaque: "1", weak: false }, { opaque: "2", weak: true }] }
 */
export function parseEntityTagList(header: string): EntityTagCondition | undefined {
  if (header.trim() === "*") return { kind: ConditionKind.Any };
  const tags: EntityTag[] = [];
  let at = 0;
  while (at < header.length) {
    ELEMENT.lastIndex = at;
    const match = ELEMENT.exec(header);
    // A zero-length match before the end means a character no element may start with.
    if (match === null || ELEMENT.lastIndex === at) return undefined;
    if (match[2] !== undefined) tags.push({ opaque: match[2], weak: match[1] !== undefined });
    at = ELEMENT.lastIndex;
  }
  return tags.length === 0 ? undefined : { kind: ConditionKind.Tags, tags };
}

/** Strong comparison (RFC 9110 §8.8.3.2): both tags strong and the same opaque value. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** Weak comparison (RFC 9110 §8.8.3.2): the same opaque value, weak or not. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/**
 * Evaluate `If-Match` (RFC 9110 §13.1.1) against the current entity's tag: `*` passes when
 * there is an entity, a list passes when one of its tags matches the current one by strong
 * comparison (so a weak tag never passes). A failed `If-Match` is answered with 412.
 *
 * @param current the current entity's tag; `undefined` when there is none.
 */
export function ifMatchPasses(condition: EntityTagCondition, current: EntityTag | undefined): boolean {
  if (current === undefined) return false;
  if (condition.kind === ConditionKind.Any) return true;
  return condition.tags.some((tag) => strongMatch(tag, current));
}

/**
 * Evaluate `If-None-Match` (RFC 9110 §13.1.2) for a GET or HEAD: `true` when the client's copy
 * is current and the answer is 304 — `*` and an entity exists, or a tag of the list matches
 * the current one by weak comparison. An absent or malformed header never matches, so the
 * representation is sent in full.
 *
 * @param header the `If-None-Match` value as received.
 * @param current the current entity's `ETag` value; `undefined` when there is none.
 */
export function isNotModified(header: string | undefined, current: string | undefined): boolean {
  if (header === undefined || current === undefined) return false;
  const tag = parseEntityTag(current);
  const condition = parseEntityTagList(header);
  if (tag === undefined || condition === undefined) return false;
  if (condition.kind === ConditionKind.Any) return true;
  return condition.tags.some((candidate) => weakMatch(candidate, tag));
}
