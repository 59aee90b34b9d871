// Starts a created container's init in new namespaces and, attached, waits for it: the CLI
// forwards signals to the init and returns the payload's exit status.
import { close, isErrno, read, readFile, write } from "../sys/fs.ts";
import { describeError, Errno } from "../sys/errors.ts";
import { SIGHUP, SIGINT, SIGKILL, SIGTERM } from "../sys/constants.ts";
import { FORWARDED_SIGNALS, kill, processIdentity, waitPid, type WaitResult } from "../sys/process.ts";
import { isTerminal, makeRaw } from "../sys/tty.ts";
import { trace } from "../trace.ts";
import type { InitPlan } from "../init/self.ts";
import type { InitMessage } from "../init/init.ts";
import { EXIT_BOX_ERROR, UserError } from "./errors.ts";
import { storeBoxSteps } from "./create.ts";
import { cgroupOwnerRecord } from "../cgroup/owners.ts";
import { beginRun, executeTeardown, keptByWatcher, storeSite, teardownPlan, type Removed } from "./lifecycle.ts";
import type { Store } from "./store.ts";
import type { PendingInit } from "./launch.ts";
import { stateInit } from "./live.ts";
import type { ContainerPaths, ContainerSpec } from "./spec.ts";
import { recordContainerEvent } from "./events.ts";

function pipeReader(fd: number) {
  return Bun.file(fd).stream().getReader();
}

/** The init's messages on the sync pipe, one JSON line each, in order. */
export class InitMessages {
  private text = "";
  private queue: InitMessage[] = [];
  // Not `for await`: leaving that loop cancels the stream, and Bun closes the fd on a thread pool
  // it first has to start (~1.5 ms at the end of every run). The process exits soon anyway.
  private reader?: ReturnType<typeof pipeReader>;
  private ended = false;

  constructor(private fd: number) {}

  /** The next message; undefined once the pipe is closed (the init is gone). */
  async next(): Promise<InitMessage | undefined> {
    while (!this.queue.length && !this.ended) {
      const r = await (this.reader ??= pipeReader(this.fd)).read();
      if (r.done) this.ended = true;
      else this.take(r.value);
    }
    return this.queue.shift();
  }

  /**
   * next(), blocking this thread: for a wait with nothing else to do meanwhile (create, until
   * the container is created), without the stream's I/O threads (~2 ms to start). Before any next().
   */
  nextNow(): InitMessage | undefined {
    const buf = new Uint8Array(4096);
    while (!this.queue.length && !this.ended) {
      const n = read(this.fd, buf);
      if (n === 0) this.ended = true;
      else this.take(buf.subarray(0, n));
    }
    return this.queue.shift();
  }

  private take(bytes: Uint8Array): void {
    this.text += new TextDecoder().decode(bytes);
    for (let nl = this.text.indexOf("\n"); nl >= 0; nl = this.text.indexOf("\n")) {
      this.queue.push(JSON.parse(this.text.slice(0, nl)) as InitMessage);
      this.text = this.text.slice(nl + 1);
    }
  }

  /** Reads on until the init reports its exit (its code) or the pipe closes (undefined). */
  async exit(): Promise<number | undefined> {
    for (let m = await this.next(); m; m = await this.next()) if ("exit" in m) return m.exit;
    return undefined;
  }
}

/**
 * Reads the init's messages until it reports its exit or the pipe closes (it died, or failed to
 * start): the first message (started or failed) and the exit code it reported, if any.
 */
async function readInit(fd: number, untilStarted = false, onFirst?: () => void): Promise<{ first?: InitMessage; exit?: number }> {
  const messages = new InitMessages(fd);
  const first = await messages.next();
  if (first) onFirst?.();
  if (!first || "exit" in first) return { first, exit: first && "exit" in first ? first.exit : undefined };
  if (untilStarted) return { first };
  return { first, exit: await messages.exit() };
}

