// Archives given as a file, or on standard input (`box load`, `box import -`).
import { closeSync, openSync, writeSync, constants } from "node:fs";
import { UserError } from "../container/errors.ts";
import { dirname, join } from "../path.ts";
import { randomHex } from "../random.ts";
import { mkdirs, removeTree } from "../sys/fs.ts";
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
    try {
      for await (const chunk of Bun.stdin.stream()) writeSync(out, chunk);
    } finally {
      closeSync(out);
    }
    await use(spooled);
  } finally {
    removeTree(spooled);
  }
}
