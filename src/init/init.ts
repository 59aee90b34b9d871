// box as the container's PID 1: builds the rootfs, starts the payload, reaps every zombie,
// forwards signals, and exits with the payload's status. For --rm it also removes the
// container, so nothing is left even when the CLI that started it was SIGKILLed.
import { close, exists, fchown, isErrno, open, read, readAll, statInRoot, write, writeFile } from "../sys/fs.ts";
import { RestartPolicy, STOP_REQUESTED } from "../container/restart.ts";
import { basename, join } from "../path.ts";
import { buildRootfs, TTY_GID, type UserNamespace } from "../rootfs/setup.ts";
import { openUserNamespace } from "../sys/userns.ts";
import { hostId, hostOwner, initIds } from "../security/userns.ts";
import { MS_BIND, O_DIRECTORY, O_PATH, O_RDONLY, O_RDWR, O_WRONLY, SIGKILL, SIGTERM, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWUTS, NAMESPACE_FLAGS } from "../sys/constants.ts";
import { mount } from "../sys/mount.ts";
import { becomeSubreaper, exitNow, FORWARDED_SIGNALS, kill, redirectFd, setNotDumpable, setns, signalNumber, unshare, waitPid, type WaitResult } from "../sys/process.ts";
import { copyMountIn, execInPlace, execInPlaceSingleThreaded, loadSpawn, shimFile, spawn, type SpawnOptions } from "../sys/spawn.ts";
import { copyWindowSize, openPty, setWindowSize, type Pty } from "../sys/tty.ts";
import { describeError, Errno } from "../sys/errors.ts";
import { libc } from "../sys/libc.ts";
import { bringUpLoopback } from "../net/loopback.ts";
import { connectContainer } from "../net/endpoint.ts";
import { peerHosts, portRulePrefix, releaseEndpoint, withdrawPorts } from "../net/network.ts";
import { NETLINK_NETFILTER, NETLINK_ROUTE, NetlinkSocket } from "../sys/netlink.ts";
import { payloadRestrictions } from "../security/payload.ts";
import { containerConfig, containerPaths, fdPath, openDir, readState, layout, type Store } from "../container/store.ts";
import { executeTeardown, keptByWatcher, moveTo, teardownPlan, watcherSteps, type TeardownSite } from "../container/lifecycle.ts";
import { removeAnonymousVolumes } from "../container/volumes.ts";
import { stateInit } from "../container/live.ts";
import { resetHealth } from "../container/health.ts";
import { resolveCommand } from "../container/command.ts";
import { envValue } from "../container/env.ts";
import { nameContainer, payloadCgroupfs, payloadNamespaces, resolvePayload } from "../container/payload.ts";
import { EXIT_BOX_ERROR, UserError } from "../container/errors.ts";
import { endCgroupProcesses } from "../cgroup/cgroups.ts";
import { joinFiles } from "../cgroup/paths.ts";
import { controllerDir, oomKills } from "../cgroup/events.ts";
import { setFrozen } from "../cgroup/freezer.ts";
import { detectCgroups } from "../cgroup/detect.ts";
import { endpointsOf, sharedIpc, sharedNetwork, type ContainerSpec } from "../container/spec.ts";
import { INIT_FDS, type InitPlan } from "./self.ts";
import { attachedOutput, consoleOutput, detachedOutput, type PayloadOutput } from "./output.ts";
import { sendFd } from "../sys/unix-socket.ts";
import { connectSeccompAgent } from "../oci/agent.ts";
import type { OciState } from "../oci/state.ts";
import { runStartContainerHooks } from "./start-hooks.ts";
import { connectLogDriver } from "../container/log-drivers.ts";
import { publishInput } from "../container/attach.ts";
import type { LogEntries } from "../container/logs.ts";
import { trace } from "../trace.ts";
import { recordContainerEvent } from "../container/events.ts";

/**
 * Messages to the CLI on the sync pipe, one JSON line each. `exit` comes last, once the
 * container is cleaned up: the CLI need not wait for the init's teardown.
 */
export type InitMessage = { pid: number } | { created: true } | { error: string; code: number } | { exit: number };

/**
 * The host-side places the init still needs after pivot_root, reached through fds. Plain data:
 * it travels through the watcher's exec as JSON, with the fds kept open.
 */
