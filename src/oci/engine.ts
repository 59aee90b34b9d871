// The runtime spec's lifecycle on box's engine: create (the init builds the container, then
// waits), start (a FIFO handshake, as runc's exec.fifo), state, kill, delete. A container of
// `box oci` is an ordinary box container of the store `--root` names, with the bundle's spec.
import { close, exists, isErrno, open, read, unlink, write, writeFile, writeFileAtomic } from "../sys/fs.ts";
import { detectCgroups } from "../cgroup/detect.ts";
import { libc } from "../sys/libc.ts";
import { join } from "../path.ts";
import { describeError, Errno } from "../sys/errors.ts";
import { connectUnix } from "../sys/unix-socket.ts";
import { O_NONBLOCK, O_RDONLY, O_WRONLY, S_IFIFO, SIGKILL } from "../sys/constants.ts";
import { mknod } from "../sys/mount.ts";
import { kill, waitPid } from "../sys/process.ts";
import { UserError } from "../container/errors.ts";
import { createContainer, removeContainer } from "../container/create.ts";
import { failedStart, forwardSignals, InitMessages, pidNamespaceOf, sendPlan } from "../container/start.ts";
import { abandonInit, launchInit, takeEarlyInit, type PendingInit } from "../container/launch.ts";
import { containerConfig, containerPaths, layout, readState, type Store } from "../container/store.ts";
import { moveFrom } from "../container/lifecycle.ts";
import { lockContainer } from "../container/lock.ts";
import { containerProcess, liveContainer, sameProcess } from "../container/live.ts";
import { cgroupProcesses, containerCgroupDirs } from "../cgroup/cgroups.ts";
import { setFrozen } from "../cgroup/freezer.ts";
import type { ContainerPaths, ContainerSpec } from "../container/spec.ts";
import { runHooks } from "./hooks.ts";
import { killContainer as killLive } from "../container/control.ts";
import { setPaused } from "../container/pause.ts";
import { processSpec, resources } from "./config.ts";
import { changesSomething, updateLimits } from "../container/update.ts";
import { readStats } from "../cgroup/stats.ts";
import { oomKills } from "../cgroup/events.ts";
import { execInContainer } from "../container/exec.ts";
import { payloadRestrictions } from "../security/payload.ts";
import { warn } from "./log.ts";
import { hookState, OCI_VERSION, type OciState, type OciStatus } from "./state.ts";
import { UNRECORDED_EXIT } from "../container/describe.ts";
import { trace } from "../trace.ts";

/** In the container's run dir; its existence is what "created" means (as runc's exec.fifo). */
const START_FIFO = "exec.fifo";

interface Found {
  spec: ContainerSpec;
  paths: ContainerPaths;
  pid?: number;
  /** The process's start time, which tells it from a process that got its pid later. */
  pidStart?: number;
  status: OciStatus;
}

export function containerExists(store: Store, id: string): boolean {
  return exists(join(store.root, layout.container(id)));
}

function find(store: Store, id: string): Found {
  let spec: ContainerSpec;
  try {
    spec = containerConfig(store, id);
  } catch {
    throw new UserError(`container ${id} does not exist`);
  }
  const paths = containerPaths(store, id, containerCgroupDirs(spec));
  const state = readState(paths);
  const pid = containerProcess(store, spec, state);
  let status: OciStatus = "stopped";
  if (pid !== undefined) {
    if (exists(join(paths.runDir, START_FIFO))) status = state?.status === "created" ? "created" : "creating";
    else status = state?.status === "paused" ? "paused" : "running";
  }
  return { spec, paths, pid, pidStart: state?.pidStart, status };
}

export function stateOf(store: Store, id: string): OciState & { rootfs: string; created: string; owner: string } {
  const c = find(store, id);
  const runtime = c.spec.runtime;
  return {
    ociVersion: OCI_VERSION,
    id,
    pid: c.status === "stopped" ? 0 : c.pid!,
    status: c.status,
    bundle: runtime?.bundle ?? "",
    rootfs: c.spec.rootfs.kind === "dir" ? c.spec.rootfs.path : "",
    created: c.spec.created,
    owner: "",
    ...(Object.keys(c.spec.annotations ?? {}).length ? { annotations: c.spec.annotations } : {}),
  };
}

