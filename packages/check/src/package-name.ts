import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** The nearest package.json above a file: its directory and `name` ("" when it has none). */
export interface OwningPackage {
  readonly root: string;
  readonly name: string;
}

const manifests = new Map<string, string | undefined>();

/** The package `file` belongs to (nearest package.json), or `undefined` outside any package. */
export function packageOf(file: string): OwningPackage | undefined {
  let dir = dirname(file);
  for (;;) {
    const name = manifestName(dir);
    if (name !== undefined) return { root: dir, name };
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function manifestName(dir: string): string | undefined {
  if (manifests.has(dir)) return manifests.get(dir);
  let name: string | undefined;
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    name =
      typeof parsed === "object" && parsed !== null && "name" in parsed && typeof parsed.name === "string"
        ? parsed.name
        : "";
  } catch {
    name = undefined;
  }
  manifests.set(dir, name);
  return name;
}
