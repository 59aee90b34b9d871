// Signals, waiting and pipes: wrappers that throw SyscallError.
import { CString } from "bun:ffi";
import { check, cstr, cstrArray, errno, libc } from "./libc.ts";
import { readFile, readlink, write } from "./fs.ts";
import { Errno, SyscallError } from "./errors.ts";
import { AT_EMPTY_PATH, O_CLOEXEC, O_NONBLOCK, WNOHANG } from "./constants.ts";

/** Linux's signal names (x86_64) and numbers, without aliases such as SIGIOT and SIGPOLL. */
const SIGNALS: Record<string, number> = Object.fromEntries(
  [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
    "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
  ].map((n, i) => [`SIG${n}`, i + 1]),
);

/**
 * What box passes on (CLI → init → payload): every signal but the uncatchable two, SIGCHLD (each
 * process's own business) and SIGPIPE (a write of box's own failed, not the payload's).
 */
export const FORWARDED_SIGNALS = Object.entries(SIGNALS).filter(
  ([name]) => !["SIGKILL", "SIGSTOP", "SIGCHLD", "SIGPIPE"].includes(name),
);

/** The host's user namespace, as /proc/PID/ns/user names it (PROC_USER_INIT_INO). */
const HOST_USER_NAMESPACE = "user:[4026531837]";
let rootless: boolean | undefined;

/**
 * box runs without the host's root: as another user, or as root of a user namespace (a
 * container's, say). Its containers are rootless then, each in a user namespace of its own that
 * maps root to that user.
 */
export function isRootless(): boolean {
  return (rootless ??= process.geteuid!() !== 0 || readlink("/proc/self/ns/user") !== HOST_USER_NAMESPACE);
}

/** SIGTERM, TERM, term or 15; undefined for anything else. */
export function signalNumber(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) >= 1 && Number(text) <= 64 ? Number(text) : undefined;
  const upper = text.toUpperCase();
  return SIGNALS[upper.startsWith("SIG") ? upper : `SIG${upper}`];
}


/** How a process that signal N ended is said: "SIGSYS: bad system call" (the C library's words). */
export function signalDescription(signal: number): string {
  const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === signal) ?? `signal ${signal}`;
  const text = libc.strsignal(signal);
  return text ? `${name}: ${new CString(text).toString().toLowerCase()}` : name;
}

export function kill(pid: number, signal: number): boolean {
  if (libc.kill(pid, signal) === 0) return true;
  const e = errno();
  if (e === Errno.ESRCH) return false;
  throw new SyscallError("kill", e, String(pid));
}

export interface WaitResult {
  pid: number;
  /** Exit code as a shell reports it: the status, or 128+N for signal N. */
  code: number;
  signal?: number;
}

/** A wait status as a shell reports it. */
function decodeStatus(pid: number, status: number): WaitResult {
  const sig = status & 0x7f;
  if (sig === 0) return { pid, code: (status >> 8) & 0xff };
  return { pid, code: 128 + sig, signal: sig };
}

const statusBuf = new Int32Array(1);

/** waitpid; returns null when nothing has exited yet (WNOHANG) or there is no child left. */
export function waitPid(pid: number, nohang: boolean): WaitResult | null {
  for (;;) {
    const r = libc.waitpid(pid, statusBuf, nohang ? WNOHANG : 0);
    if (r > 0) return decodeStatus(r, statusBuf[0]!);
    if (r === 0) return null;
    const e = errno();
    if (e === Errno.EINTR) continue;
    if (e === Errno.ECHILD) return null;
    throw new SyscallError("waitpid", e, String(pid));
  }
}

/** A pipe whose both ends are close-on-exec; the spawn trampoline dup2s the ends a child needs. */
export function pipe(): [read: number, write: number] {
  const fds = new Int32Array(2);
  check(libc.pipe2(fds, O_CLOEXEC), "pipe2");
  return [fds[0]!, fds[1]!];
}

/**
 * Ends the process at once, skipping Bun's teardown of its heap (~1.5 ms). Only for a process
 * whose output all went through writeSync, so that nothing is left to flush.
 */
export function exitNow(code: number): never {
  libc._exit(code);
  throw new Error("unreachable");
}

const F_GETFL = 3;
const F_SETFL = 4;

