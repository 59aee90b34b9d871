// create (and run's wait): the container is built and its process waits for start; the init
// builds it from inside when it has to (see createContainerFromBundle). A container of `box oci`
// is an ordinary box container of the store `--root` names, with the bundle's spec.
import { close, open } from "../sys/fs.ts";
import { join } from "../path.ts";
import { describeError } from "../sys/errors.ts";
import { connectUnix } from "../sys/unix-socket.ts";
import { O_RDWR, S_IFIFO, SIGKILL } from "../sys/constants.ts";
import { mknod } from "../sys/mount.ts";
import { kill, waitPid } from "../sys/process.ts";
import { UserError } from "../container/errors.ts";
import { createContainer } from "../container/create.ts";
import { failedStart, forwardSignals, InitMessages, pidNamespaceOf, recordLaunch, sendPlan } from "../container/start.ts";
import { launchInit } from "../container/launch.ts";
import { buildHere, buildsHere } from "./direct.ts";
import type { InitMessage } from "../init/init.ts";
import type { Store } from "../container/store.ts";
import { cgroupProcesses, containerCgroupDirs } from "../cgroup/paths.ts";
import { isFrozen } from "../cgroup/freezer.ts";
import type { ContainerPaths, ContainerSpec } from "../container/spec.ts";
import { runHooks } from "./hooks.ts";
import { debug, warn } from "./log.ts";
import { hookState } from "./state.ts";
import { containerExists, START_FIFO } from "./found.ts";
import { removeOciContainer, runPoststop } from "./delete.ts";
import { writePidFile } from "./pid-file.ts";
import { UNRECORDED_EXIT } from "../container/describe.ts";
import { trace } from "../trace.ts";

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

/** The hooks runc runs at create, in this order. */
const CREATE_HOOKS = ["prestart", "createRuntime", "createContainer"] as const;

/** Those of `kinds`, with the state of a created container whose process is `pid` (in `cwd`, else this process's). */
async function runCreateHooks(spec: ContainerSpec, kinds: readonly (typeof CREATE_HOOKS)[number][], pid: number, cwd?: string): Promise<void> {
  for (const kind of kinds) await runHooks(kind, spec.runtime!.hooks[kind] ?? [], hookState(spec, "created", pid), cwd);
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
    const createHooks = CREATE_HOOKS.some((kind) => hooks[kind]?.length);
    // poststart hooks come after the process's execve, which start waits for.
    atOnce = opts.startAtOnce === true && !createHooks && !hooks.poststart?.length;
    const fifoPath = join(paths.runDir, START_FIFO);
    if (!atOnce) mknod(fifoPath, S_IFIFO | 0o600, 0, 0);
    if (buildsHere(spec)) {
      // O_RDWR: opening does not wait for a reader, and the process reads `box oci start`'s byte
      // from inside the container without reaching for the host's path.
      fifo = atOnce ? undefined : open(fifoPath, O_RDWR);
      const container = spec;
      const run = (kinds: readonly (typeof CREATE_HOOKS)[number][], pid: number, cwd?: string) =>
        runCreateHooks(container, kinds, pid, cwd).catch((e: unknown) => {
          hookFailed = true;
          throw e;
        });
      const built = await buildHere(store, spec, paths, {
        fifo,
        spawned: (pid) => recordLaunch(store, container, paths!, pid, !atOnce),
        hooks: createHooks ? { runtime: (pid) => run(["prestart", "createRuntime"], pid), container: (pid, rootfs) => run(["createContainer"], pid, rootfs) } : undefined,
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
    if (paths) removeOciContainer(store, spec!, paths);
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
      removeOciContainer(store, spec, paths);
    }
  }
  try {
    // runc runs these before pivot_root; box's init has pivoted already (they see the same namespaces).
    if (init.byInit) await runCreateHooks(spec, CREATE_HOOKS, init.pid);
    if (opts.pidFile) writePidFile(opts.pidFile, init.pid);
  } catch (e) {
    kill(init.pid, SIGKILL);
    waitPid(init.pid, false);
    removeOciContainer(store, spec, paths);
    // The spec: a failed create hook goes on to delete, and so to the poststop hooks.
    await runPoststop(spec);
    throw e;
  }
  return { spec, init, messages, started: atOnce };
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