/** Digits only, no newline (containerd reads it with Atoi), written whole or not at all. */
function writePidFile(path: string, pid: number): void {
  writeFileAtomic(path, String(pid), 0o644);
}

export interface CreateOptions {
  pidFile?: string;
  consoleSocket?: string;
  /**
   * box oci run: when no hook runs between create and start (prestart, createRuntime,
   * createContainer), the init starts the process as soon as it is created, without the FIFO's
   * round trip through a start of the CLI's own.
   */
  startAtOnce?: boolean;
}

/**
 * create: the container exists, its init has built it (namespaces, rootfs, pivot_root) and waits
 * for start; the prestart, createRuntime and createContainer hooks have run. The init stays
 * behind with this process's stdio as the payload's. `readSpec` reads the bundle: the init is
 * started first (its Bun runtime starts meanwhile, ~2 ms off every create), unless it needs the
 * console socket, which is connected once the bundle says it has a terminal.
 */
export async function createContainerFromBundle(store: Store, readSpec: () => ContainerSpec, opts: CreateOptions): Promise<{ spec: ContainerSpec; init: PendingInit; messages: InitMessages; started: boolean }> {
  // Started by main.ts already, unless the init needs what only the parsed flags give it.
  const started = takeEarlyInit(store);
  let early = opts.consoleSocket === undefined ? (started ?? launchInit(store)) : undefined;
  if (started && !early) abandonInit(started);
  let socket: number | undefined;
  let spec: ContainerSpec;
  let paths: ContainerPaths | undefined;
  let unlock = () => {};
  let init: PendingInit;
  let atOnce = false;
  try {
    spec = readSpec();
    if (containerExists(store, spec.id)) throw new UserError(`container with id ${spec.id} already exists`);
    if (opts.consoleSocket !== undefined && !spec.tty) throw new UserError("--console-socket needs process.terminal: true");
    try {
      socket = opts.consoleSocket === undefined ? undefined : connectUnix(opts.consoleSocket);
    } catch (e) {
      throw new UserError(`--console-socket ${opts.consoleSocket}: ${describeError(e)}`);
    }
    ({ paths, unlock } = createContainer(store, spec));
    trace("cli", "oci-created-container");
    const hooks = spec.runtime!.hooks;
    atOnce = opts.startAtOnce === true && !hooks.prestart?.length && !hooks.createRuntime?.length && !hooks.createContainer?.length;
    if (!atOnce) mknod(join(paths.runDir, START_FIFO), S_IFIFO | 0o600, 0, 0);
    // The early init was made in a pid namespace of its own and without the caller's descriptors:
    // a bundle that wants another pid namespace (or the caller's), or --preserve-fds, gets one made so.
    if (early && (spec.pidMode || spec.runtime?.preserveFds)) {
      abandonInit(early);
      early = undefined;
    }
    init = early ?? launchInit(store, socket, pidNamespaceOf(store, spec), undefined, spec.runtime?.preserveFds);
    early = undefined;
  } catch (e) {
    // The init read no plan: it exits without a trace.
    if (early) abandonInit(early);
    if (paths) removeContainer(store, spec!, paths);
    unlock();
    throw e;
  } finally {
    if (socket !== undefined) close(socket);
  }
  // The lifeline means nothing here (the init ignores it): this process exits after create.
  close(init.lifelineWrite);
  sendPlan(init, store, spec, paths!, false, { ...(atOnce ? { startAtOnce: true } : { startFifo: START_FIFO }), consoleSocket: socket !== undefined, startState: hookState(spec, "created", init.pid) });
  // It has its state ("created", with its init's pid): box oci delete or a prune may take it now.
  unlock();
  const messages = new InitMessages(init.syncRead);
  const first = await messages.next();
  trace("cli", "oci-init-created");
  if (!first || !("created" in first)) {
    // A failed create leaves no container (runc's rule; box run keeps it, exited, as Docker).
    try {
      failedStart(store, spec, paths, first, waitPid(init.pid, false));
    } finally {
      removeContainer(store, spec, paths);
    }
  }
  try {
    const hooks = spec.runtime!.hooks;
    // runc runs these before pivot_root; box's init has pivoted already (they see the same namespaces).
    for (const kind of ["prestart", "createRuntime", "createContainer"] as const) {
      await runHooks(kind, hooks[kind] ?? [], hookState(spec, "created", init.pid));
    }
    if (opts.pidFile) writePidFile(opts.pidFile, init.pid);
  } catch (e) {
    kill(init.pid, SIGKILL);
    waitPid(init.pid, false);
    removeContainer(store, spec, paths);
    // The spec: a failed create hook goes on to delete, and so to the poststop hooks.
    await runPoststop(spec);
    throw e;
  }
  return { spec, init, messages, started: atOnce };
}

