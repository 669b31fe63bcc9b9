// The notes machine's one effect, in a module of its own: effects do I/O, machines may not.
import { existsSync } from "node:fs";
import { defineEffects, PermanentEffectError } from "@drover/core";
import { notes } from "./notes.js";

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