export interface HostHandles {
  bases: Store;
  /** The host's /proc (other containers' /etc/hosts are reached through it). */
  proc: string;
  cgroupDirs: string[];
  cgroupJoin: number[];
  /** Where the container's teardown plan leads (src/container/lifecycle.ts). */
  site: TeardownSite;
  /** Every descriptor above, to keep across the watcher's exec. */
  fds: number[];
}

/** The cgroups' owner record through a descriptor of its directory; none when there is none (an older box's cgroups). */
function ownerRecordPath(owner: { dir: string; name: string }, keep: (fd: number) => number): string | undefined {
  try {
    return join(fdPath(keep(openDir(owner.dir))), owner.name);
  } catch (e) {
    if (isErrno(e, Errno.ENOENT)) return undefined;
    throw e;
  }
}

function openHostHandles(plan: InitPlan): HostHandles {
  const fds: number[] = [];
  const keep = (fd: number) => (fds.push(fd), fd);
  const bases = { root: fdPath(keep(openDir(plan.root))), runroot: fdPath(keep(openDir(plan.runroot))) };
  // Each reached through its parent (a bundle's cgroupsPath names the last component, not the id).
  const cgroupDirs = plan.cgroups.map((d) => join(fdPath(keep(openDir(join(d, "..")))), basename(d)));
  const cgroupOwner = plan.cgroupOwner && ownerRecordPath(plan.cgroupOwner, keep);
  return {
    bases,
    proc: fdPath(keep(openDir("/proc"))),
    cgroupDirs,
    cgroupJoin: joinFiles(plan.cgroups).map((file) => keep(open(file, O_WRONLY))),
    site: { bases, cgroupDirs, cgroupOwner },
    fds,
  };
}

/** What it takes to start the payload, once the container is set up; each restart uses it again. */
interface Launcher {
  pty?: Pty;
  /** Starts the payload; its pid and where its output goes. */
  launch(): { pid: number; output: PayloadOutput };
  /** Starts another program (a startContainer hook) confined as the payload is: its user, cgroups, user namespace, capabilities, seccomp. */
  confined(o: Pick<SpawnOptions, "path" | "argv" | "env" | "fds">): number;
  /** A command of the container (a health probe) as the payload runs: looked up in its PATH, its environment and working directory. */
  command(argv: string[], fds: [number, number][]): number;
  /**
   * box oci: this process becomes the payload (runc's process model: the pid the caller has is
   * the process, PID 1 of the container, in its cgroup); undefined where the init must stay its
   * parent: a terminal that the init relays (`box oci run` in the foreground, no console socket).
   */
  replace?: (awaitStart?: SpawnOptions["awaitStart"]) => never;
}

/**
 * --network/--ipc container:ID: the other container's namespace, through its init (checked to be
 * the same process); its pid, for what else is shared.
 */
function joinContainerNamespace(host: HostHandles, id: string, type: "net" | "ipc"): number {
  const pid = stateInit(host.bases, id, host.proc);
  const what = type === "net" ? "network" : "IPC";
  if (pid === undefined) throw new UserError(`cannot join the ${what} of container ${id.slice(0, 12)}: it is not running`);
  joinNamespace(`${host.proc}/${pid}/ns/${type}`, NAMESPACE_FLAGS[type], `${what} namespace of container ${id.slice(0, 12)}`);
  return pid;
}

/**
 * A copy of the /dev/shm mount of the container whose IPC namespace this one shares. A mount of
 * another mount namespace cannot be bound from here: a child of the trampoline's enters that
 * namespace and clones the mount there (open_tree) into this process's descriptors. The path is
 * resolved inside that container's root: a link there (the other container is no more trusted
 * than this one) leads nowhere else.
 */
function sharedShm(host: HostHandles, pid: number): number {
  const theirs = open(`${host.proc}/${pid}/ns/mnt`, O_RDONLY);
  try {
    return copyMountIn(theirs, "/dev/shm", "/dev/shm of the container whose IPC is shared");
  } finally {
    close(theirs);
  }
}

/** This thread enters the namespace at `path` (a /proc/PID/ns/* file). */
function joinNamespace(path: string, type: number, what: string): void {
  const fd = open(path, O_RDONLY);
  try {
    setns(fd, type, what);
  } finally {
    close(fd);
  }
}

/**
 * The namespaces that are not new (a bundle's, --uts/--ipc host): the caller's ("host"), or one
 * named by path. The init made new ones at its start (before it had a plan); this thread leaves
 * them again.
 */