/** start: lets the init of a created container start the payload; the poststart hooks follow. */
export async function startContainer(store: Store, id: string): Promise<void> {
  const { spec: found, unlock } = lockContainer(store, find(store, id).spec);
  let pid: number | undefined;
  try {
    const c = find(store, found.id);
    pid = c.pid;
    if (c.status !== "created") throw new UserError(`cannot start a container that is ${c.status === "stopped" ? "stopped" : `not created (${c.status})`}`);
    await openStartFifo(c);
    trace("cli", "oci-started");
    // Unless the init has written the end already (a process that exited at once, a failed hook).
    moveFrom(c.paths, "created", "running", { startedAt: new Date().toISOString() });
  } finally {
    unlock();
  }
  await runPoststart(found, pid);
}

/** After start: the poststart hooks, with the process's pid even when it has ended already (a quick one), as runc gives it. */
export async function runPoststart(spec: ContainerSpec, pid: number | undefined): Promise<void> {
  for (const hook of spec.runtime?.hooks.poststart ?? []) {
    // The spec: a failing poststart hook is logged, and the container runs on.
    await runHooks("poststart", [hook], hookState(spec, "running", pid)).catch((e: Error) => warn(e.message));
  }
}

/**
 * The process to be waits for one byte on the FIFO, which it holds open for reading and
 * writing: writing it lets it run on (ENXIO: nobody reads, it is gone or is an init of the other
 * kind). An init that runs startContainer hooks or stays the process's parent waits in open(2) of
 * the FIFO for writing instead: opening it for reading lets that return, and its one byte says it
 * has tried. EOF instead: the init has not opened it yet, or is gone.
 */
async function openStartFifo(c: Found): Promise<void> {
  const path = join(c.paths.runDir, START_FIFO);
  try {
    const fd = open(path, O_WRONLY | O_NONBLOCK);
    try {
      write(fd, "0");
    } finally {
      close(fd);
    }
    unlink(path);
    return;
  } catch (e) {
    if (!isErrno(e, Errno.ENXIO)) throw e;
  }
  const fd = open(path, O_RDONLY | O_NONBLOCK);
  try {
    const buf = new Uint8Array(1);
    const readByte = () => {
      try {
        return read(fd, buf);
      } catch (e) {
        if (!isErrno(e, Errno.EAGAIN)) throw e;
        return -1;
      }
    };
    for (const until = Date.now() + 10_000; ; ) {
      const n = readByte();
      if (n > 0) break;
      // Gone: but it may have written its byte and ended (a process that exits at once) since the read.
      if (!sameProcess(c.pid!, c.pidStart)) {
        if (readByte() > 0) break;
        throw new UserError("cannot start the container: its process is already dead");
      }
      // EAGAIN: the init holds the FIFO and is at work (hooks have timeouts of their own).
      if (n === 0 && Date.now() > until) throw new UserError("cannot start the container: its init does not answer");
      await Bun.sleep(1);
    }
  } finally {
    close(fd);
    unlink(path);
  }
}

/** kill: a signal to the payload (through the init); before start only SIGKILL means anything. */
export async function killContainer(store: Store, id: string, signal: number, all: boolean): Promise<void> {
  const c = running(store, id);
  if (signal === 0) return;
  // Before start the container is its init alone: --all means it too.
  if (all && c.status !== "created" && c.status !== "creating") {
    for (const pid of cgroupProcesses(c.paths.cgroups)) kill(pid, signal);
    if (c.status === "paused") await setFrozen(c.paths.cgroups, false).catch(() => {});
    return;
  }
  // The init is blocked in open(2) until start, and a created container has no payload yet.
  if (c.status === "created" || c.status === "creating" || signal === SIGKILL) {
    if (c.status === "paused") await setFrozen(c.paths.cgroups, false).catch(() => {});
    kill(c.pid!, SIGKILL);
    return;
  }
  kill(c.pid!, signal);
}