/** Clears O_NONBLOCK, which Bun sets on its stdio, on the open file description behind `fd`. */
export function setBlocking(fd: number): void {
  const flags = check(libc.fcntl(fd, F_GETFL, 0), "fcntl F_GETFL");
  if (flags & O_NONBLOCK) check(libc.fcntl(fd, F_SETFL, flags & ~O_NONBLOCK), "fcntl F_SETFL");
}

/**
 * A process's start time (clock ticks after boot, /proc/PID/stat field 22): a pid that was reused
 * belongs to a process with another start time. Throws when there is no such process.
 */
/** `proc`: where the host's /proc is (an init reaches it through a descriptor after pivot_root). */
export function processIdentity(pid: number, proc = "/proc"): { start: number; zombie: boolean } {
  const fields = processStat(pid, proc);
  return { start: Number(fields[19]), zombie: fields[0] === "Z" || fields[0] === "X" };
}

/** /proc/PID/stat's fields after the command name: [0] is the state (field 3 of proc(5)). */
export function processStat(pid: number, proc = "/proc"): string[] {
  const stat = readFile(`${proc}/${pid}/stat`);
  // The command name (field 2) is in parentheses and may itself contain ") ".
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

const SYS_memfd_create = 319;
const SYS_execveat = 322;
const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
/** F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: the file stays as written, for good. */
const ALL_SEALS = 0x1 | 0x2 | 0x4 | 0x8;
const F_SETFD = 2;

/**
 * An anonymous file holding `bytes` (an executable to run with execAt), sealed: neither box nor
 * a container that reaches it can change it afterwards (the CVE-2019-5736 class).
 */
export function memoryFile(name: string, bytes: Uint8Array): number {
  const fd = check(libc.syscall(SYS_memfd_create, cstr(name), (MFD_CLOEXEC | MFD_ALLOW_SEALING) as never, null, null, null), "memfd_create", name);
  write(fd, bytes);
  check(libc.fcntl(fd, F_ADD_SEALS, ALL_SEALS), "fcntl F_ADD_SEALS", name);
  return fd;
}

/** execveat(fd, "", AT_EMPTY_PATH): replaces this process with the executable `fd` refers to. */
export function execAt(fd: number, argv: string[], env: string[]): never {
  const keep: unknown[] = [];
  const r = libc.syscall(SYS_execveat, fd as never, cstr(""), cstrArray(argv, keep), cstrArray(env, keep), AT_EMPTY_PATH as never);
  check(r, "execveat", argv[0]);
  throw new Error("unreachable");
}

const SYS_prctl = 157;
const PR_SET_DUMPABLE = 4;
const PR_SET_CHILD_SUBREAPER = 36;

/** Orphans below this process come to it, not to the PID namespace's init (another one's, or the host's). */
export function becomeSubreaper(): void {
  check(libc.syscall(SYS_prctl, PR_SET_CHILD_SUBREAPER as never, 1 as never, null, null, null), "prctl PR_SET_CHILD_SUBREAPER");
}

/**
 * Not dumpable: no process of the container may ptrace this one or open its /proc/PID/fd, where
 * descriptors of host directories are.
 */
export function setNotDumpable(): void {
  check(libc.syscall(SYS_prctl, PR_SET_DUMPABLE as never, null, null, null, null), "prctl PR_SET_DUMPABLE");
}

/** Lets `fd` survive execve (box's own descriptors are all close-on-exec). */
export function keepOpenAcrossExec(fd: number): void {
  check(libc.fcntl(fd, F_SETFD, 0), "fcntl F_SETFD", String(fd));
}

/** Makes `target` a copy of `fd` (dup2), e.g. to point stdio at /dev/null. */
export function redirectFd(fd: number, target: number): void {
  if (fd !== target) check(libc.dup3(fd, target, 0), "dup3", String(target));
}

/**
 * unshare(2) for the calling thread: new network, UTS and IPC namespaces belong to a thread (its
 * later children inherit them), so a multi-threaded process may make them; not a mount one.
 */
export function unshare(flags: number): void {
  check(libc.unshare(flags), "unshare");
}

/** setns(2) for the calling thread (its later children inherit it). */
export function setns(fd: number, nstype: number, what: string): void {
  check(libc.setns(fd, nstype), "setns", what);
}