function joinNamespaces(choices: NonNullable<ContainerSpec["namespaces"]>, callerPid: number): void {
  for (const type of ["uts", "ipc", "net"] as const) {
    const choice = choices[type];
    // The network namespace "host" is the caller's too, through fd 6 (spec.network "host").
    if (choice === undefined || (type === "net" && choice === "host")) continue;
    const path = choice === "host" ? `/proc/${callerPid}/ns/${type}` : choice.path;
    try {
      joinNamespace(path, NAMESPACE_FLAGS[type], `${type} namespace ${path}`);
    } catch (e) {
      // A bad path of the bundle's: one line, box's exit code.
      throw new UserError(describeError(e));
    }
  }
}

/**
 * A container whose end deletes nftables rules (its published ports': withdrawn, or for --rm
 * released with its address), in the host's network namespace: its init keeps fd 6.
 */
function releasesRules(spec: ContainerSpec): boolean {
  return (spec.endpoint?.ports.length ?? 0) > 0;
}

/**
 * A netfilter socket of the host's network namespace (made there by this thread, which comes
 * back), on which the native watcher withdraws the container's port rules at its end
 * (lifecycle.ts's "rules" step).
 */
function hostNetfilterSocket(id: string): { socket: number; prefix: string } {
  const own = open("/proc/thread-self/ns/net", O_RDONLY);
  let nl: NetlinkSocket;
  try {
    setns(INIT_FDS.hostNet, CLONE_NEWNET, "network namespace of box run");
    try {
      nl = new NetlinkSocket(NETLINK_NETFILTER);
    } finally {
      setns(own, CLONE_NEWNET, "the container's network namespace");
    }
  } finally {
    close(own);
  }
  return { socket: nl.fd, prefix: portRulePrefix(id) };
}

/** Builds the container (rootfs, hostname, pty, cgroupfs), then makes its launcher. */
function prepareContainer(spec: ContainerSpec, plan: InitPlan, host: HostHandles, hostRoute: NetlinkSocket | Error): Launcher {
  // This thread (whose children the payload will be) mounts /sys and starts the payload.
  if (spec.network === "host") setns(INIT_FDS.hostNet, CLONE_NEWNET, "network namespace of box run");
  if (spec.namespaces) joinNamespaces(spec.namespaces, plan.callerPid);
  const other = sharedNetwork(spec.network);
  if (other !== undefined) joinContainerNamespace(host, other, "net");
  const ipcOf = sharedIpc(spec.ipcMode);
  const shm = ipcOf !== undefined ? sharedShm(host, joinContainerNamespace(host, ipcOf, "ipc")) : spec.namespaces?.ipc === "host" ? "/dev/shm" : undefined;
  // Connected now, while host paths and box run's network namespace are at hand.
  const driverLog = plan.detach ? connectLogDriver(spec, INIT_FDS.hostNet) : undefined;
  // --rm with published ports: kept to delete their rules from the host's namespace.
  if (!releasesRules(spec)) close(INIT_FDS.hostNet);
  if (hostRoute instanceof Error) {
    if (spec.endpoint) throw hostRoute;
  } else {
    for (const e of endpointsOf(spec)) connectContainer(hostRoute, plan.id, e, e === spec.endpoint);
    hostRoute.close();
  }
  const peers = endpointsOf(spec).flatMap((e) => peerHosts(host.bases, e, plan.id));
  // The payload's user namespace, made here: the idmapped mounts of the rootfs need it first.
  const userns = spec.userns && { fd: openUserNamespace(spec.userns.uidMap, spec.userns.gidMap), spec: spec.userns };
  // The seccomp agent listens at a host path: connected while there is one.
  const agent = spec.seccompAgent && connectSeccompAgent(spec.seccompAgent, plan.startState as OciState);
  try {
    buildRootfs(spec, containerPaths({ root: plan.root, runroot: plan.runroot }, plan.id, plan.cgroups), { peerHosts: peers, userns, shm });
  } finally {
    if (typeof shm === "number") close(shm);
  }
  trace("init", "rootfs-built");
  nameContainer(spec);

  let pty: Pty | undefined;
  if (spec.tty) {
    pty = openPty("/dev/ptmx");
    if (spec.runtime?.consoleSize) setWindowSize(pty.master, spec.runtime.consoleSize.rows, spec.runtime.consoleSize.columns);
    else if (!plan.detach) copyWindowSize(0, pty.master);
    mount(pty.slavePath, "/dev/console", null, MS_BIND);
    if (plan.consoleSocket) {
      // The caller (containerd's shim) relays the terminal from now on; this process keeps no master.
      sendFd(INIT_FDS.console, pty.master, "/dev/ptmx");
      close(INIT_FDS.console);
      close(pty.master);
      pty = { ...pty, master: -1 };
      // The caller's stdio (the shim reads create's output until EOF) is no business of the container's.
      const devNull = open("/dev/null", O_RDWR);
      for (const fd of [0, 1, 2]) redirectFd(devNull, fd);
      close(devNull);
    }
  }
  return makeLauncher(spec, plan, host, pty, payloadCgroupfs(spec, detectCgroups()), userns, agent, driverLog);
}

