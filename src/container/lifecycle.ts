// A container's lifecycle, owned here: the statuses it goes through and which may follow which,
// how a run begins and how its end is recorded, who keeps a running container (its Bun init or
// the native watcher), and the one teardown plan of what an end or a removal takes away. The CLI,
// the Bun init and the native watcher (src/sys/watch.c) all execute that plan; none has its own
// list of what to remove. docs/ARCHITECTURE.md ("Lifecycle") draws the machine.
import { isErrno, readFile, removeTree, unlink, withLockFile } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { join } from "../path.ts";
import { removeCgroups } from "../cgroup/cgroups.ts";
import { cgroupOwnerRecord } from "../cgroup/owners.ts";
import { UserError } from "./errors.ts";
import { keepState, layout, readState, writeState, type ContainerState, type ContainerStatus, type Store } from "./store.ts";
import { containerEndJournal, recordContainerEnd, type ContainerActor } from "./events.ts";
import { bridgeNetwork, type ContainerPaths, type ContainerSpec } from "./spec.ts";

/**
 * Which status may follow which (as runc's state_linux.go and youki's ContainerStatus). A run
 * begins (`beginRun`) from no state, "created", or an ended one; every other move is checked
 * against this table, so a late writer (a pause that raced the payload's end) is refused instead
 * of turning an exited container back into a paused one.
 *
 *   created    → running (box start, box oci start) | exited (its start failed)
 *   running    → paused | restarting (--restart: the init runs the payload again) | exited
 *   paused     → running (unpause) | restarting (its payload killed while frozen) | exited
 *   restarting → running | exited (stopped while it waited)
 *   exited     → (a new run only)
 */
const NEXT: Record<ContainerStatus, readonly ContainerStatus[]> = {
  created: ["running", "exited"],
  running: ["paused", "restarting", "exited"],
  paused: ["running", "restarting", "exited"],
  restarting: ["running", "exited"],
  exited: [],
};

export function mayFollow(from: ContainerStatus, to: ContainerStatus): boolean {
  return NEXT[from].includes(to);
}

/**
 * A new run's state, replacing the last run's: "running" with its init (pid and start time), or
 * "created" for `box oci create`, whose payload waits for `box oci start`. The caller knows no
 * init of the container is alive (a new container, or `box start` under the container's lock).
 */
export function beginRun(paths: Pick<ContainerPaths, "runDir">, init: { pid: number; pidStart: number }, created = false): void {
  writeState(paths, created ? { status: "created", ...init } : { status: "running", ...init, startedAt: new Date().toISOString() });
}

/**
 * The state's read, check and write as one step: a lock file in the run dir (never made again
 * once the run dir is gone), so that two recorders (two `box wait` of a killed init) never both
 * see "not ended yet".
 */
function withStateLock<T>(paths: Pick<ContainerPaths, "runDir">, fn: () => T): T {
  return withLockFile(join(paths.runDir, "state.lock"), fn, false);
}

/** Moves a live container to `to` (pause, unpause, a restart), as NEXT allows. */
export function moveTo(paths: Pick<ContainerPaths, "runDir">, to: ContainerStatus, change: Partial<ContainerState> = {}): ContainerState {
  return withStateLock(paths, () => {
    const now = readState(paths);
    if (!now || !mayFollow(now.status, to)) throw new UserError(`the container is ${now?.status ?? "gone"}: it cannot become ${to}`);
    const next = { ...now, ...change, status: to };
    writeState(paths, next);
    return next;
  });
}

/** The move from `from` only (box oci start: "created" → "running", unless the process has ended already); whether it was made. */
export function moveFrom(paths: Pick<ContainerPaths, "runDir">, from: ContainerStatus, to: ContainerStatus, change: Partial<ContainerState> = {}): boolean {
  return withStateLock(paths, () => {
    const now = readState(paths);
    if (now?.status !== from || !mayFollow(from, to)) return false;
    writeState(paths, { ...now, ...change, status: to });
    return true;
  });
}

/** How a run ended. */
export interface RunEnd {
  exitCode: number;
  oomKilled?: boolean;
}

/** The state of an ended run: what the run was (its init, its start), and its end. */
export function endState(run: ContainerState | undefined, end: RunEnd & { finishedAt: string }): ContainerState {
  return { ...run, status: "exited", exitCode: end.exitCode, oomKilled: end.oomKilled, finishedAt: end.finishedAt };
}

/**
 * Records a run's end, in the run dir and (for after a reboot: the run root is a tmpfs) in the
 * store. An end is recorded once: the first recorder (the init, which saw the payload's status)
 * wins over a later one (the CLI that saw the init die), which returns false.
 */
export function recordEnd(paths: Pick<ContainerPaths, "dir" | "runDir">, end: RunEnd): boolean {
  return withStateLock(paths, () => {
    const run = readState(paths);
    if (run?.status === "exited") return false;
    const state = endState(run, { ...end, finishedAt: new Date().toISOString() });
    writeState(paths, state);
    keepState(paths, state);
    return true;
  });
}

