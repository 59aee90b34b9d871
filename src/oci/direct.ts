// box oci create without an init of box's: this process builds the container on its main thread
// (which may unshare and enter namespaces of its own; see ../shared/platform-notes.md) and its
// process starts as stage2.c, PID 1 of the container's pid namespace from its first instruction.
// One Bun start per create instead of two: the init's took ~30 ms of every `box oci run`.
import { close, fchown, open, read, write } from "../sys/fs.ts";
import { CLONE_FS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, MS_BIND, O_DIRECTORY, O_PATH, O_RDONLY, O_RDWR, O_WRONLY } from "../sys/constants.ts";
import { fchdir, mount, sethostname, setdomainname } from "../sys/mount.ts";
import { pipe, setns, unshare } from "../sys/process.ts";
import { loadSpawn, spawnFailure, spawnStaged, type SpawnOptions } from "../sys/spawn.ts";
import { libc } from "../sys/libc.ts";
import { openPty, setWindowSize } from "../sys/tty.ts";
import { sendFd } from "../sys/unix-socket.ts";
import { describeError } from "../sys/errors.ts";
import { normalize } from "../path.ts";
import { joinFiles } from "../cgroup/cgroups.ts";
import { detectCgroups } from "../cgroup/detect.ts";
import { assembleRootfs, cgroupfsReadOnly, enterRootfs, TTY_GID, wantsCgroupfs, type ProcByProcess } from "../rootfs/setup.ts";
import { prepareCgroupfs } from "../rootfs/cgroupfs.ts";
import { bringUpLoopback } from "../net/loopback.ts";
import { payloadRestrictions } from "../security/payload.ts";
import { hostOwner, initIds } from "../security/userns.ts";
import { payloadNamespaces, resolvePayload } from "../container/payload.ts";
import { pidNamespaceOf } from "../container/start.ts";
import { UserError, EXIT_BOX_ERROR } from "../container/errors.ts";
import type { Store } from "../container/store.ts";
import type { ContainerPaths, ContainerSpec } from "../container/spec.ts";
import { attachedOutput } from "../init/output.ts";
import type { InitMessage } from "../init/init.ts";
import { trace } from "../trace.ts";

/**
 * Whether this process can build the container; otherwise create starts box's init for it
 * (src/init/init.ts), which does the same from inside.
 */
export function buildsHere(spec: ContainerSpec, consoleSocket: boolean): boolean {
  const rt = spec.runtime!;
  // A user namespace is entered only by a single-threaded process, before its mounts.
  if (spec.userns || spec.rootless) return false;
  // These run in the container before its process does, started by the init; the seccomp agent
  // is told the process's pid, which only exists once it runs.
  if (rt.hooks.startContainer?.length || spec.seccompAgent) return false;
  // A terminal the init relays (`box oci run` of a terminal in the foreground, no console socket).
  if (spec.tty && !consoleSocket) return false;
  // procfs is the process's to mount: one, at /proc, and nothing on it (lxcfs's files).
  const onProc = rt.mounts.filter((m) => /^\/proc(\/|$)/.test(normalize(m.destination)));
  return onProc.length === 1 && onProc[0]!.type === "proc" && normalize(onProc[0]!.destination) === "/proc";
}

/** The container's process, waiting in stage2.c: its pid, its sync pipe, what failed if it ended. */
export interface BuiltHere {
  pid: number;
  syncRead: number;
  /** Why the process ended before it reported "created" (from its error pipe, which this closes). */
  failure(): InitMessage | undefined;
}

const NAMESPACE_FLAGS = { uts: CLONE_NEWUTS, ipc: CLONE_NEWIPC, net: CLONE_NEWNET } as const;

/**
 * Builds the container as box's init would (namespaces, rootfs, pivot_root, hostname, terminal)
 * on this thread, starts its process in them, and brings the thread back. `fifo`: the start FIFO,
 * open O_RDWR (none: the process starts as soon as it is created). The process reports
 * {"created":true} on the sync pipe once it is in every namespace and cgroup of the container.
 */
