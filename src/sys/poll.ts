// Whether the reader of a pipe (or socket) is gone, without writing to it: a command that prints
// only now and then (`box events | head -1`) must end when nobody reads any more, not at its
// next line, which may never come.
import { libc } from "./libc.ts";

const SYS_poll = 7;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const pollfd = new Int32Array(2);

export function readerGone(fd: number): boolean {
  return (hangUps(fd, 0) & (POLLERR | POLLHUP)) !== 0;
}

/** Whether a pipe's or FIFO's read end `fd` has no writer left, waiting up to `timeoutMs` for that. */
export function writersGone(fd: number, timeoutMs: number): boolean {
  return (hangUps(fd, timeoutMs) & POLLHUP) !== 0;
}

/** poll(2) asking for no event: POLLERR and POLLHUP are always reported. */
function hangUps(fd: number, timeoutMs: number): number {
  pollfd[0] = fd;
  pollfd[1] = 0;
  const n = Number(libc.syscall(SYS_poll, pollfd as never, 1 as never, timeoutMs as never, null, null));
  return n > 0 ? pollfd[1]! >>> 16 : 0;
}
