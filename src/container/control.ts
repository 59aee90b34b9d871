// Acting on a running container from another box process: signals, stop, wait. The init (the
// container's PID 1, outside the container's cgroup) forwards catchable signals to the payload;
// SIGKILL to the init ends the pid namespace and with it every process of the container, after
// which the caller records the end the init could not.
import { SIGKILL, SIGTERM } from "../sys/constants.ts";
import { kill } from "../sys/process.ts";
import { setFrozen } from "../cgroup/freezer.ts";
import { endCgroupProcesses } from "../cgroup/cgroups.ts";
import { UserError } from "./errors.ts";
import { exists, touch } from "../sys/fs.ts";
import { join } from "../path.ts";
import { STOP_REQUESTED } from "./restart.ts";
import { withContainerLock } from "./lock.ts";
import { containerProcess, liveContainer, requireRunning, type LiveContainer } from "./live.ts";
import { recordEnd } from "./start.ts";
import { UNRECORDED_EXIT } from "./describe.ts";
import type { Store } from "./store.ts";
import type { ContainerSpec } from "./spec.ts";
import { recordContainerEvent } from "./events.ts";


function alive(store: Store, c: LiveContainer): boolean {
  return containerProcess(store, c.spec, { pid: c.pid, pidStart: c.state.pidStart }) !== undefined;
}

/** Polls until the init is gone or `ms` have passed; true when it is gone. */
async function waitGone(store: Store, c: LiveContainer, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (alive(store, c)) {
    if (Date.now() >= until) return false;
    await Bun.sleep(10);
  }
  return true;
}

/** Kills the init (and so the whole container), then records what the init could not. */
export async function killContainer(store: Store, c: LiveContainer): Promise<void> {
  // A frozen process cannot die (v1): thaw first, as Docker does.
  if (c.state.status === "paused") await setFrozen(c.paths.cgroups, false).catch(() => {});
  if (c.pid !== undefined && alive(store, c)) {
    // Before the signal: the container's end (its die event) may come at once.
    recordContainerEvent(store.root, c.spec, "kill", { signal: String(SIGKILL) });
    kill(c.pid, SIGKILL);
  }
  if (!(await waitGone(store, c, 5000))) throw new UserError(`container ${c.spec.name}: its init ${c.pid} did not exit after SIGKILL`);
  // In a shared PID namespace (--pid) the init's end takes nothing with it.
  if (c.spec.pidMode) endCgroupProcesses(c.paths.cgroups);
  settleEnd(store, c.spec);
}

/**
 * The init records the payload's exit itself; if it died first (SIGKILL, a crash of the host's
 * processes), the container ended with it: 137, recorded now. A second caller finds it done.
 */
export function settleEnd(store: Store, spec: ContainerSpec): void {
  const c = liveContainer(store, spec);
  if (c.pid !== undefined || c.state.status === "created") return;
  // Gone (an --rm container removed itself): nothing is left to end.
  if (!exists(join(c.paths.dir, "config.json"))) return;
  // Its teardown plan again: an end recorded already stays as it is; its ports' rules go.
  recordEnd(store, spec, c.paths, UNRECORDED_EXIT);
}

/**
 * A stop or kill by box ends the container for good: its init restarts nothing after it, and
 * `box system boot` leaves an unless-stopped one down (in the store: it outlives a reboot).
 */
function requestStop(c: LiveContainer): void {
  touch(join(c.paths.dir, STOP_REQUESTED), 0o600);
}

/** `box kill -s SIG`: SIGKILL ends the container; other signals go to the payload through the init. */
export function signalContainer(store: Store, found: ContainerSpec, signal: number): Promise<void> {
  return withContainerLock(store, found, async (spec) => {
    const c = requireRunning(store, spec);
    requestStop(c);
    if (signal === SIGKILL) return killContainer(store, c);
    recordContainerEvent(store.root, spec, "kill", { signal: String(signal) });
    kill(c.pid, signal);
  });
}

/**
 * `box stop`: `signal` (SIGTERM) to the payload, then after `timeoutSeconds` SIGKILL. Stopping a
 * container that is not running is no error (Docker's behaviour).
 */
export function stopContainer(store: Store, found: ContainerSpec, timeoutSeconds: number, signal = SIGTERM): Promise<void> {
  return withContainerLock(store, found, async (spec) => {
    const c = liveContainer(store, spec);
    if (c.pid === undefined) return settleEnd(store, spec);
    requestStop(c);
    if (c.state.status === "paused") await setFrozen(c.paths.cgroups, false).catch(() => {});
    if (timeoutSeconds !== 0) {
      recordContainerEvent(store.root, spec, "kill", { signal: String(signal) });
      kill(c.pid, signal);
    }
    if (timeoutSeconds !== 0 && (await waitGone(store, c, timeoutSeconds < 0 ? Infinity : timeoutSeconds * 1000))) settleEnd(store, spec);
    else await killContainer(store, c);
    recordContainerEvent(store.root, spec, "stop");
  });
}

/** `box wait`: blocks until the container has stopped; its exit code. */
export async function waitExit(store: Store, spec: ContainerSpec): Promise<number> {
  const c = liveContainer(store, spec);
  if (c.pid !== undefined) await waitGone(store, c, Infinity);
  settleEnd(store, spec);
  const after = liveContainer(store, spec);
  if (after.state.exitCode === undefined) {
    // Removed meanwhile (--rm): Docker's wait reports the code it saw; here it is gone with it.
    throw new UserError(`container ${spec.name} has no exit code: it was removed or never ran`);
  }
  return after.state.exitCode;
}
