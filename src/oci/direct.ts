// box oci create without an init of box's: this process builds the container on its main thread
// (which may unshare and enter namespaces of its own; see ../shared/platform-notes.md) and its
// process starts as stage2.c, PID 1 of the container's pid namespace from its first instruction.
// One Bun start per create instead of two: the init's took ~30 ms of every `box oci run`.
import { close, open, read, write } from "../sys/fs.ts";
import { CLONE_FS, CLONE_NEWNS, CLONE_NEWPID, NAMESPACE_FLAGS, O_DIRECTORY, O_PATH, O_RDONLY, O_RDWR, O_WRONLY, SIGKILL } from "../sys/constants.ts";
import { chdir, fchdir } from "../sys/mount.ts";
import { kill, pipe, setns, unshare, waitPid } from "../sys/process.ts";
import { loadSpawn, spawnFailure, spawnStaged, type SpawnOptions } from "../sys/spawn.ts";
import { libc } from "../sys/libc.ts";
import { describeError } from "../sys/errors.ts";
import { normalize } from "../path.ts";
import { joinFiles } from "../cgroup/paths.ts";
import { detectCgroups } from "../cgroup/detect.ts";
import { assembleRootfs, enterRootfs } from "../rootfs/setup.ts";
import type { ProcMounter } from "../rootfs/mounts.ts";
import { bringUpLoopback } from "../net/loopback.ts";
import { payloadRestrictions } from "../security/payload.ts";
import { nameContainer, payloadCgroupfs, payloadNamespaces, resolvePayload } from "../container/payload.ts";
import { pidNamespaceOf } from "../container/start.ts";
import { openNamespace } from "../container/launch.ts";
import { EXIT_BOX_ERROR } from "../container/errors.ts";
import type { Store } from "../container/store.ts";
import type { ContainerPaths, ContainerSpec } from "../container/spec.ts";
import { attachedOutput } from "../init/output.ts";
import type { InitMessage } from "../init/init.ts";
import { trace } from "../trace.ts";

/**
 * Whether this process can build the container; otherwise create starts box's init for it
 * (src/init/init.ts), which does the same from inside.
 */
