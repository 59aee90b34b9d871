// Whether the reader of a pipe (or socket) is gone, without writing to it: a command that prints
// only now and then (`box events | head -1`) must end when nobody reads any more, not at its
// next line, which may never come.
import { libc } from "./libc.ts";

const SYS_poll = 7;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const pollfd = new Int32Array(2);

export function readerGone(fd: number): boolean {
  pollfd[0] = fd;
  pollfd[1] = 0; // no events asked for: POLLERR and POLLHUP are always reported
  const n = Number(libc.syscall(SYS_poll, pollfd as never, 1 as never, 0 as never, null, null));
  return n > 0 && ((pollfd[1]! >>> 16) & (POLLERR | POLLHUP)) !== 0;
}