/**
 * Resolves user, env and command in the container (this process is inside it) and returns what
 * starts the payload. `cgroupMounts` are made by the first payload's spawn child only.
 */
function makeLauncher(spec: ContainerSpec, plan: InitPlan, host: HostHandles, pty: Pty | undefined, cgroupMounts: NonNullable<SpawnOptions["mounts"]>, userns: UserNamespace | undefined, agent: SpawnOptions["seccompAgent"], driverLog?: () => LogEntries): Launcher {
  // Everything the image says is looked up inside its root (openat2).
  const { user, env, exe } = resolvePayload(spec, "/", host.proc);
  if (userns) requireMapped(userns, user);
  // The payload owns its terminal, group tty (5) as devpts's gid=5 option has it.
  if (pty) fchown(pty.slave, ...hostOwner(initIds(spec), user.uid, TTY_GID));
  const unshareFlags = payloadNamespaces(spec);
  const restrictions = payloadRestrictions(spec);
  // A new time namespace (in unshareFlags): the payload enters it at exec (Linux 6.x; on older
  // kernels only the processes it starts do).
  const confinement = { cgroupJoin: host.cgroupJoin, unshareFlags, setsid: true, user, ...restrictions, userns: userns?.fd, shim: true };
  // box oci --preserve-fds: the caller's descriptors, back at 3 .. for the process.
  const preserved = Array.from({ length: spec.runtime?.preserveFds ?? 0 }, (_, i): [number, number] => [INIT_FDS.preserved + i, 3 + i]);
  let first = true;
  const replace = (awaitStart?: SpawnOptions["awaitStart"]) => {
    const output = plan.consoleSocket ? consoleOutput(pty!) : attachedOutput(spec, pty);
    if (spec.runtime?.umask !== undefined) libc.umask(spec.runtime.umask);
    trace("init", "payload-exec");
    // The session is this process's since its spawn (setsid): the payload's already.
    const o = { ...confinement, setsid: false, path: exe, argv: spec.command, env, fds: [...output.fds, ...preserved], controllingTty: spec.tty, cwd: spec.workdir, mounts: cgroupMounts, awaitStart, seccompAgent: agent };
    // Entering a user namespace takes a single-threaded process: stage2.c, exec'd in place; so
    // does waiting for start, which must not leave Bun's threads running with no handler of theirs.
    return userns || awaitStart?.fifo !== undefined ? execInPlaceSingleThreaded(o) : execInPlace(o);
  };
  return {
    replace: spec.runtime && (!pty || plan.consoleSocket) ? replace : undefined,
    pty,
    confined: (o) => spawn({ ...confinement, ...o, cwd: "/" }),
    command(argv, fds) {
      // This process's root is the container's by now.
      const root = open("/", O_PATH | O_DIRECTORY);
      let path: string;
      try {
        path = resolveCommand(argv[0]!, envValue(env, "PATH"), spec.workdir, (p) => statInRoot(root, p));
      } finally {
        close(root);
      }
      return spawn({ ...confinement, path, argv, env, fds, cwd: spec.workdir });
    },
    launch() {
      const output = plan.detach ? detachedOutput(spec, pty, containerDir(host, plan), keptByWatcher(spec, true), driverLog) : plan.consoleSocket ? consoleOutput(pty!) : attachedOutput(spec, pty);
      // A bundle's process.user.umask, for the payload only (box's own files keep 022).
      const umask = spec.runtime?.umask === undefined ? undefined : libc.umask(spec.runtime.umask);
      let pid: number;
      try {
        pid = spawn({
          ...confinement,
          path: exe,
          argv: spec.command,
          env,
          fds: [...output.fds, ...preserved],
          controllingTty: spec.tty,
          cwd: spec.workdir,
          // cgroupfs stays mounted for the payloads after the first.
          mounts: first ? cgroupMounts : [],
          // The agent's connection serves one process, the first.
          seccompAgent: first ? agent : undefined,
        });
      } finally {
        if (umask !== undefined) libc.umask(umask);
        if (first && agent) close(agent.socket);
      }
      first = false;
      trace("init", "payload-started");
      output.started();
      if (output.input !== undefined) publishInput(runPaths(host, plan).runDir, output.input);
      // Without a restart policy (or health probes) nothing will join again.
      if (spec.restart.name === "no" && !spec.healthcheck) {
        for (const fd of host.cgroupJoin.splice(0)) {
          close(fd);
          host.fds.splice(host.fds.indexOf(fd), 1);
        }
      }
      return { pid, output };
    },
  };
}

