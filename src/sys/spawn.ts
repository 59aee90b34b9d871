// Starts a process through the C trampoline in spawn.c: namespaces, cgroup, session,
// credentials and capabilities are set in the child between fork and exec.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { close, read, write } from "./fs.ts";
// Built by `bun run build` (build/spawn-lib.ts) and embedded in the executable.
import library from "../../dist/libboxspawn.so.b64" with { type: "text" };
// The exec shim (src/sys/shim.c), a static executable of about 1 KB.
import shimExecutable from "../../dist/box-shim.b64" with { type: "text" };
// The child's steps as a program of their own (src/sys/stage2.c), for execInPlace with a user namespace.
import stage2Executable from "../../dist/box-stage2.b64" with { type: "text" };
import { Errno, SyscallError } from "./errors.ts";
import { execAt, keepOpenAcrossExec, memoryFile, pipe, waitPid } from "./process.ts";
import { cstr, cstrArray } from "./libc.ts";

let trampoline: ((spec: BigInt64Array) => bigint) | undefined;
let inPlace: ((spec: BigInt64Array) => bigint) | undefined;
let holder: (() => bigint) | undefined;
let mountCopier: ((copy: BigInt64Array) => bigint) | undefined;

/** Loads the trampoline (from a memfd: it is no file of its own); call before pivot_root. */
export function loadSpawn(): void {
  if (trampoline) return;
  const memfd = memoryFile("box-spawn", Buffer.from(library, "base64"));
  try {
    const lib = dlopen(`/proc/self/fd/${memfd}`, {
      box_spawn: { args: [FFIType.ptr], returns: FFIType.i64 },
      box_exec: { args: [FFIType.ptr], returns: FFIType.i64 },
      box_userns_holder: { args: [], returns: FFIType.i64 },
      box_copy_mount: { args: [FFIType.ptr], returns: FFIType.i64 },
    }).symbols;
    trampoline = (spec) => lib.box_spawn(spec) as bigint;
    inPlace = (spec) => lib.box_exec(spec) as bigint;
    holder = () => lib.box_userns_holder() as bigint;
    mountCopier = (copy) => lib.box_copy_mount(copy) as bigint;
  } finally {
    close(memfd);
  }
}

export interface SpawnOptions {
  path: string;
  argv: string[];
  env: string[];
  /** Namespaces the child is created in (CLONE_NEW*). */
  cloneFlags?: number;
  /** Descriptors the child gets: [parent fd, child fd]. Everything else closes at exec. */
  fds?: [number, number][];
  /** Open cgroup files the (single-threaded) child writes "0" into, before anything else runs. */
  cgroupJoin?: number[];
  /** Namespaces entered after joining the cgroups (cgroup ns rooted there; time ns). */
  unshareFlags?: number;
  setsid?: boolean;
  /** Make fd 0 (a terminal) the controlling terminal; needs setsid. */
  controllingTty?: boolean;
  /** groups undefined: no setgroups (a rootless user namespace refuses it). */
  user?: { uid: number; gid: number; groups?: number[] };
  /**
   * Capabilities kept in the bounding set, and for uid 0 in the permitted and effective sets; or,
   * with `sets`, each set as given (within `keep`), for any user (an OCI process's).
   */
  capabilities?: { keep: bigint; sets?: { effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint } };
  cwd?: string;
  parentDeathSignal?: number;
  /** Mounts the child makes once in its namespaces (after unshareFlags), before anything else. */
  mounts?: { source: string; target: string; fstype: string; flags: number; data?: string }[];
  /** Namespaces to join (open /proc/PID/ns/* descriptors), after the cgroup join. */
  setns?: number[];
  /**
   * Fork once more after setns, so that the process is inside a joined pid namespace (setns of
   * a pid namespace applies to children only). The returned pid is that inner process's.
   */
  forkInner?: boolean;
  /**
   * Exec through the shim (src/sys/shim.c) from a sealed memfd, so that the new process never
   * runs box's own binary (a `#!/proc/self/exe` payload would: CVE-2019-5736). For everything
   * started in a container.
   */
  shim?: boolean;
  /** With the shim: further executables to try, in order, while execve of the previous says ENOENT ($PATH). */
  alternatives?: string[];
  /** setrlimit before the user switch: RLIMIT_* number, soft, hard (-1: unlimited). */
  rlimits?: { resource: number; soft: number; hard: number }[];
  /** PR_SET_NO_NEW_PRIVS before execve. */
  noNewPrivileges?: boolean;
  /** A compiled seccomp filter (struct sock_filter[]), loaded before the capabilities go. */
  seccomp?: Buffer;
  /**
   * A user namespace (an open /proc/PID/ns/user) entered after every other namespace and mount,
   * before the user switch; the child forks once more for it (as with forkInner).
   */
  userns?: number;
  /**
   * With CLONE_NEWUSER in cloneFlags: the child maps root in it to the caller's effective uid and
   * gid itself, first thing (setgroups "deny", as the kernel requires of an unprivileged writer).
   */
  ownMaps?: boolean;
  /**
   * A user namespace to enter before the setns list (a rootless container's: it owns the other
   * namespaces, which only its root may join). The child then does not share Bun's memory.
   */
  joinUserNamespaceFirst?: number;
  /** A sealed memfd of box's own program to exec (with argv) instead of `path`; not with the shim. */
  program?: number;
  /**
   * box oci create: once in every namespace (after the mounts and the user namespace), the child
   * writes `message` to `fd`; then, with `fifo` (the start FIFO, open O_RDWR), it waits for one
   * byte on it before the user switch.
   */
  awaitStart?: { fd: number; message: string; fifo?: number };
  /** seccomp(2)'s flags for the filter (SECCOMP_FILTER_FLAG_*). */
  seccompFlags?: number;
  /**
   * A filter that notifies: the child loads it with a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER),
   * sends that with `message` over `socket` (connected to the seccomp agent), and closes both.
   */
  seccompAgent?: { socket: number; message: string };
}