/**
 * The end state as the native watcher writes it: @CODE@, @OOM@ and @TIME@ are filled in when
 * the payload has ended (src/sys/watch.c).
 */
export function endTemplate(run: ContainerState | undefined): string {
  // The placeholders take the places of the end's fields (a key overwritten keeps its place).
  const state = { ...endState(run, { exitCode: 0, finishedAt: "@TIME@" }), exitCode: "@CODE@", oomKilled: "@OOM@" };
  return JSON.stringify(state).replace('"@CODE@"', "@CODE@").replace('"@OOM@"', "@OOM@");
}

/**
 * Whether the native watcher keeps the container once its payload runs (a detached container's
 * init execs it, src/init/watch.ts), or the Bun init stays. The watcher cannot: start the payload
 * again (--restart), hold a pty's master or -i's stdin pipe, send lines to syslog or journald,
 * end a container in a shared PID namespace (its kill(-1) is right only in one of its own), or
 * execute a teardown step only box can (TS_ONLY: a --rm container's network claims, anonymous
 * volumes). A health check is no reason: the host's health timer runs the probes (health-timer.ts).
 * Nor are published ports: the watcher withdraws their rules itself.
 */
export function keptByWatcher(spec: ContainerSpec, detach: boolean): boolean {
  return (
    detach && !spec.tty && !spec.interactive && spec.restart.name === "no" && spec.pidMode === undefined &&
    spec.log.driver !== "syslog" && spec.log.driver !== "journald" && !(spec.remove && boxOnlySteps(spec, true).length) &&
    // Its rules step lists at most this many rules (two per port), from a buffer of its own.
    (spec.endpoint?.ports.length ?? 0) <= WATCHED_PORTS &&
    // `box healthcheck run` restarts a container by stopping and starting it: an --rm one would be gone.
    !(spec.remove && spec.healthcheck?.onFailure === "restart")
  );
}

/** Published ports of a container the native watcher keeps (watch.c's MAX_RULES / 2). */
const WATCHED_PORTS = 256;

// ---- the teardown plan ----

/**
 * One step of an end or a removal. The first four the native watcher executes as well as box;
 * "endpoints" and "volumes" need box's modules (the network's locks, leases and nftables rules;
 * the volumes' users), and a container whose plan has them keeps its Bun init.
 */
export type TeardownStep =
  /** The run's end, recorded (recordEnd). */
  | { op: "record"; runDir: string; containerDir: string }
  /** Its published ports' nftables rules, withdrawn (a stopped container's ports are refused at once, as Docker's). */
  | { op: "rules" }
  /** The container's cgroups, removed once empty (busy for a moment after the last task went). */
  | { op: "cgroups"; dirs: string[] }
  /** A directory tree, removed without following a link; or a file, if it still holds `content`. */
  | { op: "tree"; path: string }
  | { op: "unlink"; path: string; content?: string }
  /** The end's lines in the event journal (die, and destroy for --rm). */
  | { op: "journal"; root: string; spec: ContainerActor & Pick<ContainerSpec, "remove"> }
  | { op: "endpoints" }
  | { op: "volumes" };

/** Where the plan's paths lead: the real ones (the CLI), or the init's /proc/self/fd paths. */
export interface TeardownSite {
  bases: Store;
  cgroupDirs: string[];
  /** The record of who made the cgroups (src/cgroup/owners.ts), when there is one. */
  cgroupOwner?: string;
}

/** What a removal needs to know of a container. */
export type Removed = Pick<ContainerSpec, "id" | "name" | "endpoint" | "connected" | "network" | "volumes"> & ContainerActor;

/** The CLI's site: the store's real paths. */
export function storeSite(store: Store, id: string, paths: Pick<ContainerPaths, "cgroups" | "cgroupOwner">): TeardownSite {
  const owner = paths.cgroupOwner ?? cgroupOwnerRecord(store.root, id);
  return { bases: store, cgroupDirs: paths.cgroups, cgroupOwner: owner && join(owner.dir, owner.name) };
}

/** A removal's steps that need box: its network claims (also a bridge container's whose record never named them), its anonymous volumes. */
function boxOnlySteps(spec: Removed, volumes: boolean): TeardownStep[] {
  return [
    ...(spec.endpoint || spec.connected || bridgeNetwork(spec) !== undefined ? [{ op: "endpoints" } as const] : []),
    ...(volumes && spec.volumes.some((v) => v.anonymous) ? [{ op: "volumes" } as const] : []),
  ];
}

/**
 * What ends a run (`end`: its end recorded, or for --rm the container removed with its anonymous
 * volumes; then its journal lines), or removes a stopped container (box rm, a failed create), in
 * order.
 */