export function buildsHere(spec: ContainerSpec): boolean {
  const rt = spec.runtime!;
  // A user namespace is entered only by a single-threaded process, before its mounts.
  if (spec.userns || spec.rootless) return false;
  // These run in the container before its process does, started by the init; the seccomp agent
  // is told the process's pid, which only exists once it runs.
  if (rt.hooks.startContainer?.length || spec.seccompAgent) return false;
  // A terminal: its pty comes from the container's devpts, mounted after the process started (at
  // /proc), which has its descriptors from its start.
  if (spec.tty) return false;
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

/**
 * The bundle's hooks of create, given the process's pid: `runtime` (prestart, createRuntime) in
 * box oci's own namespaces, `container` (createContainer) in the container's, in its rootfs.
 * Both before pivot_root, as runc runs them: a hook may mount into the rootfs at its path.
 */
export interface CreateHooks {
  runtime(pid: number): Promise<void>;
  container(pid: number, rootfs: string): Promise<void>;
}

/**
 * Builds the container as box's init would (namespaces, rootfs, hostname, terminal, pivot_root)
 * on this thread, with its process started in them as soon as its mounts are made (the hooks
 * are given its pid), and brings the thread back. `fifo`: the start FIFO, open O_RDWR (none: the
 * process starts as soon as it is created). The process reports {"created":true} on the sync
 * pipe once it is in every namespace and cgroup of the container.
 */
export async function buildHere(store: Store, spec: ContainerSpec, paths: ContainerPaths, o: { fifo?: number; spawned(pid: number): void; hooks?: CreateHooks }): Promise<BuiltHere> {
  loadSpawn();
  const layout = detectCgroups();
  const opened = new Set<number>();
  const keep = (fd: number) => (opened.add(fd), fd);
  const [syncRead, syncWrite] = pipe();
  keep(syncWrite);
  let started: ReturnType<typeof spawnStaged> | undefined;
  try {
    const cgroupJoin = joinFiles(paths.cgroups).map((file) => keep(open(file, O_WRONLY)));
    // Reopened from this process's stdio (through /proc), so opened before the container's root.
    const stdio = attachedOutput(spec, undefined).fds;
    for (const [fd] of stdio) if (fd > 2) keep(fd);
    const preserved = Array.from({ length: spec.runtime!.preserveFds ?? 0 }, (_, i): [number, number] => [3 + i, 3 + i]);
    // The process is made in a pid namespace of its own, the caller's, or one joined by path.
    const pidNamespace = pidNamespaceOf(store, spec);
    const theirPid = typeof pidNamespace === "object" ? keep(openNamespace(pidNamespace.path, "PID")) : undefined;
    const score = spec.oomScoreAdj === undefined ? undefined : keep(open("/proc/self/oom_score_adj", O_RDWR));
    const inside = enterNamespaces(spec);
    try {
      // The process starts when the mounts reach /proc, which it mounts (procfs shows the pid
      // namespace of whoever mounts it), and waits for the rest of its spec.
      const startProcess: ProcMounter = (target, m) => {
        started = withProcessAttributes(spec, score, () =>
          spawnStaged(
            {
              fds: [...stdio, ...preserved],
              cgroupJoin,
              shim: true,
              awaitStart: { fd: syncWrite, message: `${JSON.stringify({ created: true } satisfies InitMessage)}\n`, fifo: o.fifo },
            },
            { cloneFlags: pidNamespace === undefined ? CLONE_NEWPID : 0, ...(theirPid === undefined ? {} : { setns: [theirPid], forkInner: true }) },
            { target, flags: m.flags, data: m.data },
          ),
        );
        trace("cli", "oci-process-spawned");
      };
      // At the bundle's own path, as runc has it: a hook mounts into the rootfs by that path.
      const root = assembleRootfs(spec, paths, { at: spec.rootfs.kind === "dir" ? spec.rootfs.path : undefined, procBy: startProcess });
      // buildsHere saw to a proc mount: the process runs.
      const staged = started!;
      if (o.hooks) {
        inside.leave();
        o.spawned(staged.pid);
        await o.hooks.runtime(staged.pid);
        inside.enter();
        chdir(root);
        await o.hooks.container(staged.pid, root);
      }
      const payload = resolvePayload(spec, root, "/proc");
      enterRootfs(spec, root);
      trace("cli", "oci-rootfs-built");
      nameContainer(spec);
      const steps = {
        path: payload.exe,
        argv: spec.command,
        env: payload.env,
        unshareFlags: payloadNamespaces(spec),
        mounts: payloadCgroupfs(spec, layout),
        setsid: true,
        user: payload.user,
        cwd: spec.workdir,
        ...payloadRestrictions(spec),
      };
      staged.send(steps);
      // Back in its own namespaces, where the state is recorded (with hooks, it was before them).
      inside.done();
      if (!o.hooks) o.spawned(staged.pid);
      return { pid: staged.pid, syncRead, failure: () => failureOf(staged.errRead, steps) };
    } finally {
      inside.done();
    }
  } catch (e) {
    close(syncRead);
    const staged = started as ReturnType<typeof spawnStaged> | undefined;
    if (staged) {
      kill(staged.pid, SIGKILL);
      waitPid(staged.pid, false);
      close(staged.errRead);
    }
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

/**
 * This thread enters the container's namespaces: new mount, UTS, IPC and network ones (the
 * network's loopback up), or those the bundle names by path, or the caller's ("host"). `leave`
 * brings it back to its own namespaces and working directory, `enter` into the container's
 * again, `done` leaves for good.
 */
function enterNamespaces(spec: ContainerSpec): { leave(): void; enter(): void; done(): void } {
  const TYPES = ["mnt", "net", "uts", "ipc"] as const;
  const own = TYPES.map((type) => open(`/proc/thread-self/ns/${type}`, O_RDONLY));
  const cwd = open(".", O_PATH | O_DIRECTORY);
  let theirs: number[] = [];
  let inside = false;
  const join = (fds: number[], what: string) => {
    // A thread that shares its filesystem attributes (root, cwd) with others may not change its
    // mount namespace (EINVAL). Bun's threads share them, and so does a thread Bun or
    // JavaScriptCore starts from this one meanwhile (GC helpers, JIT worklists start lazily):
    // this thread takes a copy of its own each time. Such a thread stays where this one was
    // then; none of them opens files by path for box.
    unshare(CLONE_FS);
    for (const fd of fds) setns(fd, 0, what);
  };
  const leave = () => {
    if (!inside) return;
    join(own, "box oci's own namespaces");
    fchdir(cwd, "box oci's working directory");
    inside = false;
  };
  let released = false;
  const done = () => {
    if (released) return;
    released = true;
    try {
      leave();
    } finally {
      for (const fd of [...own, cwd, ...theirs]) close(fd);
    }
  };
  try {
    const choices = spec.namespaces ?? {};
    const mine = (["uts", "ipc", "net"] as const).filter((type) => choices[type] === undefined);
    unshare(CLONE_FS);
    inside = true;
    unshare(mine.reduce((flags, type) => flags | NAMESPACE_FLAGS[type], CLONE_NEWNS));
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
    if (mine.includes("net")) bringUpLoopback();
    theirs = TYPES.map((type) => open(`/proc/thread-self/ns/${type}`, O_RDONLY));
  } catch (e) {
    done();
    throw e;
  }
  const enter = () => {
    if (inside) return;
    join(theirs, "the container's namespaces");
    inside = true;
  };
  return { leave, enter, done };
}