let shimFd: number | undefined;

/**
 * The shim in a sealed memfd, made once per process (close-on-exec: box's own execs drop it);
 * the init makes it ahead, while it waits for its plan.
 */
export function shimFile(): number {
  return (shimFd ??= memoryFile("box-shim", Buffer.from(shimExecutable, "base64")));
}

/** Stages reported by the child, in spawn.c's order. */
const STAGES = [
  "", "prctl PR_SET_PDEATHSIG", "dup3", "cgroup join", "unshare", "setsid", "ioctl TIOCSCTTY",
  "prctl PR_CAPBSET_DROP", "setgroups", "setresgid", "setresuid", "capset", "chdir", "execve", "mount",
  "setns", "clone", "prlimit64", "prctl PR_SET_NO_NEW_PRIVS", "seccomp", "setns user namespace", "write setgroups, uid_map, gid_map",
  "chdir: the working directory is outside the container", "close_range", "getcwd", "wait for start",
  "sendmsg of the seccomp listener to the agent",
];

export class SpawnError extends SyscallError {
  constructor(readonly stage: string, errno: number, path?: string) {
    super(stage, errno, path);
  }
}

/**
 * spawn.c's struct spawn_spec for `o`; `keep` holds what its pointers point to until the call.
 * `errWrite` -1: errors go to stderr as one line (execInPlace), the shim's as well.
 */
type Data = Buffer | Int32Array | Uint32Array | BigInt64Array;

/** Where spawnSpec's pointers point: this process's memory (`keep` holds it), or a Serialized image's offsets. */
interface Encoder {
  bytes(v: Data): bigint;
  strings(items: string[]): bigint;
}

function inMemory(keep: unknown[]): Encoder {
  return {
    bytes(v) {
      keep.push(v);
      return BigInt(ptr(v));
    },
    strings(items) {
      return this.bytes(cstrArray(items, keep));
    },
  };
}

/** An offset as a serialized image marks it (no address of this process, no number of the spec has this bit). */
const OFFSET = 1n << 61n;

/**
 * The spec as one image for stage2.c, with no address of this process in it: every pointer an
 * offset into the data, listed so that the program adds its own address to each.
 */
class Serialized implements Encoder {
  private parts: Uint8Array[] = [];
  private size = 0;
  private pointers: number[] = [];

  bytes(v: Data): bigint {
    const at = this.size;
    if (v instanceof BigInt64Array) {
      const words = BigInt64Array.from(v, (w, i) => {
        if (w < 0n || !(w & OFFSET)) return w;
        this.pointers.push(at + i * 8);
        return w & ~OFFSET;
      });
      v = words;
    }
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8 || 8);
    padded.set(bytes);
    this.parts.push(padded);
    this.size += padded.length;
    return OFFSET | BigInt(at);
  }

  strings(items: string[]): bigint {
    return this.bytes(BigInt64Array.from([...items.map((s) => this.bytes(cstr(s))), 0n]));
  }

  /** The image: the header's offset, the pointers' count and offsets, the data. */
  image(header: bigint): Uint8Array {
    const head = BigInt64Array.from([header & ~OFFSET, BigInt(this.pointers.length), ...this.pointers.map(BigInt)]);
    return Buffer.concat([new Uint8Array(head.buffer), ...this.parts]);
  }
}