/** ps: the host pids of a container's processes. */
export function processesOf(store: Store, id: string): number[] {
  return cgroupProcesses(find(store, id).paths.cgroups);
}

/** pause / resume: the container's cgroup frozen or thawed, recorded in its state. */
export async function freezeContainer(store: Store, id: string, frozen: boolean): Promise<void> {
  const { spec, unlock } = lockContainer(store, find(store, id).spec);
  try {
    const c = find(store, spec.id);
    if (c.status !== (frozen ? "running" : "paused")) throw new UserError(`container ${id} is ${c.status}, not ${frozen ? "running" : "paused"}`);
    await setPaused(liveContainer(store, spec), frozen, frozen ? "oci pause" : "oci resume");
  } finally {
    unlock();
  }
}

/** delete: removes a stopped (or, with force, any) container; the poststop hooks follow. */
export async function deleteContainer(store: Store, id: string, force: boolean): Promise<void> {
  const c = find(store, id);
  if ((c.status === "running" || c.status === "paused") && !force) throw new UserError(`cannot delete container ${id} that is not stopped: ${c.status}`);
  // As box rm -f: thawed first if paused, SIGKILL to the init, waited for.
  if (c.pid !== undefined) await killLive(store, liveContainer(store, c.spec));
  removeContainer(store, c.spec, c.paths);
  await runPoststop(c.spec);
}

/** The spec: a failing poststop hook is logged, and the others still run. */
async function runPoststop(spec: ContainerSpec): Promise<void> {
  for (const hook of spec.runtime?.hooks.poststop ?? []) {
    await runHooks("poststop", [hook], hookState(spec, "stopped", undefined)).catch((e: Error) => warn(e.message));
  }
}

/** A process for exec, as process.json (or the command line) describes it. */
export type ExecProcess = ReturnType<typeof processSpec>;

/**
 * exec: a new process in the container, with its own args, env, cwd, user and restrictions (the
 * container's seccomp filter still applies, as runc's). Detached, this process exits at once and
 * the new one is reparented to the caller's subreaper (containerd's shim), which reaps it.
 */
export async function execProcess(store: Store, id: string, p: ExecProcess, opts: { detach: boolean; pidFile?: string; consoleSocket?: string; preserveFds?: number; cgroup?: string; ignorePaused?: boolean }): Promise<number> {
  const c = find(store, id);
  if (c.status !== "running" && !(c.status === "paused" && opts.ignorePaused)) throw new UserError(`cannot exec in a container that is ${c.status}`);
  const cgroups = opts.cgroup === undefined ? undefined : subCgroups(c.paths.cgroups, opts.cgroup);
  if (p.terminal && opts.detach && opts.consoleSocket === undefined) throw new UserError("process.terminal needs --console-socket for exec --detach");
  if (opts.consoleSocket !== undefined && !p.terminal) throw new UserError("--console-socket needs a terminal (process.terminal, or -t)");
  let socket: number | undefined;
  try {
    socket = opts.consoleSocket === undefined ? undefined : connectUnix(opts.consoleSocket);
  } catch (e) {
    throw new UserError(`--console-socket ${opts.consoleSocket}: ${describeError(e)}`);
  }
  const restrictions = payloadRestrictions({ ...c.spec, capabilities: p.caps.bounding, capabilitySets: p.caps.sets, ulimits: p.rlimits, noNewPrivileges: p.noNewPrivileges });
  // Inherited through the spawn: this process's umask is the new process's.
  if (p.umask !== undefined) libc.umask(p.umask);
  try {
    return await execInContainer(store, c.spec, {
      command: p.args,
      env: p.env,
      user: `${p.uid}:${p.gid}`,
      workdir: p.cwd,
      tty: p.terminal,
      interactive: true,
      detach: opts.detach,
      runtime: { groups: p.groups, restrictions, consoleSocket: socket, consoleSize: p.consoleSize, preserveFds: opts.preserveFds, cgroups, ignorePaused: opts.ignorePaused },
      started: (pid) => {
        // Set as soon as it runs (before, it is box's own, the caller's score).
        if (p.oomScoreAdj !== undefined) writeFile(`/proc/${pid}/oom_score_adj`, String(p.oomScoreAdj));
        if (opts.pidFile) writePidFile(opts.pidFile, pid);
      },
    });
  } finally {
    if (socket !== undefined) close(socket);
  }
}

