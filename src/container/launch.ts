// Starts a container's init, as early as possible: this module is all `box run` and `box oci
// create|run` load before the init is on its way, so it imports only what the launch needs.
import { close, open } from "../sys/fs.ts";
import { describeError } from "../sys/errors.ts";
import { CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, O_RDONLY } from "../sys/constants.ts";
import { isRootless, pipe, waitPid } from "../sys/process.ts";
import { loadSpawn, spawn } from "../sys/spawn.ts";
import { trace, traceEnv } from "../trace.ts";
import { INIT_COMMAND, INIT_FDS, selfCommand } from "../init/self.ts";
import { UserError } from "./errors.ts";
import type { Store } from "./store.ts";

/**
 * The namespaces that must exist from the init's first instruction: its pid namespace (it is
 * PID 1) and its mount namespace (a multi-threaded process cannot unshare one). The init makes
 * its network, UTS and IPC namespaces itself while it waits for its plan (~1 ms off the
 * clone here, on the critical path); for --network host it then joins the CLI's (fd 6).
 */
const NAMESPACES = CLONE_NEWNS | CLONE_NEWPID;

/**
 * An init started before its container exists: its Bun runtime starts (~6 ms) while the CLI
 * builds the spec and creates the container, and then it reads its plan from a pipe.
 */
export interface PendingInit {
  pid: number;
  /** The init has reported the payload's start (or its failure). */
  reported?: boolean;
  syncRead: number;
  /** The init watches this pipe: when the CLI dies, even by SIGKILL, the container goes too. */
  lifelineWrite: number;
  planWrite: number;
}

/**
 * `consoleSocket`: a connected socket the init gets as INIT_FDS.console (box oci --console-socket).
 * `pidNamespace`: made in the host's PID namespace ("host"), or in the one of this pid's, instead
 * of one of its own (--pid). `stdio`: the container's standard streams, this process's unless
 * told (box build gives a RUN's output a pipe of its own).
 */
export function launchInit(store: Store, consoleSocket?: number, pidNamespace?: "host" | { path: string }, stdio: [number, number, number] = [0, 1, 2], preserved = 0): PendingInit {
  const [syncRead, syncWrite] = pipe();
  const [lifelineRead, lifelineWrite] = pipe();
  const [planRead, planWrite] = pipe();
  const hostNet = open("/proc/self/ns/net", O_RDONLY);
  // Another's PID namespace is entered by the trampoline's child, which forks the init into it:
  // never by this thread, where a thread Bun starts meanwhile would fail (a process's threads
  // share one PID namespace).
  let theirPid: number | undefined;
  try {
    if (typeof pidNamespace === "object") theirPid = openNamespace(pidNamespace.path, "PID");
    loadSpawn();
    trace("cli", "trampoline-loaded");
    const self = selfCommand();
    const pid = spawn({
      path: self.path,
      argv: [...self.argv, INIT_COMMAND],
      // The store in its environment tells anyone looking (`ps e`, the tests) whose init it is.
      env: [`PATH=${process.env.PATH ?? "/usr/bin:/bin"}`, `BOX_ROOT=${store.root}`, `BOX_RUNROOT=${store.runroot}`, ...traceEnv()],
      // Rootless: in a user namespace of its own (made with it, so it owns the others), whose root
      // is this user.
      cloneFlags: (pidNamespace ? CLONE_NEWNS : NAMESPACES) | (isRootless() ? CLONE_NEWUSER : 0),
      ownMaps: isRootless(),
      fds: [
        [stdio[0], 0], [stdio[1], 1], [stdio[2], 2], [syncWrite, INIT_FDS.sync], [lifelineRead, INIT_FDS.lifeline], [planRead, INIT_FDS.plan], [hostNet, INIT_FDS.hostNet],
        ...(consoleSocket === undefined ? [] : [[consoleSocket, INIT_FDS.console] as [number, number]]),
        ...Array.from({ length: preserved }, (_, i): [number, number] => [3 + i, INIT_FDS.preserved + i]),
      ],
      // Its own session: keystrokes like ^C reach the CLI once, which forwards them once.
      setsid: true,
      ...(theirPid === undefined ? {} : { setns: [theirPid], forkInner: true }),
    });
    trace("cli", "init-spawned");
    return { pid, syncRead, lifelineWrite, planWrite };
  } catch (e) {
    for (const fd of [syncRead, lifelineWrite, planWrite]) close(fd);
    throw e;
  } finally {
    for (const fd of [syncWrite, lifelineRead, planRead, hostNet, ...(theirPid === undefined ? [] : [theirPid])]) close(fd);
  }
}

/** An open namespace file (a container's init's /proc/PID/ns/pid, a pod's); a bad one is the caller's error. */
export function openNamespace(path: string, what: string): number {
  try {
    return open(path, O_RDONLY);
  } catch (e) {
    throw new UserError(`${what} namespace ${path}: ${describeError(e)}`);
  }
}

let early: { store: Store; init: PendingInit } | undefined;

/** Starts the init at the very start of `box run`, before the CLI's own modules are loaded. */
export function launchEarlyInit(store: Store): void {
  try {
    early = { store, init: launchInit(store) };
  } catch {
    // The CLI starts one again later, and reports what goes wrong then.
  }
}

/** The early init, if one was started for this store; one for another store is given up. */
export function takeEarlyInit(store: Store): PendingInit | undefined {
  const e = early;
  early = undefined;
  if (!e) return undefined;
  if (e.store.root === store.root && e.store.runroot === store.runroot) return e.init;
  abandonInit(e.init);
  return undefined;
}

/** The container could not be created: the init reads no plan and exits without a trace. */
export function abandonInit(init: PendingInit): void {
  for (const fd of [init.planWrite, init.lifelineWrite, init.syncRead]) close(fd);
  waitPid(init.pid, false);
}

