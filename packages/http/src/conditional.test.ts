import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ConditionKind,
  ifMatchPasses,
  isNotModified,
  parseEntityTag,
  parseEntityTagList,
  strongMatch,
  weakMatch,
} from "./conditional.js";

const strong = (opaque: string) => ({ opaque, weak: false });
const weak = (opaque: string) => ({ opaque, weak: true });

describe("entity tags (RFC 9110 §8.8.3)", () => {
  it("parses a strong and a weak tag, and refuses what is not one", () => {
    assert.deepEqual(parseEntityTag('"3"'), strong("3"));
    assert.deepEqual(parseEntityTag(' W/"3" '), weak("3"));
    assert.deepEqual(parseEntityTag('""'), strong(""));
    for (const bad of ["3", 'w/"3"', '"a"b"', '"a b"', "*", '"1", "2"', ""]) {
      assert.equal(parseEntityTag(bad), undefined, bad);
    }
  });

  it("parses a list with spaces, tabs, empty elements and commas inside quotes", () => {
    assert.deepEqual(parseEntityTagList('"1",W/"2" ,\t"a,b"'), {
      kind: ConditionKind.Tags,
      tags: [strong("1"), weak("2"), strong("a,b")],
    });
    assert.deepEqual(parseEntityTagList(' , "1" ,, '), { kind: ConditionKind.Tags, tags: [strong("1")] });
    assert.deepEqual(parseEntityTagList(" * "), { kind: ConditionKind.Any });
  });

  it("refuses a malformed list: bare words, missing commas, a star among tags, nothing at all", () => {
    for (const bad of ["1", '"1" "2"', '"1""2"', '*, "1"', "W/2", '"1', "", " , ", '"1" x']) {
      assert.equal(parseEntityTagList(bad), undefined, JSON.stringify(bad));
    }
  });

  it("compares strongly only strong tags, and weakly any two with the same value", () => {
    assert.ok(strongMatch(strong("1"), strong("1")));
    assert.ok(!strongMatch(weak("1"), strong("1")) && !strongMatch(strong("1"), weak("1")));
    assert.ok(!strongMatch(strong("1"), strong("2")));
    assert.ok(weakMatch(weak("1"), strong("1")) && weakMatch(weak("1"), weak("1")));
    assert.ok(!weakMatch(weak("1"), weak("2")));
  });
});

describe("If-Match (RFC 9110 §13.1.1)", () => {
  const list = (header: string) => {
    const condition = parseEntityTagList(header);
    assert.ok(condition !== undefined, header);
    return condition;
  };

  it("passes when a tag of the list is the current one by strong comparison", () => {
    assert.ok(ifMatchPasses(list('"1", "2"'), strong("2")));
    assert.ok(!ifMatchPasses(list('"1", "3"'), strong("2")));
  });

  it("never passes with a weak tag", () => {
    assert.ok(!ifMatchPasses(list('W/"2"'), strong("2")));
  });

  it("passes with * when the entity exists, and fails when there is none", () => {
    assert.ok(ifMatchPasses(list("*"), strong("7")));
    assert.ok(!ifMatchPasses(list("*"), undefined));
    assert.ok(!ifMatchPasses(list('"1"'), undefined));
  });
});

describe("If-None-Match (RFC 9110 §13.1.2)", () => {
  it("is not modified when a tag of the list matches by weak comparison", () => {
    assert.ok(isNotModified('"2"', '"2"'));
    assert.ok(isNotModified('"1", W/"2"', '"2"'));
    assert.ok(isNotModified('"2"', 'W/"2"'));
    assert.ok(!isNotModified('"1", "3"', '"2"'));
  });

  it("is not modified with * when there is a current entity", () => {
    assert.ok(isNotModified("*", '"2"'));
    assert.ok(!isNotModified("*", undefined));
  });

  it("ignores an absent or malformed header, so the answer is sent in full", () => {
    assert.ok(!isNotModified(undefined, '"2"'));
    assert.ok(!isNotModified("2", '"2"'));
    assert.ok(!isNotModified('"2" "2"', '"2"'));
  });
});
