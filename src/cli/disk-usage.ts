// What containers and images take on disk, for `box ps -s` and `box system df`.
import { lstatSync, readdirSync } from "node:fs";
import { join } from "../path.ts";
import type { LiveContainer } from "../container/live.ts";

/** Bytes of the regular files under `dir` (0 if it does not exist); symlinks are not followed. */
export function directorySize(dir: string): number {
  let total = 0;
  const pending = [dir];
  while (pending.length) {
    const current = pending.pop()!;
    let entries;
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) total += lstatSync(path).size;
    }
  }
  return total;
}

/** Docker's SizeRw: what the container wrote, its overlay's upper directory. */
export function writableSize(c: LiveContainer): number {
  return c.spec.rootfs.kind === "image" ? directorySize(`${c.paths.dir}/upper`) : 0;
}