/**
 * exec --cgroup: a sub-cgroup of the container's that exists (made by its processes), for every
 * hierarchy (PATH) or for the named controllers' only (CONTROLLER[,..]:PATH, cgroup v1).
 */
function subCgroups(dirs: string[], text: string): string[] {
  const colon = text.indexOf(":");
  const controllers = colon < 0 ? undefined : text.slice(0, colon).split(",");
  const sub = (colon < 0 ? text : text.slice(colon + 1)).split("/").filter(Boolean);
  if (!sub.length || sub.some((p) => p === "." || p === "..")) throw new UserError(`invalid --cgroup "${text}": a path below the container's cgroup`);
  const layout = detectCgroups();
  return dirs.map((dir, i) => {
    if (controllers && !controllers.some((c) => layout.hierarchies[i]?.controllers.includes(c))) return dir;
    const path = join(dir, ...sub);
    if (!exists(path)) throw new UserError(`--cgroup ${text}: the container has no cgroup ${path}`);
    return path;
  });
}

/** update: new limits (the runtime spec's LinuxResources) for a running container's cgroup. */
export function updateResources(store: Store, id: string, doc: unknown): void {
  const { resources: changes, devices } = resources(doc);
  if (devices) throw new UserError("update: devices cannot be changed on a running container");
  if (!changesSomething(changes)) throw new UserError("update: no limit to change");
  const c = running(store, id);
  updateLimits(liveContainer(store, c.spec), changes, "oci update");
}

/** A running container, or "container not running". */
function running(store: Store, id: string): Found {
  const c = find(store, id);
  if (c.status === "stopped") throw new UserError("container not running");
  return c;
}

/**
 * events: as runc's, the stats event every `intervalMs`, and {"type":"oom"} as soon as the OOM
 * killer takes one of the container's processes (looked at every 100 ms); an error once it has
 * stopped. The container is looked up once; after that only its process and its cgroup are read.
 */
export async function followEvents(store: Store, id: string, intervalMs: number, emit: (event: object) => void): Promise<never> {
  const c = running(store, id);
  let ooms = oomKills(c.paths.cgroups);
  for (let next = 0; ; await Bun.sleep(100)) {
    if (!sameProcess(c.pid!, c.pidStart)) throw new UserError("container not running");
    const now = oomKills(c.paths.cgroups);
    if (now > ooms) emit({ type: "oom", id });
    ooms = now;
    if (Date.now() < next) continue;
    emit(stats(c, id));
    next = Date.now() + Math.max(intervalMs, 100);
  }
}

/** events --stats: the container's counters, as runc's stats event. */
export function statsEvent(store: Store, id: string): object {
  return stats(running(store, id), id);
}

function stats(c: Found, id: string): object {
  const s = readStats(c.paths.cgroups);
  return {
    type: "stats",
    id,
    data: {
      cpu: { usage: { total: s.cpuNs } },
      memory: { usage: { usage: s.memoryUsage, limit: s.memoryLimit } },
      pids: { current: s.pids },
      blkio: { ioServiceBytesRecursive: [{ op: "Read", value: s.blockRead }, { op: "Write", value: s.blockWrite }] },
    },
  };
}

/**
 * run without -d: this process is the init's parent; it forwards signals and returns the status
 * the init reports once its process is gone (as box run, without waiting for its teardown).
 */
export async function waitForInit(init: PendingInit, messages: InitMessages): Promise<number> {
  const stopForwarding = forwardSignals(init.pid);
  try {
    // The pipe closed without a report: the init died (SIGKILL); its status says how.
    return (await messages.exit()) ?? waitPid(init.pid, false)?.code ?? UNRECORDED_EXIT;
  } finally {
    stopForwarding();
  }
}
