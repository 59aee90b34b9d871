import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Every directory below `dir` (not `dir` itself), at most `maxDepth` levels down; [] if unreadable. */
export function subdirs(dir: string, maxDepth = Infinity): string[] {
  if (maxDepth < 1) return [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory())
    .flatMap((e) => [join(dir, e.name), ...subdirs(join(dir, e.name), maxDepth - 1)]);
}
