// The runtime spec's lifecycle on box's engine, the verbs that build or tear down: create (the
// init builds the container, then waits), delete, exec, update, events; start, kill, pause are in
// control.ts, state in found.ts. A container of `box oci` is an ordinary box container of the
// store `--root` names, with the bundle's spec.
import { close, exists, open, writeFile, writeFileAtomic } from "../sys/fs.ts";
import { detectCgroups } from "../cgroup/detect.ts";
import { libc } from "../sys/libc.ts";
import { join } from "../path.ts";
import { describeError } from "../sys/errors.ts";
import { connectUnix } from "../sys/unix-socket.ts";
import { O_RDWR, S_IFIFO, SIGKILL } from "../sys/constants.ts";
import { mknod } from "../sys/mount.ts";
import { kill, waitPid } from "../sys/process.ts";
import { UserError } from "../container/errors.ts";
import { createContainer, removeContainer } from "../container/create.ts";
import { failedStart, forwardSignals, InitMessages, pidNamespaceOf, recordLaunch, sendPlan } from "../container/start.ts";
import { launchInit } from "../container/launch.ts";
import { buildHere, buildsHere } from "./direct.ts";
import type { InitMessage } from "../init/init.ts";
import type { Store } from "../container/store.ts";
import { liveContainer, sameProcess } from "../container/live.ts";
import { cgroupProcesses, containerCgroupDirs } from "../cgroup/cgroups.ts";
import { isFrozen } from "../cgroup/freezer.ts";
import type { ContainerPaths, ContainerSpec } from "../container/spec.ts";
import { runHooks } from "./hooks.ts";
import { killContainer as killLive } from "../container/control.ts";
import { processSpec, resources } from "./config.ts";
import { changesSomething, updateLimits } from "../container/update.ts";
import { readStats } from "../cgroup/stats.ts";
import { oomKills } from "../cgroup/events.ts";
import { execInContainer } from "../container/exec.ts";
import { payloadRestrictions } from "../security/payload.ts";
import { debug, warn } from "./log.ts";
import { hookState } from "./state.ts";
import { connectSeccompAgent } from "./agent.ts";
import { containerExists, findContainer, running, START_FIFO, type Found } from "./found.ts";
import { UNRECORDED_EXIT } from "../container/describe.ts";
import { trace } from "../trace.ts";

/** Digits only, no newline (containerd reads it with Atoi), written whole or not at all. */
function writePidFile(path: string, pid: number): void {
  writeFileAtomic(path, String(pid), 0o644);
}

export interface CreateOptions {
  pidFile?: string;
  consoleSocket?: string;
  /**
   * box oci run: when no hook runs between create and start (prestart, createRuntime,
   * createContainer) or after it (poststart), the process starts as soon as it is created,
   * without the FIFO's round trip through a start of the CLI's own.
   */
  startAtOnce?: boolean;
}

/** The container's process as create leaves it: box's init, or (built here) stage2.c waiting. */
export interface CreatedProcess {
  pid: number;
  syncRead: number;
  /**
   * box's init, which reports the process's exit on the sync pipe and has pivoted before the
   * create hooks run; else stage2, which closes the pipe once created, the hooks run already.
   */
  byInit: boolean;
}

/**
 * create: the container exists, its process waits for start in every namespace and cgroup of it;
 * the prestart, createRuntime and createContainer hooks have run. This process builds it
 * (src/oci/direct.ts) unless it needs box's init (a user namespace, startContainer hooks, a
 * terminal to relay), which builds it from inside. The process has this one's stdio.
 */