export function buildHere(store: Store, spec: ContainerSpec, paths: ContainerPaths, o: { consoleSocket?: number; fifo?: number }): BuiltHere {
  loadSpawn();
  const layout = detectCgroups();
  const opened = new Set<number>();
  const keep = (fd: number) => (opened.add(fd), fd);
  const [syncRead, syncWrite] = pipe();
  keep(syncWrite);
  try {
    const cgroupJoin = joinFiles(paths.cgroups).map((file) => keep(open(file, O_WRONLY)));
    const procLater: ProcByProcess = { mounts: [], hostProc: keep(open("/proc", O_PATH | O_DIRECTORY)) };
    // Reopened from this process's stdio (through /proc), so opened before the container's root.
    const stdio = spec.tty ? undefined : attachedOutput(spec, undefined).fds;
    for (const [fd] of stdio ?? []) if (fd > 2) keep(fd);
    // The process is made in a pid namespace of its own, the caller's, or one joined by path.
    const pidNamespace = pidNamespaceOf(store, spec);
    const theirPid = typeof pidNamespace === "object" ? keep(openNamespace(pidNamespace.path, "PID")) : undefined;
    const score = spec.oomScoreAdj === undefined ? undefined : keep(open("/proc/self/oom_score_adj", O_RDWR));
    const leave = enterNamespaces(spec);
    try {
      const root = assembleRootfs(spec, paths, {}, procLater);
      const payload = resolvePayload(spec, root, "/proc");
      enterRootfs(spec, root, procLater);
      trace("cli", "oci-rootfs-built");
      if (spec.namespaces?.uts !== "host" && spec.hostname) sethostname(spec.hostname);
      if (spec.domainname) setdomainname(spec.domainname);
      let fds = stdio;
      if (spec.tty) {
        const pty = openPty("/dev/ptmx");
        keep(pty.slave);
        try {
          if (spec.runtime!.consoleSize) setWindowSize(pty.master, spec.runtime!.consoleSize.rows, spec.runtime!.consoleSize.columns);
          mount(pty.slavePath, "/dev/console", null, MS_BIND);
          // The caller (containerd's shim) relays the terminal: this process keeps no master.
          sendFd(o.consoleSocket!, pty.master, "/dev/ptmx");
        } finally {
          close(pty.master);
        }
        // The process owns its terminal, group tty (5) as devpts's gid=5 option has it.
        fchown(pty.slave, ...hostOwner(initIds(spec), payload.user.uid, TTY_GID));
        fds = [[pty.slave, 0], [pty.slave, 1], [pty.slave, 2]];
      }
      const cgroupMounts = wantsCgroupfs(spec) ? prepareCgroupfs(layout, cgroupfsReadOnly(spec)) : [];
      const preserved = Array.from({ length: spec.runtime!.preserveFds ?? 0 }, (_, i): [number, number] => [3 + i, 3 + i]);
      const steps: SpawnOptions = {
        path: payload.exe,
        argv: spec.command,
        env: payload.env,
        fds: [...fds!, ...preserved],
        cgroupJoin,
        unshareFlags: payloadNamespaces(spec),
        mounts: [...procLater.mounts, ...cgroupMounts],
        setsid: true,
        controllingTty: spec.tty,
        user: payload.user,
        cwd: spec.workdir,
        ...payloadRestrictions(spec),
        shim: true,
        awaitStart: { fd: syncWrite, message: `${JSON.stringify({ created: true } satisfies InitMessage)}\n`, fifo: o.fifo },
      };
      const { pid, errRead } = withProcessAttributes(spec, score, () =>
        spawnStaged(steps, {
          cloneFlags: pidNamespace === undefined ? CLONE_NEWPID : 0,
          ...(theirPid === undefined ? {} : { setns: [theirPid], forkInner: true }),
        }),
      );
      trace("cli", "oci-process-spawned");
      return { pid, syncRead, failure: () => failureOf(errRead, steps) };
    } finally {
      leave();
    }
  } catch (e) {
    close(syncRead);
    throw e;
  } finally {
    for (const fd of opened) close(fd);
  }
}

/**
 * The umask and OOM score a bundle gives its process: this process's while it is made, inherited.
 * `score`: this process's oom_score_adj, open (there is no /proc where this thread is by then).
 */
function withProcessAttributes<T>(spec: ContainerSpec, score: number | undefined, make: () => T): T {
  const umask = spec.runtime!.umask === undefined ? undefined : libc.umask(spec.runtime!.umask);
  const buf = new Uint8Array(32);
  const own = score === undefined ? undefined : Buffer.from(buf.subarray(0, read(score, buf))).toString().trim();
  try {
    if (score !== undefined) write(score, String(spec.oomScoreAdj), "process.oomScoreAdj");
    return make();
  } finally {
    if (umask !== undefined) libc.umask(umask);
    if (own !== undefined) write(score!, own, "oom_score_adj");
  }
}

function failureOf(errRead: number, steps: SpawnOptions): InitMessage | undefined {
  try {
    const failed = spawnFailure(errRead, steps);
    return failed && { error: describeError(failed), code: EXIT_BOX_ERROR };
  } finally {
    close(errRead);
  }
}

function openNamespace(path: string, what: string): number {
  try {
    return open(path, O_RDONLY);
  } catch (e) {
    throw new UserError(`${what} namespace ${path}: ${describeError(e)}`);
  }
}

/**
 * This thread enters the container's namespaces: new mount, UTS, IPC and network ones (the
 * network's loopback up), or those the bundle names by path, or the caller's ("host"). Returns
 * what brings it back, to its own namespaces and working directory.
 */
function enterNamespaces(spec: ContainerSpec): () => void {
  const saved = (["mnt", "net", "uts", "ipc"] as const).map((type) => open(`/proc/thread-self/ns/${type}`, O_RDONLY));
  const cwd = open(".", O_PATH | O_DIRECTORY);
  const leave = () => {
    try {
      // A thread Bun or JavaScriptCore started from this one meanwhile (a GC helper, a JIT
      // worklist: they start lazily) shares its filesystem attributes, and then setns of a mount
      // namespace says EINVAL: this thread takes a copy of its own again. Such a thread stays in
      // the container's namespaces and root; none of them opens files by path for box.
      unshare(CLONE_FS);
      for (const fd of saved) setns(fd, 0, "box oci's own namespaces");
      fchdir(cwd, "box oci's working directory");
    } finally {
      for (const fd of [...saved, cwd]) close(fd);
    }
  };
  try {
    const choices = spec.namespaces ?? {};
    const own = (["uts", "ipc", "net"] as const).filter((type) => choices[type] === undefined);
    // A thread that shares its filesystem attributes (root, cwd) with others may not change its mount namespace.
    unshare(CLONE_FS);
    unshare(own.reduce((flags, type) => flags | NAMESPACE_FLAGS[type], CLONE_NEWNS));
    for (const type of ["uts", "ipc", "net"] as const) {
      const choice = choices[type];
      if (typeof choice !== "object") continue;
      const fd = openNamespace(choice.path, type);
      try {
        setns(fd, NAMESPACE_FLAGS[type], `${type} namespace ${choice.path}`);
      } finally {
        close(fd);
      }
    }
    if (own.includes("net")) bringUpLoopback();
  } catch (e) {
    leave();
    throw e;
  }
  return leave;
}
