// The one place that loads libc. Every other module calls the typed wrappers built on this.
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { SyscallError } from "./errors.ts";

const { i32, i64, i64_fast: i64f, u32, u64, ptr: P, void: V } = FFIType;

const lib = dlopen("libc.so.6", {
  __errno_location: { args: [], returns: P },
  mount: { args: [P, P, P, u64, P], returns: i32 },
  mount_setattr: { args: [i32, P, u32, P, u64], returns: i32 },
  umount2: { args: [P, i32], returns: i32 },
  // Up to four arguments; numbers go in as "pointers" (raw values).
  syscall: { args: [i64, P, P, P, P, P], returns: i64 },
  sethostname: { args: [P, u64], returns: i32 },
  setdomainname: { args: [P, u64], returns: i32 },
  mknod: { args: [P, i32, u64], returns: i32 },
  kill: { args: [i32, i32], returns: i32 },
  strsignal: { args: [i32], returns: P },
  waitpid: { args: [i32, P, i32], returns: i32 },
  pipe2: { args: [P, i32], returns: i32 },
  ioctl: { args: [i32, u64, P], returns: i32 },
  socket: { args: [i32, i32, i32], returns: i32 },
  bind: { args: [i32, P, u32], returns: i32 },
  connect: { args: [i32, P, u32], returns: i32 },
  sendmsg: { args: [i32, P, i32], returns: i64f },
  setsockopt: { args: [i32, i32, i32, P, u32], returns: i32 },
  close: { args: [i32], returns: i32 },
  fcntl: { args: [i32, i32, i64], returns: i32 },
  umask: { args: [i32], returns: i32 },
  setns: { args: [i32, i32], returns: i32 },
  unshare: { args: [i32], returns: i32 },
  chdir: { args: [P], returns: i32 },
  fchdir: { args: [i32], returns: i32 },
  getpid: { args: [], returns: i32 },
  tcgetattr: { args: [i32, P], returns: i32 },
  tcsetattr: { args: [i32, i32, P], returns: i32 },
  cfmakeraw: { args: [P], returns: V },
  isatty: { args: [i32], returns: i32 },
  _exit: { args: [i32], returns: V },
  open: { args: [P, i32, u32], returns: i32 },
  read: { args: [i32, P, u64], returns: i64f },
  write: { args: [i32, P, u64], returns: i64f },
  access: { args: [P, i32], returns: i32 },
  statx: { args: [i32, P, i32, u32, P], returns: i32 },
  statfs: { args: [P, P], returns: i32 },
  mkdir: { args: [P, u32], returns: i32 },
  readlink: { args: [P, P, u64], returns: i64f },
  symlink: { args: [P, P], returns: i32 },
  chmod: { args: [P, u32], returns: i32 },
  fchown: { args: [i32, u32, u32], returns: i32 },
  fchownat: { args: [i32, P, u32, u32, i32], returns: i32 },
  unlinkat: { args: [i32, P, i32], returns: i32 },
  rename: { args: [P, P], returns: i32 },
  fsync: { args: [i32], returns: i32 },
  dup3: { args: [i32, i32, i32], returns: i32 },
  flock: { args: [i32, i32], returns: i32 },
  openat: { args: [i32, P, i32, u32], returns: i32 },
  mkdirat: { args: [i32, P, u32], returns: i32 },
  symlinkat: { args: [P, i32, P], returns: i32 },
  readlinkat: { args: [i32, P, P, u64], returns: i64f },
  fchmod: { args: [i32, u32], returns: i32 },
  renameat: { args: [i32, P, i32, P], returns: i32 },
  getdents64: { args: [i32, P, u64], returns: i64f },
});

export const libc = lib.symbols;

export function errno(): number {
  return read.i32(libc.__errno_location()!, 0);
}

/** A NUL-terminated copy of a string for passing to C. */
export function cstr(s: string): Buffer {
  return Buffer.from(s + "\0");
}

/** A NULL-terminated array of C strings (argv, envp); `keep` holds the buffers alive. */
export function cstrArray(items: string[], keep: unknown[]): BigInt64Array {
  const arr = new BigInt64Array(items.length + 1);
  items.forEach((s, i) => {
    const b = cstr(s);
    keep.push(b);
    arr[i] = BigInt(ptr(b));
  });
  keep.push(arr);
  return arr;
}

/** Throws a SyscallError carrying the call, the path and errno when a libc call returned -1. */
export function check(ret: number | bigint, syscall: string, path?: string): number {
  if (Number(ret) === -1) throw new SyscallError(syscall, errno(), path);
  return Number(ret);
}