export async function createContainerFromBundle(store: Store, readSpec: () => Promise<ContainerSpec>, opts: CreateOptions): Promise<{ spec: ContainerSpec; init: CreatedProcess; messages: InitMessages; started: boolean }> {
  let socket: number | undefined;
  let fifo: number | undefined;
  let spec: ContainerSpec;
  let paths: ContainerPaths | undefined;
  let unlock = () => {};
  let init: CreatedProcess;
  let failure: () => InitMessage | undefined = () => undefined;
  let atOnce = false;
  let hookFailed = false;
  try {
    spec = await readSpec();
    trace("cli", "oci-spec-read");
    if (containerExists(store, spec.id)) throw new UserError(`container with id ${spec.id} already exists`);
    if (opts.consoleSocket !== undefined && !spec.tty) throw new UserError("--console-socket needs process.terminal: true");
    try {
      socket = opts.consoleSocket === undefined ? undefined : connectUnix(opts.consoleSocket);
    } catch (e) {
      throw new UserError(`--console-socket ${opts.consoleSocket}: ${describeError(e)}`);
    }
    // A cgroupsPath someone froze: its process would hang in it, and with it create (runc's check).
    if (isFrozen(containerCgroupDirs(spec))) throw new UserError("container's cgroup unexpectedly frozen");
    ({ paths, unlock } = createContainer(store, spec));
    // A cgroupsPath another container already runs in (runc warns the same): limits and stats are shared.
    const others = cgroupProcesses(paths.cgroups).length;
    if (others) warn(`container's cgroup is not empty: ${others} process(es) found`);
    trace("cli", "oci-created-container");
    // As runc's --debug says it (8 is the listener's, for a filter that notifies).
    if (spec.seccomp) debug(`seccomp filter flags: ${(spec.seccompFlags ?? 0) | (spec.seccompAgent ? 8 : 0)}`);
    const hooks = spec.runtime!.hooks;
    // poststart hooks come after the process's execve, which start waits for.
    atOnce = opts.startAtOnce === true && !hooks.prestart?.length && !hooks.createRuntime?.length && !hooks.createContainer?.length && !hooks.poststart?.length;
    const fifoPath = join(paths.runDir, START_FIFO);
    if (!atOnce) mknod(fifoPath, S_IFIFO | 0o600, 0, 0);
    if (buildsHere(spec)) {
      // O_RDWR: opening does not wait for a reader, and the process reads `box oci start`'s byte
      // from inside the container without reaching for the host's path.
      fifo = atOnce ? undefined : open(fifoPath, O_RDWR);
      const container = spec;
      const run = async (kinds: readonly ("prestart" | "createRuntime" | "createContainer")[], pid: number, cwd?: string) => {
        try {
          for (const kind of kinds) await runHooks(kind, hooks[kind] ?? [], hookState(container, "created", pid), cwd);
        } catch (e) {
          hookFailed = true;
          throw e;
        }
      };
      const built = await buildHere(store, spec, paths, {
        fifo,
        spawned: (pid) => recordLaunch(store, container, paths!, pid, !atOnce),
        hooks: hooks.prestart?.length || hooks.createRuntime?.length || hooks.createContainer?.length ? { runtime: (pid) => run(["prestart", "createRuntime"], pid), container: (pid, rootfs) => run(["createContainer"], pid, rootfs) } : undefined,
      });
      init = { ...built, byInit: false };
      failure = built.failure;
    } else {
      const launched = launchInit(store, socket, pidNamespaceOf(store, spec), undefined, spec.runtime?.preserveFds);
      init = { ...launched, byInit: true };
      // The lifeline means nothing here (the init ignores it): this process exits after create.
      close(launched.lifelineWrite);
      sendPlan(launched, store, spec, paths, false, { ...(atOnce ? { startAtOnce: true } : { startFifo: START_FIFO }), consoleSocket: socket !== undefined, startState: hookState(spec, "created", launched.pid) });
    }
  } catch (e) {
    if (paths) removeContainer(store, spec!, paths);
    unlock();
    // The spec: a failed create hook goes on to delete, and so to the poststop hooks.
    if (hookFailed) await runPoststop(spec!);
    throw e;
  } finally {
    for (const fd of [socket, fifo]) if (fd !== undefined) close(fd);
  }
  // It has its state ("created", with its process's pid): box oci delete or a prune may take it now.
  unlock();
  const messages = new InitMessages(init.syncRead);
  const first = messages.nextNow() ?? failure();
  trace("cli", "oci-init-created");
  debug(first && "created" in first ? `create: ${spec.id} created; its process ${init.pid} waits for start in the container's namespaces` : `create: the process ${init.pid} ended before the container was created`);
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
    if (init.byInit) {
      for (const kind of ["prestart", "createRuntime", "createContainer"] as const) {
        await runHooks(kind, hooks[kind] ?? [], hookState(spec, "created", init.pid));
      }
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

/** delete: removes a stopped (or, with force, any) container; the poststop hooks follow. */
export async function deleteContainer(store: Store, id: string, force: boolean): Promise<void> {
  const c = findContainer(store, id);
  if ((c.status === "running" || c.status === "paused") && !force) throw new UserError(`cannot delete container ${id} that is not stopped: ${c.status}`);
  // As box rm -f: thawed first if paused, SIGKILL to the init, waited for.
  if (c.pid !== undefined) await killLive(store, liveContainer(store, c.spec));
  removeContainer(store, c.spec, c.paths);
  debug(`delete: ${id} removed (its cgroups, its state)`);
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
  const c = findContainer(store, id);
  // A created container's process waits already in every namespace of it: runc execs there too.
  if (c.status !== "running" && c.status !== "created" && !(c.status === "paused" && opts.ignorePaused)) throw new UserError(`cannot exec in a ${c.status} container`);
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
  // The container's filter notifies: this process's listener goes to the agent too, as runc's.
  if (c.spec.seccompAgent) restrictions.seccompAgent = connectSeccompAgent(c.spec.seccompAgent, hookState(c.spec, "running", c.pid));
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
        debug(`exec: process ${pid} started in container ${id}`);
        // Set as soon as it runs (before, it is box's own, the caller's score).
        if (p.oomScoreAdj !== undefined) writeFile(`/proc/${pid}/oom_score_adj`, String(p.oomScoreAdj));
        if (opts.pidFile) writePidFile(opts.pidFile, pid);
      },
    });
  } finally {
    if (socket !== undefined) close(socket);
    if (restrictions.seccompAgent) close(restrictions.seccompAgent.socket);
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
  if (!sub.length || sub.some((p) => p === "." || p === "..")) throw new UserError(`invalid --cgroup: ${text} is not a sub cgroup path (one below the container's cgroup)`);
  const layout = detectCgroups();
  return dirs.map((dir, i) => {
    if (controllers && !controllers.some((c) => layout.hierarchies[i]?.controllers.includes(c))) return dir;
    const path = join(dir, ...sub);
    // A hybrid host's cgroup2 tree limits nothing: a sub-cgroup made only in the v1 ones is enough.
    if (layout.hierarchies[i]?.unified && !exists(path)) return dir;
    if (!exists(path)) throw new UserError(`--cgroup ${text}: the container has no cgroup ${path}`);
    return path;
  });
}