function spawnSpec(o: SpawnOptions, enc: Encoder, errWrite: number, forkInner: boolean, pidWrite: number, shim = o.shim ? shimFile() : -1): BigInt64Array {
  const p = (v: Data) => enc.bytes(v);
  const fdPairs = Int32Array.from((o.fds ?? []).flat());
  const cgroups = Int32Array.from(o.cgroupJoin ?? []);
  const groups = Uint32Array.from(o.user?.groups ?? []);
  return new BigInt64Array([
    BigInt(o.cloneFlags ?? 0),
    p(cstr(o.path)),
    // With the shim, the payload's argv goes in the shim's (below).
    o.shim ? 0n : enc.strings(o.argv),
    enc.strings(o.env),
    BigInt(fdPairs.length / 2),
    fdPairs.length ? p(fdPairs) : 0n,
    BigInt(cgroups.length),
    cgroups.length ? p(cgroups) : 0n,
    BigInt(o.unshareFlags ?? 0),
    o.setsid ? 1n : 0n,
    o.controllingTty ? 1n : 0n,
    o.user ? 1n : 0n,
    BigInt(o.user?.uid ?? 0),
    BigInt(o.user?.gid ?? 0),
    BigInt(o.user?.groups ? groups.length : -1),
    groups.length ? p(groups) : 0n,
    o.capabilities ? 1n : 0n,
    BigInt.asIntN(64, o.capabilities?.keep ?? 0n),
    o.cwd ? p(cstr(o.cwd)) : 0n,
    BigInt(errWrite),
    BigInt(o.parentDeathSignal ?? 0),
    BigInt(o.mounts?.length ?? 0),
    o.mounts?.length
      ? p(BigInt64Array.from(o.mounts.flatMap((m) => [p(cstr(m.source)), p(cstr(m.target)), p(cstr(m.fstype)), BigInt(m.flags), m.data === undefined ? 0n : p(cstr(m.data))])))
      : 0n,
    BigInt(o.setns?.length ?? 0),
    o.setns?.length ? p(Int32Array.from(o.setns)) : 0n,
    forkInner ? 1n : 0n,
    BigInt(pidWrite),
    BigInt(shim),
    // The shim's argv: the error pipe (closed once a create has reported), the candidate paths, the payload's argv.
    o.shim ? enc.strings([errWrite < 0 || o.awaitStart ? "-" : String(errWrite), String(1 + (o.alternatives?.length ?? 0)), o.path, ...(o.alternatives ?? []), ...o.argv]) : 0n,
    BigInt(o.rlimits?.length ?? 0),
    // -1 is RLIM_INFINITY (all ones) as a 64-bit value.
    o.rlimits?.length ? p(BigInt64Array.from(o.rlimits.flatMap((l) => [BigInt(l.resource), BigInt(l.soft), BigInt(l.hard)]))) : 0n,
    o.noNewPrivileges ? 1n : 0n,
    BigInt(o.seccomp ? o.seccomp.length / 8 : 0),
    o.seccomp ? p(o.seccomp) : 0n,
    BigInt(o.userns ?? -1),
    o.ownMaps ? enc.strings(["deny", `0 ${process.geteuid!()} 1`, `0 ${process.getegid!()} 1`]) : 0n,
    BigInt(o.joinUserNamespaceFirst ?? -1),
    BigInt(o.program ?? -1),
    o.capabilities?.sets ? 1n : 0n,
    ...(["effective", "permitted", "inheritable", "ambient"] as const).map((k) => BigInt.asIntN(64, o.capabilities?.sets?.[k] ?? 0n)),
    BigInt(o.awaitStart?.fd ?? -1),
    o.awaitStart ? p(Buffer.from(o.awaitStart.message)) : 0n,
    BigInt(o.awaitStart ? Buffer.byteLength(o.awaitStart.message) : 0),
    BigInt(o.awaitStart?.fifo ?? -1),
    BigInt(o.seccompFlags ?? 0),
    BigInt(o.seccompAgent?.socket ?? -1),
    o.seccompAgent ? p(Buffer.from(o.seccompAgent.message)) : 0n,
    BigInt(o.seccompAgent ? Buffer.byteLength(o.seccompAgent.message) : 0),
  ]);
}

