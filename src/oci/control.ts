// start, kill, ps, pause and resume of a box oci container: what they load, without the
// machinery of create and exec (src/oci/create.ts, exec.ts).
import { close, isErrno, open, read, unlink, write } from "../sys/fs.ts";
import { join } from "../path.ts";
import { Errno } from "../sys/errors.ts";
import { O_NONBLOCK, O_RDONLY, O_WRONLY, SIGKILL } from "../sys/constants.ts";
import { kill } from "../sys/process.ts";
import { writersGone } from "../sys/poll.ts";
import { UserError } from "../container/errors.ts";
import type { Store } from "../container/store.ts";
import { moveFrom } from "../container/lifecycle.ts";
import { liveContainer, sameProcess } from "../container/live.ts";
import { cgroupProcesses } from "../cgroup/paths.ts";
import { setFrozen } from "../cgroup/freezer.ts";
import type { ContainerSpec } from "../container/spec.ts";
import { setPaused } from "../container/pause.ts";
import { runHooks } from "./hooks.ts";
import { debug, warn } from "./log.ts";
import { hookState } from "./state.ts";
import { trace } from "../trace.ts";
import { findContainer, lockedContainer, running, START_FIFO, type Found } from "./found.ts";

/** start: lets the init of a created container start the payload; the poststart hooks follow. */
export async function startContainer(store: Store, id: string): Promise<void> {
  const { c, unlock } = lockedContainer(store, id);
  try {
    if (c.status !== "created") throw new UserError(`cannot start a container that is ${c.status === "stopped" ? "stopped" : `not created (${c.status})`}`);
    await openStartFifo(c);
    trace("cli", "oci-started");
    debug(`start: process ${c.pid} of ${id} released`);
    // Unless the init has written the end already (a process that exited at once, a failed hook).
    moveFrom(c.paths, "created", "running", { startedAt: new Date().toISOString() });
  } finally {
    unlock();
  }
  await runPoststart(c.spec, c.pid);
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
  let fd: number;
  try {
    fd = open(path, O_WRONLY | O_NONBLOCK);
  } catch (e) {
    if (!isErrno(e, Errno.ENXIO)) throw e;
    return await releaseInit(c, path);
  }
  // The process holds the FIFO for reading and writing until its execve: a reader opened now, and
  // a writer after it, see POLLHUP once it has exec'd, which is when start returns (runc's start
  // returns after the exec too: a poststart hook runs after the process).
  let watch: number;
  try {
    watch = open(path, O_RDONLY | O_NONBLOCK);
    close(open(path, O_WRONLY | O_NONBLOCK));
    write(fd, "0");
  } finally {
    close(fd);
  }
  try {
    unlink(path);
    if (!writersGone(watch, EXEC_WAIT_MS)) return;
    // Its byte still there: the process ended without reading it.
    if (read(watch, new Uint8Array(1)) === 1) throw new UserError("cannot start the container: its process is already dead");
  } finally {
    close(watch);
  }
}

/** How long start waits for the process's execve once it has its byte (a seccomp agent may hold it). */
const EXEC_WAIT_MS = 10_000;

/** An init of box's waits in open(2) of the FIFO for writing: opening it for reading lets it on. */
async function releaseInit(c: Found, path: string): Promise<void> {
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

/** kill: a signal to the process; before start only SIGKILL means anything. */
export async function killContainer(store: Store, id: string, signal: number, all: boolean): Promise<void> {
  const found = findContainer(store, id);
  // --all signals what is in the container's cgroup: nothing once it has stopped, which is no error (runc's).
  if (all && found.status === "stopped") return;
  const c = running(found);
  if (signal === 0) return;
  // Before start the container is one process, waiting: --all means it too.
  if (all && c.status !== "created" && c.status !== "creating") {
    for (const pid of cgroupProcesses(c.paths.cgroups)) kill(pid, signal);
    if (c.status === "paused") await setFrozen(c.paths.cgroups, false).catch(() => {});
    return;
  }
  // Until start the process to be waits (PID 1 of its namespace: no handler takes a signal), and
  // a created container has no payload yet.
  if (c.status === "created" || c.status === "creating" || signal === SIGKILL) {
    if (c.status === "paused") await setFrozen(c.paths.cgroups, false).catch(() => {});
    kill(c.pid!, SIGKILL);
    return;
  }
  kill(c.pid!, signal);
}

/** ps: the host pids of a container's processes. */
export function processesOf(store: Store, id: string): number[] {
  return cgroupProcesses(findContainer(store, id).paths.cgroups);
}

/** pause / resume: the container's cgroup frozen or thawed, recorded in its state. */
export async function freezeContainer(store: Store, id: string, frozen: boolean): Promise<void> {
  const { c, unlock } = lockedContainer(store, id);
  try {
    if (c.status !== (frozen ? "running" : "paused")) throw new UserError(`container ${id} is ${c.status}, not ${frozen ? "running" : "paused"}`);
    await setPaused(liveContainer(store, c.spec), frozen, frozen ? "oci pause" : "oci resume");
  } finally {
    unlock();
  }
}
