// Archives given as a file, or on standard input (`box load`, `box import -`).
import { closeSync, openSync, writeSync, constants } from "node:fs";
import { UserError } from "../container/errors.ts";
import { dirname, join } from "../path.ts";
import { randomHex } from "../random.ts";
import { lockExclusive, mkdirs, removeTree } from "../sys/fs.ts";
import { unpackLimit } from "../image/layers.ts";
import { isTerminal } from "../sys/tty.ts";

/**
 * Runs `use` on the file given, or on standard input spooled into the store first: an archive's
 * compression is told by its first bytes, and a pipe cannot be read twice.
 */
export async function withInput(root: string, file: string | undefined, command: string, use: (path: string) => Promise<void>): Promise<void> {
  if (file !== undefined) return use(file);
  if (isTerminal(0)) throw new UserError(`requested ${command} from stdin, but stdin is a terminal: give a file or a redirection`);
  const spooled = join(root, "tmp", `stdin-${randomHex(8)}`);
  mkdirs(dirname(spooled), 0o700);
  try {
    const out = openSync(spooled, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    // Held while it is used: a prune that finds the file locked leaves it alone.
    lockExclusive(out, spooled);
    try {
      // Bounded as an unpacked layer is: standard input must not fill the store's disk.
      const limit = unpackLimit(root);
      let total = 0;
      for await (const chunk of Bun.stdin.stream()) {
        total += chunk.length;
        if (total > limit) throw new UserError(`refusing standard input: more than ${limit} bytes (the store's free space, less a margin)`);
        writeSync(out, chunk);
      }
      await use(spooled);
    } finally {
      closeSync(out);
    }
  } finally {
    removeTree(spooled);
  }
}