/** The step that failed, as the child reported it on the error pipe; undefined once that is closed without a report. */
export function spawnFailure(errRead: number, o: Pick<SpawnOptions, "path" | "cwd">): SpawnError | undefined {
  const report = new Int32Array(2);
  if (read(errRead, new Uint8Array(report.buffer)) !== 8) return undefined;
  const stage = STAGES[report[0]!] ?? "spawn";
  return new SpawnError(stage, report[1]!, stage === "execve" ? o.path : stage.startsWith("chdir") ? o.cwd : undefined);
}

/** Starts the child and waits until it has exec'd; throws SpawnError naming the stage that failed. */
export function spawn(o: SpawnOptions): number {
  const box_spawn = trampoline;
  if (!box_spawn) throw new Error("spawn: loadSpawn() was not called");
  const keep: unknown[] = [];
  const [errRead, errWrite] = pipe();
  // A user namespace can only be entered by a child with a memory of its own: the inner one.
  const forkInner = o.forkInner || o.userns !== undefined;
  const [pidRead, pidWrite] = forkInner ? pipe() : [-1, -1];
  const spec = spawnSpec(o, inMemory(keep), errWrite, forkInner, pidWrite);
  const outer = Number(box_spawn(spec));
  close(errWrite);
  if (forkInner) close(pidWrite);
  try {
    if (outer < 0) throw new SpawnError("clone", -outer);
    let pid = outer;
    if (forkInner) {
      // The outer child exits at once: after writing the inner one's pid, or failing before the fork.
      waitPid(outer, false);
      const inner = new Int32Array(1);
      pid = read(pidRead, new Uint8Array(inner.buffer)) === 4 ? inner[0]! : 0;
    }
    const failure = spawnFailure(errRead, o);
    if (failure) {
      if (pid > 0) waitPid(pid, false);
      throw failure;
    }
    if (pid <= 0) throw new SpawnError("fork into the pid namespace", Errno.ESRCH);
    return pid;
  } finally {
    close(errRead);
    if (forkInner) close(pidRead);
    keep.length = 0;
  }
}

/**
 * This process becomes `o`'s program: the child's steps (cgroups, credentials, capabilities,
 * seccomp, the shim's exec) done on this thread, whose pid the program keeps. Returns only when
 * `o` asks for what a multi-threaded process cannot do (a user namespace, a new session); a step
 * that fails after that is one line on stderr and exit 127.
 */
export function execInPlace(o: SpawnOptions): never {
  if (!inPlace) throw new Error("spawn: loadSpawn() was not called");
  const keep: unknown[] = [];
  const ret = Number(inPlace(spawnSpec(o, inMemory(keep), -1, false, -1)));
  keep.length = 0;
  throw new SpawnError("exec in place", -ret);
}

function stage2Program(): number {
  return memoryFile("box-stage2", Buffer.from(stage2Executable, "base64"));
}

/**
 * execInPlace for a process that enters a user namespace, which only a single-threaded process
 * may: this process execs stage2.c in place (the pid stays), with the spec serialized in a sealed
 * memfd, and stage2 takes every step and execs `o`'s program. A failed step is one line on stderr
 * and exit 127.
 */
export function execInPlaceSingleThreaded(o: SpawnOptions): never {
  const image = new Serialized();
  const header = image.bytes(spawnSpec(o, image, -1, false, -1));
  const spec = memoryFile("box-spec", image.image(header));
  // What the spec names by number must be there after the exec.
  const keep = (fd: number) => (keepOpenAcrossExec(fd), fd);
  throughDescriptors(o, keep);
  for (const fd of [o.program, o.shim ? shimFile() : undefined, spec]) if (fd !== undefined && fd >= 0) keep(fd);
  return execAt(stage2Program(), ["box", String(spec)], []);
}

/** The descriptors a spec names, which stage2 must have from its start. */
type Descriptors = Pick<SpawnOptions, "fds" | "cgroupJoin" | "setns" | "userns" | "awaitStart" | "seccompAgent" | "shim">;

/** `o`'s descriptor fields with each descriptor through `f` (renumbered, or kept across an exec). */
function throughDescriptors(o: Descriptors, f: (fd: number) => number): Descriptors {
  const maybe = (fd: number | undefined) => (fd === undefined || fd < 0 ? fd : f(fd));
  return {
    fds: o.fds?.map(([from, to]) => [f(from), to]),
    cgroupJoin: o.cgroupJoin?.map(f),
    setns: o.setns?.map(f),
    userns: maybe(o.userns),
    awaitStart: o.awaitStart && { ...o.awaitStart, fd: f(o.awaitStart.fd), fifo: maybe(o.awaitStart.fifo) },
    seccompAgent: o.seccompAgent && { ...o.seccompAgent, socket: f(o.seccompAgent.socket) },
    shim: o.shim,
  };
}

