// The payload's standard streams. Bun makes its own stdio non-blocking, and that flag lives on
// the open file description, shared with whatever inherits the fd: a payload writing to a slow
// pipe would get EAGAIN ("I/O error"). So pipes and terminals are opened again, giving the
// payload descriptions of its own: blocking, and write-only where it only writes (it cannot
// read the user's keystrokes through a terminal on its stdout).
import { fstat, open } from "../sys/fs.ts";
import { O_NOCTTY, O_NONBLOCK, O_RDONLY, O_WRONLY } from "../sys/constants.ts";
import { setBlocking } from "../sys/process.ts";

/** A descriptor for the same file as the init's `fd`, for reading (0) or writing (1, 2). */
export function reopenStdio(fd: number): number {
  const st = fstat(fd);
  if (st.isFIFO() || st.isCharacterDevice()) {
    try {
      // O_NONBLOCK only for the open: a pipe whose other end is gone would block it for ever.
      const own = open(`/proc/self/fd/${fd}`, (fd === 0 ? O_RDONLY : O_WRONLY) | O_NOCTTY | O_NONBLOCK);
      setBlocking(own);
      return own;
    } catch {
      // e.g. ENXIO, a pipe nobody reads any more: share the descriptor after all.
    }
  }
  // Regular files keep the shared offset (appending after what the shell wrote); sockets cannot
  // be reopened. Both get the flag cleared instead.
  setBlocking(fd);
  return fd;
}