/** The kernel would refuse the user switch with a bare EINVAL; say which id is not mapped. */
function requireMapped(userns: UserNamespace, user: { uid: number; gid: number; groups?: number[] }): void {
  if (hostId(userns.spec.uidMap, user.uid) === undefined) throw new UserError(`the user's uid ${user.uid} is not mapped in the container's user namespace (--uidmap)`);
  for (const gid of [user.gid, ...(user.groups ?? [])]) {
    if (hostId(userns.spec.gidMap, gid) === undefined) throw new UserError(`the user's gid ${gid} is not mapped in the container's user namespace (--gidmap)`);
  }
}

function containerDir(host: HostHandles, plan: InitPlan): string {
  return join(host.bases.root, layout.container(plan.id));
}

function runPaths(host: HostHandles, plan: InitPlan): { runDir: string } {
  return { runDir: join(host.bases.runroot, layout.container(plan.id)) };
}

/** Tells the CLI; it may be gone (SIGKILLed), which is no error of the container's. */
function report(m: InitMessage): void {
  try {
    write(INIT_FDS.sync, `${JSON.stringify(m)}\n`);
  } catch {
    // EPIPE: nobody is listening any more.
  }
}

/** Blocks until the CLI has sent the plan; undefined when it closed the pipe without one. */
/**
 * Blocks until the CLI has sent the plan (one JSON line); undefined when it closed the pipe
 * without one. The pipe stays open: the CLI closes it once it has recorded the start (see
 * planDone).
 */
function readPlan(): InitPlan | undefined {
  let text = "";
  const buf = new Uint8Array(65536);
  for (let n; !text.endsWith("\n") && (n = read(INIT_FDS.plan, buf)) > 0; ) text += Buffer.from(buf.subarray(0, n)).toString();
  return text ? (JSON.parse(text) as InitPlan) : undefined;
}

/**
 * Waits for the CLI to close the plan pipe, which it does after writing the "running" state: so
 * the end ("exited", or the container's removal) always comes after it. Long done by then.
 */
function planDone(): void {
  readAll(INIT_FDS.plan);
  close(INIT_FDS.plan);
}