/**
 * Starts a process that takes every step in stage2.c (single-threaded, so it may wait for
 * start): the trampoline's child, made as `outer` says (the namespaces it is created in, a pid
 * namespace it joins), execs stage2 with the descriptors `named` names, numbered anew from 3, and
 * a pipe, on which it waits for the rest of its spec: `send` writes it. With `proc`, it first
 * mounts procfs there (in its pid namespace) and this returns once it has. So the process exists
 * (in the container's namespaces, for box oci's hooks) before its executable or its user are
 * known. Returns its pid once stage2 runs, and the error pipe, on which stage2 reports a failed
 * step (spawnFailure) until it has written `named.awaitStart`'s message.
 */
export function spawnStaged(named: Descriptors, outer: Pick<SpawnOptions, "cloneFlags" | "setns" | "forkInner">, proc?: { target: string; flags: number; data?: string }): { pid: number; errRead: number; send(rest: Omit<SpawnOptions, keyof Descriptors>): void } {
  const [errRead, errWrite] = pipe();
  const [specRead, specWrite] = pipe();
  const passed: [number, number][] = [];
  const as = (fd: number) => {
    const known = passed.find(([from]) => from === fd);
    if (known) return known[1];
    passed.push([fd, 3 + passed.length]);
    return 2 + passed.length;
  };
  const renumbered = throughDescriptors(named, as);
  const err = as(errWrite);
  const shim = named.shim ? as(shimFile()) : -1;
  const program = stage2Program();
  let pid: number;
  const mountProc = proc ? [String(err), proc.target, String(proc.flags), ...(proc.data === undefined ? [] : [proc.data])] : [];
  try {
    // The child takes `outer`'s setns descriptors after moving the others to their numbers: by theirs too.
    const setns = outer.setns?.map(as);
    pid = spawn({ ...outer, setns, path: "box-stage2", argv: ["box", String(as(specRead)), ...mountProc], env: [], program, fds: passed });
  } catch (e) {
    for (const fd of [errRead, specWrite]) close(fd);
    throw e;
  } finally {
    for (const fd of [errWrite, specRead, program]) close(fd);
  }
  if (proc) {
    // Its first step: {0, 0} once /proc is mounted.
    const report = new Int32Array(2);
    const n = read(errRead, new Uint8Array(report.buffer));
    if (n !== 8 || report[0] !== 0) {
      waitPid(pid, false);
      for (const fd of [errRead, specWrite]) close(fd);
      throw new SpawnError(n === 8 ? (STAGES[report[0]!] ?? "spawn") : "mount", n === 8 ? report[1]! : Errno.ESRCH, proc.target);
    }
  }
  return {
    pid,
    errRead,
    send(rest) {
      try {
        const image = new Serialized();
        const header = image.bytes(spawnSpec({ ...rest, ...renumbered }, image, err, false, -1, shim));
        write(specWrite, image.image(header));
      } finally {
        close(specWrite);
      }
    },
  };
}

/**
 * Starts a process in a new user namespace that does nothing until it is SIGKILLed (spawn.c's
 * box_userns_holder); its pid, or a SpawnError. Call loadSpawn() first.
 */
export function userNamespaceHolder(): number {
  if (!holder) throw new Error("spawn: loadSpawn() was not called");
  const pid = Number(holder());
  if (pid < 0) throw new SpawnError("clone CLONE_NEWUSER", -pid);
  return pid;
}

const COPY_STAGES = ["clone", "setns", "open /", "openat2", "open_tree"];

/**
 * A detached copy (open_tree) of the mount at `path` in the mount namespace `nsFd`, `path`
 * resolved inside that namespace's root: spawn.c's box_copy_mount, whose child enters the
 * namespace so that no thread of this process ever does. Call loadSpawn() first.
 */
export function copyMountIn(nsFd: number, path: string, shown: string): number {
  if (!mountCopier) throw new Error("spawn: loadSpawn() was not called");
  const where = cstr(path);
  const copy = new BigInt64Array([BigInt(nsFd), BigInt(ptr(where)), 0n]);
  const pid = Number(mountCopier(copy));
  if (pid < 0) throw new SyscallError("clone", -pid, shown);
  // Gone already (CLONE_VFORK); reaped here unless the init's own reaper came first.
  waitPid(pid, false);
  const result = Number(copy[2]);
  if (result >= 0) return result;
  throw new SyscallError(COPY_STAGES[-result >> 16] ?? "copy mount", -result & 0xffff, shown);
}

