// pidfd_open(2) and pidfd_getfd(2): a copy of another process's descriptor (the same open file
// description). The kernel allows it only to whoever may ptrace that process.
import { check, libc } from "./libc.ts";

const SYS_pidfd_open = 434;
const SYS_pidfd_getfd = 438;

/** A descriptor naming process `pid` for good (a pid reused later is another process); close-on-exec. */
export function pidfdOpen(pid: number): number {
  return check(libc.syscall(SYS_pidfd_open, pid as never, 0 as never, null, null, null), "pidfd_open", String(pid));
}

/** Process `pidfd`'s descriptor `fd`, duplicated into this one (close-on-exec). */
export function pidfdGetfd(pidfd: number, fd: number): number {
  return check(libc.syscall(SYS_pidfd_getfd, pidfd as never, fd as never, 0 as never, null, null), "pidfd_getfd", `descriptor ${fd}`);
}