export function teardownPlan(spec: Removed, site: TeardownSite, o: { end: boolean; remove: boolean; volumes?: boolean }): TeardownStep[] {
  const dir = join(site.bases.root, layout.container(spec.id));
  const runDir = join(site.bases.runroot, layout.container(spec.id));
  const steps: TeardownStep[] = [];
  if (!o.remove && o.end && spec.endpoint?.ports.length) steps.push({ op: "rules" });
  if (!o.remove) steps.push({ op: "record", runDir, containerDir: dir });
  else {
    steps.push({ op: "cgroups", dirs: site.cgroupDirs });
    if (site.cgroupOwner && site.cgroupDirs.length) steps.push({ op: "unlink", path: site.cgroupOwner });
    const boxOnly = boxOnlySteps(spec, o.volumes ?? o.end);
    steps.push(...boxOnly.filter((s) => s.op === "endpoints"));
    steps.push({ op: "tree", path: runDir }, { op: "tree", path: dir });
    steps.push({ op: "unlink", path: join(site.bases.root, layout.name(spec.name)), content: spec.id });
    steps.push(...boxOnly.filter((s) => s.op === "volumes"));
  }
  if (o.end) steps.push({ op: "journal", root: site.bases.root, spec: { id: spec.id, name: spec.name, imageName: spec.imageName, labels: spec.labels, remove: o.remove } });
  return steps;
}

/** What executes the box-only steps (the caller's network and volume modules, loaded by it). */
export interface BoxSteps {
  rules?(): void;
  endpoints?(): void;
  volumes?(): void;
  /** Kill what is left in the cgroups before removing them (not when the pid namespace is gone). */
  killLeftovers?: boolean;
}

/**
 * Executes a plan in box; `end` is the run's end for "record" and "journal". It stops at the first
 * step that fails (and throws): what is left is still recorded, for `box rm` or a prune to finish
 * (but for the rules' withdrawal, see below).
 * An end another process recorded first is not journaled twice.
 */
export function executeTeardown(steps: TeardownStep[], end: RunEnd | undefined, box: BoxSteps = {}): void {
  let recorded = true;
  // The rules' withdrawal comes before the record (once recorded, a `box start` may add the next
  // run's rules with the same tag) but never costs the record: its failure is thrown at the end.
  let rulesFailed: unknown;
  for (const s of steps) {
    switch (s.op) {
      case "record":
        try {
          recorded = recordEnd({ runDir: s.runDir, dir: s.containerDir }, end!);
        } catch (e) {
          // Removed meanwhile (box rm -f of a container whose end this process saw): nothing to record.
          if (!isErrno(e, Errno.ENOENT)) throw e;
          recorded = false;
        }
        break;
      case "cgroups":
        removeCgroups(s.dirs, box.killLeftovers ?? false);
        break;
      case "tree":
        removeTree(s.path);
        break;
      case "unlink":
        try {
          if (s.content === undefined || readFile(s.path) === s.content) unlink(s.path);
        } catch {}
        break;
      case "journal":
        if (recorded) recordContainerEnd(s.root, s.spec, end!.exitCode);
        break;
      case "rules":
        try {
          box.rules?.();
        } catch (e) {
          rulesFailed = e;
        }
        break;
      case "endpoints":
        box.endpoints?.();
        break;
      case "volumes":
        box.volumes?.();
        break;
    }
  }
  if (rulesFailed !== undefined) throw rulesFailed;
}

/**
 * The plan as the native watcher reads it: one environment variable per step, BOX_S0, BOX_S1, ...,
 * its fields separated by \x01 (no path or JSON text of box's holds one). The run's state at the
 * hand-over goes into the record step's template; the journal step's lines are made here with
 * placeholders (src/container/events.ts); the rules step names the socket (a netfilter one of the
 * host's network namespace, opened by the init) and the rules' tag prefix.
 */
export function watcherSteps(steps: TeardownStep[], run: ContainerState | undefined, rules?: { socket: number; prefix: string }): string[] {
  const F = "\x01";
  return steps.map((s) => {
    switch (s.op) {
      case "record":
        return ["record", s.runDir, s.containerDir, endTemplate(run)].join(F);
      case "rules":
        if (!rules) throw new Error("the native watcher needs a netfilter socket of the host's network namespace");
        return ["rules", String(rules.socket), rules.prefix].join(F);
      case "cgroups":
        return ["cgroups", ...s.dirs].join(F);
      case "tree":
        return ["tree", s.path].join(F);
      case "unlink":
        return ["unlink", s.path, ...(s.content === undefined ? [] : [s.content])].join(F);
      case "journal": {
        const j = containerEndJournal(s.root, s.spec);
        return ["journal", j.path, j.template].join(F);
      }
      default:
        throw new Error(`the native watcher cannot execute the teardown step ${s.op}`);
    }
  });
}
