// Errno numbers (x86_64 / generic Linux) to the names users see in error lines.
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
  9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 15: "ENOTBLK",
  16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
  23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE",
  30: "EROFS", 31: "EMLINK", 32: "EPIPE", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY",
  40: "ELOOP", 61: "ENODATA", 71: "EPROTO", 90: "EMSGSIZE", 93: "EPROTONOSUPPORT", 95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 105: "ENOBUFS", 110: "ETIMEDOUT",
};

export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, ENOEXEC: 8, ECHILD: 10, EAGAIN: 11, EACCES: 13,
  EBUSY: 16, EEXIST: 17, ENOTEMPTY: 39, ENAMETOOLONG: 36, EPIPE: 32, EFBIG: 27, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ELOOP: 40, ENOSYS: 38,
  ENODEV: 19, EADDRINUSE: 98, EADDRNOTAVAIL: 99, EOPNOTSUPP: 95, ENODATA: 61, ENXIO: 6,
} as const;

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** A failed system call: says which call, on what, and the errno name (`mount /proc: EPERM`). */
export class SyscallError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly path?: string,
  ) {
    super(`${syscall}${path === undefined ? "" : ` ${path}`}: ${errnoName(errno)}`);
    this.name = "SyscallError";
  }
}

/** Errors from node:fs carry a code like "ENOENT"; give them the same shape as ours. */
export function describeError(err: unknown): string {
  if (err instanceof SyscallError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === "object" && typeof e.code === "string" && e.syscall) {
    return `${e.syscall}${e.path ? ` ${e.path}` : ""}: ${e.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}