export async function runInit(): Promise<never> {
  // Started as /proc/self/exe, the kernel named this process "exe"; `ps` should say box.
  writeFile("/proc/self/comm", "box");
  setNotDumpable();
  // Whatever escapes the init's own handling is still one line on the container's stderr (the
  // caller's, under box oci), never Bun's report with its stack.
  const fatal = (e: unknown) => {
    write(2, `box: container init: ${describeError(e)}\n`);
    exitNow(EXIT_BOX_ERROR);
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  trace("init", "start");
  let restarts: RestartPolicy | undefined;
  let payload: number | undefined;
  let pty: Pty | undefined;
  // First: this process is PID 1 of its pid namespace, and the kernel drops every signal from
  // outside it that it has no handler for (SIGKILL aside). A signal box run forwards while the
  // container is being built (before the payload exists) is kept, and the payload gets it as soon
  // as it runs, as Docker's would.
  let early: number | undefined;
  for (const [name, num] of FORWARDED_SIGNALS) {
    try {
      process.on(name as NodeJS.Signals, () => {
        // With a pty, resizing it makes the kernel send SIGWINCH to the payload itself.
        if (name === "SIGWINCH" && pty) copyWindowSize(0, pty.master);
        else if (payload !== undefined) kill(payload, num);
        else if (restarts) {
          if (name === "SIGTERM" || name === "SIGINT") restarts.interrupt();
        } else early = num;
      });
    } catch {
      // Bun does not let JavaScript handle this one.
    }
  }
  // What needs no plan is done while the CLI is still creating the container: first the
  // namespaces this thread (the payload's parent) makes itself (see NAMESPACES in start.ts).
  let isolation: unknown;
  // Opened in the host's network namespace, before this thread leaves it: the host's end of a
  // bridge network's veth pair is made (and removed) through it.
  let hostRoute: NetlinkSocket | Error;
  try {
    hostRoute = new NetlinkSocket(NETLINK_ROUTE);
  } catch (e) {
    hostRoute = e as Error; // reported if the container needs it
  }
  try {
    unshare(CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC);
  } catch (e) {
    isolation = e; // reported once there is a CLI to tell: no container runs without them
  }
  try {
    loadSpawn();
    shimFile();
    detectCgroups();
    // The init's own network namespace; with --network host the payload's is the host's instead.
    bringUpLoopback();
  } catch {
    // Done again below, where a failure is reported.
  }
  trace("init", "prepared");
  const plan = readPlan();
  trace("init", "plan-received");
  if (!plan) exitNow(0);
  libc.umask(0o022);
  // Not PID 1 of a namespace of its own (--pid): the payload's orphans must still come to this process.
  if (plan.spec.pidMode) becomeSubreaper();
  // Inherited by the payload (a bundle's process.oomScoreAdj).
  if (plan.spec.oomScoreAdj !== undefined) writeFile("/proc/self/oom_score_adj", String(plan.spec.oomScoreAdj));
  const spec = plan.spec;
  // box oci: created first, then started (at once, or by `box oci start`); no lifeline.
  const ociStart = plan.startFifo !== undefined || plan.startAtOnce === true;
  let host: HostHandles | undefined;
  let payloadExit: WaitResult | undefined;
  let onPayloadExit: (() => void) | undefined;

  // Health probes' ends, by pid (src/init/health.ts).
  const probes = new Map<number, (r: WaitResult) => void>();
  const reap = () => {
    for (let r = waitPid(-1, true); r; r = waitPid(-1, true)) {
      if (r.pid === payload) {
        payloadExit = r;
        onPayloadExit?.();
      } else probes.get(r.pid)?.(r);
    }
  };
  process.on("SIGCHLD", reap);

  let output: PayloadOutput | undefined;
  let launcher: Launcher;
  try {
    if (isolation) throw isolation;
    loadSpawn();
    host = openHostHandles(plan);
    launcher = prepareContainer(spec, plan, host, hostRoute);
    pty = launcher.pty;
    if (!ociStart) ({ pid: payload, output } = launcher.launch());
  } catch (e) {
    // No cleanup here: before pivot_root the rootfs (maybe a bind of the user's directory) is
    // still mounted below the run dir. The CLI removes the container once this namespace is gone.
    const code = e instanceof UserError ? e.exitCode : EXIT_BOX_ERROR;
    report({ error: describeError(e), code });
    exitNow(code);
  }
  if (ociStart) ({ pid: payload, output } = awaitStart(plan, host!, launcher!));
  if (early !== undefined) kill(payload!, early);
  // Before the report: the CLI then starts the health timer, which reads it ("starting").
  if (spec.healthcheck && output!.watch) resetHealth(runPaths(host!, plan));
  // The sync pipe stays open until the init exits: its EOF tells the CLI the container is gone.
  report({ pid: payload! });
  // Bun (1.4.5) busy-loops when nothing but signal listeners keeps its event loop alive (box oci:
  // no lifeline, no relay); a pending timer makes it sleep in epoll_wait instead.
  setInterval(() => {}, 2 ** 30);

  // The CLI holds the other end: EOF means it is gone, and an attached container goes with it.
  if (!plan.detach && !ociStart) void (async () => {
    for await (const _ of Bun.file(INIT_FDS.lifeline).stream());
    if (payload !== undefined && !payloadExit) {
      kill(payload, SIGKILL);
      // A paused payload cannot die until it is thawed.
      await setFrozen(host!.cgroupDirs, false).catch(() => {});
    }
  })().catch(() => {});

  restarts = new RestartPolicy(spec.restart, () => exists(join(containerDir(host!, plan), STOP_REQUESTED)));
  // --health-on-failure restart: the next run comes whatever the restart policy says.
  let restartUnhealthy = false;
  for (;;) {
    const startedAt = Date.now();
    // Handed over to the native watcher, its health checks are the host's health timer's
    // (src/container/health-timer.ts, started by the CLI); here they start with the payload.
    if (output!.watch && !payloadExit) {
      // Loaded only now: the watcher's bytes are no part of the start of every init.
      const { handOver } = await import("./watch.ts");
      // Unless the payload is gone already (reaped meanwhile): then this process finishes the job.
      if (!payloadExit) watchFromNow(handOver, spec, plan, host!, payload!, output!.watch);
    }
    const stopHealth = spec.healthcheck
      ? (await import("./health.ts")).scheduleHealth({
          health: spec.healthcheck,
          runDir: runPaths(host!, plan).runDir,
          start: (argv, fds) => launcher!.command(argv, fds),
          children: probes,
          onUnhealthy: () => {
            restartUnhealthy = actOnUnhealthy(spec, containerDir(host!, plan), payload!);
          },
        })
      : undefined;
    reap();
    if (!payloadExit) await new Promise<void>((resolve) => (onPayloadExit = resolve));
    stopHealth?.();
    // Reaped: its pid is no longer its own (with --pid host, another process of the host may get
    // it). A stop from now on (SIGTERM to this process, no payload to forward it to) ends it.
    payload = undefined;
    // The container never outlives its payload: whatever it left running dies now. In a PID
    // namespace of its own that is every other process this one sees; in a shared one (--pid),
    // where that would be the host's or another container's, it is those of its cgroup.
    trace("init", "payload-exited");
    if (spec.pidMode) endCgroupProcesses(host!.cgroupDirs);
    else kill(-1, SIGKILL);
    while (waitPid(-1, false));
    await output!.drained();
    const delay = restartUnhealthy ? 0 : restarts.next(payloadExit!.code, Date.now() - startedAt);
    restartUnhealthy = false;
    if (delay === undefined) break;
    const paths = runPaths(host!, plan);
    moveTo(paths, "restarting", { exitCode: payloadExit!.code, restartCount: restarts.count, finishedAt: new Date().toISOString() });
    recordContainerEvent(host!.bases.root, spec, "die", { exitCode: String(payloadExit!.code) });
    if (!(await restarts.pause(delay))) break;
    payloadExit = undefined;
    ({ pid: payload, output } = launcher!.launch());
    moveTo(paths, "running", { startedAt: new Date().toISOString() });
    recordContainerEvent(host!.bases.root, spec, "start");
  }
  finish(spec, plan, host!, payloadExit!.code, oomKills(host!.cgroupDirs) > 0);
}

/**
 * --health-on-failure, once the container turns unhealthy (Podman's): kill the payload, stop the
 * container (its stop signal, SIGKILL after its stop timeout, and no restart after), or restart
 * it (true: the caller starts the payload again whatever the restart policy says).
 */
function actOnUnhealthy(spec: ContainerSpec, dir: string, payload: number): boolean {
  const action = spec.healthcheck!.onFailure;
  if (action === "stop") {
    writeFile(join(dir, STOP_REQUESTED), "");
    kill(payload, signalNumber(spec.stopSignal ?? "SIGTERM") ?? SIGTERM);
    setTimeout(() => kill(payload, SIGKILL), (spec.stopTimeout ?? 10) * 1000);
    return false;
  }
  kill(payload, SIGKILL);
  return action === "restart";
}

/**
 * box oci create: the container is built. Where this process becomes the payload and no
 * startContainer hook runs, it does so now, as runc's init: the spawn steps report "created" once
 * in every namespace (a user namespace and the cgroup one included) and wait, in a program of a
 * few KB, for `box oci start`'s byte on the FIFO. Otherwise this process reports, waits in
 * open(2) of the FIFO for writing, runs the hooks, and starts (or becomes) the process. The
 * caller of create is gone by then: a failure to start goes to the container's stderr, and the
 * init ends with its code, recorded.
 */
function awaitStart(plan: InitPlan, host: HostHandles, launcher: Launcher): ReturnType<Launcher["launch"]> {
  // The process to be is in the container's cgroups from now on, as runc's init: containerd reads
  // the container's stats and OOM events from the cgroup of the pid create gives it. This thread
  // (the one that becomes the process) is enough: on v1 `tasks` moves it alone, without the
  // threadgroup lock's wait (see joinFiles); the others end at execve.
  try {
    if (launcher.replace) for (const file of joinFiles(host.cgroupDirs)) writeFile(file, "0");
  } catch (e) {
    report({ error: `joining the container's cgroups: ${describeError(e)}`, code: EXIT_BOX_ERROR });
    exitNow(EXIT_BOX_ERROR);
  }
  const fifoPath = plan.startAtOnce ? undefined : join(runPaths(host, plan).runDir, plan.startFifo!);
  const hooks = plan.spec.runtime!.hooks.startContainer;
  if (launcher.replace && !hooks) {
    try {
      // O_RDWR: opening does not wait for a reader, and the byte box oci start writes is read
      // from inside the container without reaching for the host's path.
      const fifo = fifoPath === undefined ? undefined : open(fifoPath, O_RDWR);
      launcher.replace({ fd: INIT_FDS.sync, message: `${JSON.stringify({ created: true } satisfies InitMessage)}\n`, fifo });
    } catch (e) {
      report({ error: describeError(e), code: e instanceof UserError ? e.exitCode : EXIT_BOX_ERROR });
      finish(plan.spec, plan, host, EXIT_BOX_ERROR, false);
    }
  }
  report({ created: true });
  try {
    // box oci run with no hook in between starts at once; else `box oci start` opens the FIFO.
    const fd = fifoPath === undefined ? undefined : open(fifoPath, O_WRONLY);
    try {
      if (hooks) runStartContainerHooks(hooks, plan.startState!, launcher.confined);
      if (launcher.replace) {
        // `box oci start` returns on this byte; the process, this one, runs on.
        if (fd !== undefined) write(fd, "0");
        launcher.replace();
      }
      return launcher.launch();
    } finally {
      // Only now: `box oci start` returns on this byte and runs the poststart hooks, which the
      // runtime spec puts after the process has started. After a failed start too, as runc's
      // start succeeds then: the container is stopped with the failure's status.
      if (fd !== undefined) {
        write(fd, "0");
        close(fd);
      }
    }
  } catch (e) {
    const code = e instanceof UserError ? e.exitCode : EXIT_BOX_ERROR;
    write(2, `box: ${describeError(e)}\n`);
    finish(plan.spec, plan, host, code, false);
  }
}

/**
 * The payload runs; the watcher takes it from here (this process is replaced). The CLI has had
 * its answer, and the sync pipe and lifeline mean nothing to a detached container.
 */
function watchFromNow(handOver: typeof import("./watch.ts").handOver, spec: ContainerSpec, plan: InitPlan, host: HostHandles, payload: number, fds: { stdout: number; stderr: number }): never {
  planDone();
  const steps = teardownPlan(spec, host.site, { end: true, remove: spec.remove });
  const rules = steps.some((s) => s.op === "rules") ? hostNetfilterSocket(plan.id) : undefined;
  // fd 6 is open still only for a container that releases rules (prepareContainer).
  for (const fd of [INIT_FDS.sync, INIT_FDS.lifeline, ...(releasesRules(spec) ? [INIT_FDS.hostNet] : [])]) libc.close(fd);
  const memory = controllerDir(host.cgroupDirs, "memory");
  return handOver({
    payload,
    ...fds,
    log: spec.log,
    containerDir: containerDir(host, plan),
    oomFile: memory === undefined ? "" : join(memory, detectCgroups().version === 1 ? "memory.oom_control" : "memory.events"),
    teardown: watcherSteps(steps, readState(runPaths(host, plan)), rules),
    keep: rules ? [...host.fds, rules.socket] : host.fds,
  });
}

/**
 * The end of the run: the container's teardown plan (its end recorded, or for --rm the container
 * removed), executed here. Only after pivot_root: the old root was detached with everything
 * mounted on it, so the plan's fd paths reach the host's directories and never a mount of the
 * container.
 */
function finish(spec: ContainerSpec, plan: InitPlan, host: HostHandles, code: number, oomKilled: boolean): never {
  planDone();
  try {
    // This thread's network namespace is the host's from here: the init only ends now.
    const hostNetwork = () => releasesRules(spec) && setns(INIT_FDS.hostNet, CLONE_NEWNET, "network namespace of box run");
    executeTeardown(teardownPlan(spec, host.site, { end: true, remove: spec.remove }), { exitCode: code, oomKilled }, {
      rules: () => {
        hostNetwork();
        withdrawPorts(host.bases, plan.id, spec.endpoint);
      },
      endpoints: () => {
        hostNetwork();
        // box network connect and disconnect may have changed its endpoints since it started: the record has them.
        for (const e of endpointsOf(containerConfig(host.bases, plan.id))) releaseEndpoint(host.bases, plan.id, e, host.proc);
      },
      volumes: () => removeAnonymousVolumes(host.bases, spec),
    });
  } catch (e) {
    write(2, `box: cleaning up ${plan.id}: ${describeError(e)}\n`);
  }
  trace("init", "cleaned-up");
  report({ exit: code });
  exitNow(code);
}
