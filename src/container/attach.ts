// box attach's way into a detached container's input. The init holds the payload's input (the
// stdin pipe of -i, the pty master of -t) and names the descriptor in its run dir; an attach
// takes a copy of it with pidfd_getfd, which the kernel grants only to who may ptrace the init
// (root, or the owner of a rootless box's user namespace): no socket, nothing listening.
import { close, fstat, readFile, writeFile } from "../sys/fs.ts";
import { pidfdGetfd, pidfdOpen } from "../sys/pidfd.ts";
import { describeError } from "../sys/errors.ts";
import { join } from "../path.ts";
import { UserError } from "./errors.ts";
import { runningInit, type LiveContainer } from "./live.ts";
import type { Store } from "./store.ts";

const INPUT_FD_FILE = "input-fd";

/** In the init: which of its descriptors is the payload's input. */
export function publishInput(runDir: string, fd: number): void {
  writeFile(join(runDir, INPUT_FD_FILE), String(fd));
}

/** A copy of the init's end of the payload's input: a pipe (-i) or a terminal's master (-t). */
export function openPayloadInput(store: Store, c: LiveContainer & { pid: number }): number {
  let pidfd: number;
  try {
    pidfd = pidfdOpen(c.pid);
  } catch (e) {
    throw new UserError(`cannot attach to ${c.spec.name}'s input: ${describeError(e)}`);
  }
  try {
    // The pidfd names the process for good: checked now, the init is the container's.
    if (runningInit(store, c.pid, c.state.pidStart) === undefined) throw new UserError(`container ${c.spec.name} is not running`);
    const text = readFile(join(c.paths.runDir, INPUT_FD_FILE)).trim();
    if (!/^\d{1,7}$/.test(text)) throw new UserError(`cannot attach to ${c.spec.name}'s input: ${INPUT_FD_FILE} says "${text.slice(0, 20)}"`);
    const fd = pidfdGetfd(pidfd, Number(text));
    const st = fstat(fd);
    if (!st.isFIFO() && !st.isCharacterDevice()) {
      close(fd);
      throw new UserError(`cannot attach to ${c.spec.name}'s input: descriptor ${text} of its init is no pipe or terminal`);
    }
    return fd;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot attach to ${c.spec.name}'s input: ${describeError(e)}`);
  } finally {
    close(pidfd);
  }
}