/** Where a container's init is made: a PID namespace of its own (undefined), --pid's, or a bundle's (ns:PATH). */
export function pidNamespaceOf(store: Store, spec: Pick<ContainerSpec, "pidMode">): "host" | { path: string } | undefined {
  if (spec.pidMode === undefined) return undefined;
  if (spec.pidMode === "host") return "host";
  if (spec.pidMode.startsWith("ns:")) return { path: spec.pidMode.slice("ns:".length) };
  const id = spec.pidMode.slice("container:".length);
  const pid = stateInit(store, id);
  if (pid === undefined) throw new UserError(`cannot join PID of a non running container: ${id.slice(0, 12)}`);
  return { path: `/proc/${pid}/ns/pid` };
}

/**
 * Sends the plan, then (while the init builds the container) records "running". The init writes
 * the end only after this closes the plan pipe, so "running" never overwrites "exited".
 */
export function sendPlan(init: PendingInit, store: Store, spec: ContainerSpec, paths: ContainerPaths, detach: boolean, oci?: { startFifo?: string; startAtOnce?: boolean; consoleSocket: boolean; startState: object }): void {
  // The owner record create has just written, or (box start) where it is.
  const cgroupOwner = paths.cgroupOwner ?? (paths.cgroups.length ? cgroupOwnerRecord(store.root, spec.id) : undefined);
  const plan: InitPlan = { id: spec.id, spec, detach, root: store.root, runroot: store.runroot, cgroups: paths.cgroups, callerPid: process.pid, ...(cgroupOwner ? { cgroupOwner } : {}), ...oci };
  const startFifo = oci?.startFifo;
  try {
    write(init.planWrite, `${JSON.stringify(plan)}\n`);
    recordLaunch(store, spec, paths, init.pid, startFifo !== undefined);
  } catch (e) {
    // EPIPE, or no /proc entry: the init died before reading it; its sync pipe's EOF says so next.
    if (!isErrno(e, Errno.EPIPE) && !isErrno(e, Errno.ENOENT)) throw e;
  } finally {
    close(init.planWrite);
  }
}

/** The state once the container's init (or box oci's process) exists: "running", or for box oci create "created" until start. */
export function recordLaunch(store: Store, spec: ContainerSpec, paths: ContainerPaths, pid: number, created: boolean): void {
  beginRun(paths, { pid, pidStart: processIdentity(pid).start }, created);
  if (!created) recordContainerEvent(store.root, spec, "start");
}

/**
 * -d: returns once the payload runs (the init, in its own session, carries on alone and records
 * the exit); a failed start is reported and cleaned up as for an attached run.
 */
export async function runDetached(init: PendingInit, store: Store, spec: ContainerSpec, paths: ContainerPaths): Promise<void> {
  sendPlan(init, store, spec, paths, true);
  const { first } = await readInit(init.syncRead, true, () => (init.reported = true));
  if (first && "pid" in first) {
    if (spec.healthcheck && keptByWatcher(spec, true)) {
      try {
        (await import("./health-timer.ts")).startHealthTimer(store, spec, paths, init.pid);
      } catch (e) {
        // The container runs; only its probes will not.
        process.stderr.write(`box: warning: the health checks of ${spec.name} will not run: ${describeError(e)}\n`);
      }
    }
    return;
  }
  const status = waitPid(init.pid, false);
  close(init.lifelineWrite);
  failedStart(store, spec, paths, first, status);
}

/** What the init does when it can (the run's end, or the removal of a --rm container), done here now that its namespaces are gone. */
export function recordEnd(store: Store, spec: Removed & Pick<ContainerSpec, "remove">, paths: ContainerPaths, code: number): void {
  executeTeardown(teardownPlan(spec, storeSite(store, spec.id, paths), { end: true, remove: spec.remove }), { exitCode: code }, storeBoxSteps(store, spec));
}

/** The init died or reported an error before the payload ran: clean up, then say why. */
export function failedStart(store: Store, spec: ContainerSpec, paths: ContainerPaths, message: InitMessage | undefined, status: WaitResult | null): never {
  const failed = message && "error" in message ? message : undefined;
  const code = failed?.code ?? status?.code ?? EXIT_BOX_ERROR;
  recordEnd(store, spec, paths, code);
  if (failed) throw new UserError(failed.error, failed.code);
  throw new UserError(`container init exited with status ${code} before starting the payload`);
}

