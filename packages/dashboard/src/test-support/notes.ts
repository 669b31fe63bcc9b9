// A second, tiny machine for the dashboard's browser tests, beside payments: its notes have a
// free-text title (so a test can send markup and see it rendered as text) and an Announce
// intent whose effect fails for good while the test says the channel is down (so a test can
// make a dead letter, fix the cause, and retry it). Not part of any public API.
import { accept, defineMachine, reject } from "@drover/core";
import { z } from "zod";

const NoteId = z.string().regex(/^note_[a-z0-9]{1,24}$/);

/** Where a note is in its life: the `status` of its state. */
export const NoteStatus = { Draft: "draft", Published: "published", Archived: "archived" } as const;

const Write = z.strictObject({
  type: z.literal("Write"),
  title: z.string().min(1).max(200),
  pinned: z.boolean().optional(),
});
const Publish = z.strictObject({ type: z.literal("Publish") });
const Archive = z.strictObject({ type: z.literal("Archive") });

/** Why the notes machine refuses an event. */
export const NoteRejection = {
  AlreadyWritten: "already_written",
  NotADraft: "not_a_draft",
  AlreadyArchived: "already_archived",
} as const;

const Announce = z.strictObject({ type: z.literal("Announce"), title: z.string() });

/** Notes: `Write` drafts one, `Publish` publishes it and asks for an `Announce`, `Archive` ends it. */
export const notes = defineMachine({
  name: "notes",
  id: NoteId,
  state: z.strictObject({ status: z.enum(NoteStatus), title: z.string(), pinned: z.boolean() }),
  events: z.discriminatedUnion("type", [Write, Publish, Archive]),
  intents: z.discriminatedUnion("type", [Announce]),
  rejections: z.enum(NoteRejection),
  creates: ["Write"],
  create: (event) => accept({ status: NoteStatus.Draft, title: event.title, pinned: event.pinned ?? false }),
  handle: (state, event) => {
    switch (event.type) {
      case "Write":
        return reject(NoteRejection.AlreadyWritten, "this note exists already");
      case "Publish":
        if (state.status !== NoteStatus.Draft)
          return reject(NoteRejection.NotADraft, `cannot publish a note that is ${state.status}`);
        return accept({ ...state, status: NoteStatus.Published }, { type: "Announce" as const, title: state.title });
      case "Archive":
        if (state.status === NoteStatus.Archived)
          return reject(NoteRejection.AlreadyArchived, "the note is archived already");
        return accept({ ...state, status: NoteStatus.Archived });
    }
  },
});