/** update: new limits (the runtime spec's LinuxResources) for a running container's cgroup. */
export function updateResources(store: Store, id: string, doc: unknown): void {
  const { resources: changes, devices } = resources(doc);
  if (devices) throw new UserError("update: devices cannot be changed on a running container");
  if (!changesSomething(changes)) throw new UserError("update: no limit to change");
  const c = running(findContainer(store, id));
  updateLimits(liveContainer(store, c.spec), changes, "oci update");
}

/**
 * events: as runc's, the stats event every `intervalMs`, and {"type":"oom"} as soon as the OOM
 * killer takes one of the container's processes (looked at every 100 ms); an error once it has
 * stopped. The container is looked up once; after that only its process and its cgroup are read.
 */
export async function followEvents(store: Store, id: string, intervalMs: number, emit: (event: object) => void): Promise<never> {
  const c = running(findContainer(store, id));
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
  return stats(running(findContainer(store, id)), id);
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
 * run without -d: this process is the container process's parent (or its init's); it forwards
 * signals and returns the status the init reports once its process is gone, or the process's own.
 */
export async function waitForInit(init: CreatedProcess, messages: InitMessages): Promise<number> {
  const stopForwarding = forwardSignals(init.pid);
  try {
    // The pipe closed without a report: the init died (SIGKILL); its status says how.
    return (init.byInit ? await messages.exit() : undefined) ?? waitPid(init.pid, false)?.code ?? UNRECORDED_EXIT;
  } finally {
    stopForwarding();
  }
}