const ENDING_SIGNALS = new Set([SIGTERM, SIGINT, SIGHUP]);
const STUCK_START_MS = 5000;

/**
 * Sends `signal` to the init once it catches it. The init is PID 1 of its pid namespace: the
 * kernel drops, from outside, every signal it has no handler for, and in its first milliseconds
 * (its runtime starting) it has none yet. A process that is gone takes nothing.
 */
async function deliverWhenCaught(pid: number, signal: number): Promise<void> {
  for (const until = Date.now() + STUCK_START_MS; Date.now() < until; await Bun.sleep(2)) {
    const caught = catches(pid, signal);
    if (caught === undefined) return;
    if (caught) {
      kill(pid, signal);
      return;
    }
  }
}

/** Whether `pid` has a handler for `signal` (its SigCgt mask); undefined when it is gone. */
function catches(pid: number, signal: number): boolean | undefined {
  let status: string;
  try {
    status = readFile(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return mask !== undefined && ((BigInt(`0x${mask}`) >> BigInt(signal - 1)) & 1n) === 1n;
}

/**
 * Until the returned function is called, every signal this process can catch goes to `pid` (the
 * init forwards it on; one that comes while the container is built reaches the payload as soon
 * as it runs). While `building()` says the init has not reported the payload's start, SIGTERM,
 * SIGINT and SIGHUP also set a deadline: an init that has still not reported by then is stuck in
 * the kernel (a hook, a mount) and is SIGKILLed, so that nothing keeps `box run` from ending.
 */
export function forwardSignals(pid: number, building: () => boolean = () => false): () => void {
  const handlers = FORWARDED_SIGNALS.map(([name, num]) => {
    const h = () => {
      void deliverWhenCaught(pid, num);
      if (building() && ENDING_SIGNALS.has(num)) setTimeout(() => building() && kill(pid, SIGKILL), STUCK_START_MS);
    };
    try {
      process.on(name as NodeJS.Signals, h);
    } catch {}
    return [name, h] as const;
  });
  return () => {
    for (const [name, h] of handlers) process.off(name as NodeJS.Signals, h);
  };
}

/**
 * `started` runs once the init has reported the payload's start (or its failure); `handOver`
 * once this function's signal handlers are in (the caller's may go then: never none).
 */
/**
 * `started`: called once the payload runs (or failed to); `handOver`: once this function's own
 * signal forwarding is in place. `proxySignals` false (--sig-proxy=false): a signal ends this
 * process with its default action, and with it the container.
 */
export async function runAttached(init: PendingInit, store: Store, spec: ContainerSpec, paths: ContainerPaths, o: { started?: () => void; handOver?: () => void; proxySignals?: boolean } = {}): Promise<number> {
  const { started, handOver, proxySignals = true } = o;
  const { pid, syncRead, lifelineWrite } = init;
  const restoreTerminal = spec.tty && isTerminal(0) ? makeRaw(0) : undefined;
  // Before the plan: from then on the payload may run, and a signal must reach it, not end this
  // process (and with it the container).
  const stopForwarding = proxySignals ? forwardSignals(pid, () => !init.reported) : () => {};
  handOver?.();
  sendPlan(init, store, spec, paths, false);

  const { first: message, exit } = await readInit(syncRead, false, () => {
    init.reported = true;
    started?.();
  });
  started?.();
  // After its exit report the init only tears itself down; otherwise it died: wait for that.
  const status = exit === undefined ? waitPid(pid, false) : undefined;
  trace("cli", "init-exited");
  stopForwarding();
  restoreTerminal?.();
  close(lifelineWrite);

  // After a reported exit the init has recorded it, or removed the container, itself.
  if (exit !== undefined) return exit;
  // Killed by a signal, the container was killed, whether or not the init got to report: 128+N.
  const killed = (message !== undefined && "pid" in message) || status?.signal !== undefined;
  if (!killed) failedStart(store, spec, paths, message, status ?? null);
  const code = status?.code ?? EXIT_BOX_ERROR;
  recordEnd(store, spec, paths, code);
  return code;
}
