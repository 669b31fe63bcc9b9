// A second, tiny machine for the dashboard's browser tests, beside payments: its notes have a
// free-text title (so a test can send markup and see it rendered as text) and an Announce
// intent whose effect fails for good while the test says the channel is down (so a test can
// make a dead letter, fix the cause, and retry it). Not part of any public API.
import { existsSync } from "node:fs";
import { accept, defineEffects, defineMachine, PermanentEffectError, reject } from "@drover/core";
import { z } from "zod";

const NoteId = z.string().regex(/^note_[a-z0-9]{1,24}$/);

const NoteStatus = z.enum(["draft", "published", "archived"]);

const Write = z.strictObject({
  type: z.literal("Write"),
  title: z.string().min(1).max(200),
  pinned: z.boolean().optional(),
});
const Publish = z.strictObject({ type: z.literal("Publish") });
const Archive = z.strictObject({ type: z.literal("Archive") });

const Announce = z.strictObject({ type: z.literal("Announce"), title: z.string() });

/** Notes: `Write` drafts one, `Publish` publishes it and asks for an `Announce`, `Archive` ends it. */
export const notes = defineMachine({
  name: "notes",
  id: NoteId,
  state: z.strictObject({ status: NoteStatus, title: z.string(), pinned: z.boolean() }),
  events: z.discriminatedUnion("type", [Write, Publish, Archive]),
  intents: z.discriminatedUnion("type", [Announce]),
  rejections: z.enum(["already_written", "not_a_draft", "archived"]),
  creates: ["Write"],
  create: (event) => accept({ status: "draft" as const, title: event.title, pinned: event.pinned ?? false }),
  handle: (state, event) => {
    switch (event.type) {
      case "Write":
        return reject("already_written", "this note exists already");
      case "Publish":
        if (state.status !== "draft") return reject("not_a_draft", `cannot publish a note that is ${state.status}`);
        return accept({ ...state, status: "published" as const }, { type: "Announce" as const, title: state.title });
      case "Archive":
        if (state.status === "archived") return reject("archived", "the note is archived already");
        return accept({ ...state, status: "archived" as const });
    }
  },
});

/** The Announce effect: refused for good while the file `downFlag` exists. */
export function noteEffects(downFlag: string | undefined) {
  return defineEffects(notes, {
    Announce: async () => {
      if (downFlag !== undefined && existsSync(downFlag)) {
        throw new PermanentEffectError("the announcement channel refused the message: channel is closed");
      }
      return [];
    },
  });
}
