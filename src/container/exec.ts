// `box exec`: a new process in a running container. It joins the init's namespaces with setns
// (in the spawn trampoline, then forks once more so that it is inside the pid namespace), the
// container's cgroups, a cgroup namespace rooted there, the container's user, capabilities and
// environment. Files of the container (passwd, ptmx) are opened from the host through
// /proc/PID/root with openat2(RESOLVE_IN_ROOT): a hostile symlink cannot lead to the host's.
import { close, fchown, fstat, open, openInRoot, readFile, readFileInRoot } from "../sys/fs.ts";
import { hostOwner } from "../security/userns.ts";
import { TTY_GID } from "../rootfs/setup.ts";
import { CLONE_NEWCGROUP, O_DIRECTORY, O_NOCTTY, O_PATH, O_RDONLY, O_RDWR, O_WRONLY } from "../sys/constants.ts";
import { Errno, SyscallError } from "../sys/errors.ts";
import { FORWARDED_SIGNALS, kill, processIdentity, waitPid, type WaitResult } from "../sys/process.ts";
import { loadSpawn, spawn, SpawnError } from "../sys/spawn.ts";
import { copyWindowSize, isTerminal, makeRaw, openPtyPeer, setWindowSize } from "../sys/tty.ts";
import { joinFiles } from "../cgroup/paths.ts";
import { payloadRestrictions } from "../security/payload.ts";
import { sendFd } from "../sys/unix-socket.ts";
import { reopenStdio } from "../init/stdio.ts";
import { requireRunning } from "./live.ts";
import { containerEnv, envValue } from "./env.ts";
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, UserError } from "./errors.ts";
import { fdSink, pump } from "./relay.ts";
import { forContainer, resolveUser } from "./user.ts";
import type { ContainerSpec } from "./spec.ts";
import type { Store } from "./store.ts";
import { recordExec } from "./events.ts";

/** makedev(5, 2), as the kernel reports /dev/pts/ptmx. */
const PTMX_DEVICE = (5 << 8) | 2;
/** Joined in this order; the cgroup namespace is made anew at the container's cgroup instead. */
const NAMESPACES = ["ipc", "uts", "net", "pid", "mnt"];

export interface ExecOptions {
  command: string[];
  /** -e KEY=VALUE, on top of the container's environment */
  env: string[];
  user?: string;
  workdir?: string;
  tty: boolean;
  interactive: boolean;
  detach: boolean;
  /**
   * box oci exec: the process as its process.json has it. `env` is the whole environment, the
   * groups are exactly these, the capabilities and limits its own; detached, the process keeps
   * this process's stdio (containerd's pipes), and a pty's master goes to `consoleSocket`.
   */
  runtime?: {
    groups: number[];
    restrictions: ReturnType<typeof payloadRestrictions>;
    consoleSocket?: number;
    consoleSize?: { rows: number; columns: number };
    /** exec --preserve-fds N: this process's 3 .. 3+N-1 are the new process's too. */
    preserveFds?: number;
    /** exec --cgroup: the cgroups it joins instead of the container's own. */
    cgroups?: string[];
    /** exec --ignore-paused: into a paused container too (the process starts frozen). */
    ignorePaused?: boolean;
  };
  /** Called with the new process's host pid once it runs. */
  started?: (pid: number) => void;
  /** Its stdout and stderr go here (a health probe's pipe), its stdin is /dev/null. */
  output?: number;
}

/** The executable and the ones to try after it while execve says ENOENT (a $PATH search inside the container). */
function candidates(name: string, path: string | undefined, cwd: string): string[] {
  if (name.includes("/")) return [name.startsWith("/") ? name : `${cwd}/${name}`];
  return (path ?? "").split(":").map((dir) => `${dir || "."}/${name}`);
}

function describeSpawnFailure(e: SpawnError, name: string, cwd: string): UserError {
  if (e.stage === "execve" && (e.errno === Errno.ENOENT || e.errno === Errno.ENOTDIR)) {
    return new UserError(name.includes("/") ? `exec: "${name}": no such file or directory` : `exec: "${name}": executable file not found in $PATH`, EXIT_NOT_FOUND);
  }
  if (e.stage === "execve") return new UserError(`exec: "${name}": ${e.message}`, EXIT_NOT_EXECUTABLE);
  if (e.stage === "chdir") return new UserError(`exec: cannot change to the working directory ${cwd}: ${e.message}`, EXIT_NOT_EXECUTABLE);
  return new UserError(`exec: ${e.message}`);
}

/**
 * The container's user namespace: its payload's, the init's child (the init itself stays in the
 * host's, which owns every other namespace of the container), or under box oci the init itself
 * once it has become the process. Any process of it will do.
 */
function payloadUserNamespace(init: number, name: string): number {
  const self = open("/proc/self/ns/user", O_RDONLY);
  const own = fstat(self).ino;
  close(self);
  for (const child of [String(init), ...readFile(`/proc/${init}/task/${init}/children`).split(" ").filter(Boolean)]) {
    let fd: number;
    try {
      fd = open(`/proc/${child}/ns/user`, O_RDONLY);
    } catch {
      continue; // gone meanwhile
    }
    if (fstat(fd).ino !== own) return fd;
    close(fd);
  }
  throw new UserError(`container ${name} is not running`);
}

/** Runs the command; its exit code (or 0 at once with detach). */
export async function execInContainer(store: Store, spec: ContainerSpec, o: ExecOptions): Promise<number> {
  const c = requireRunning(store, spec);
  // Its processes are frozen: a new one would be too, and exec would wait for ever (box oci exec
  // --ignore-paused asks for just that: runc's).
  if (c.state.status === "paused" && !o.runtime?.ignorePaused) throw new UserError(`container ${spec.name} is paused, unpause the container before exec`);
  const opened: number[] = [];
  const keep = (fd: number) => (opened.push(fd), fd);
  let pid: number;
  let master: number | undefined;
  const cwd = o.workdir ?? spec.workdir;
  try {
    const root = keep(open(`/proc/${c.pid}/root`, O_PATH | O_DIRECTORY));
    const namespaces = NAMESPACES.map((ns) => keep(open(`/proc/${c.pid}/ns/${ns}`, O_RDONLY)));
    const userns = spec.userns ? keep(payloadUserNamespace(c.pid, spec.name)) : undefined;
    // Rootless: its user namespace owns the others, so it is entered first.
    const userFirst = spec.rootless ? keep(open(`/proc/${c.pid}/ns/user`, O_RDONLY)) : undefined;
    // Opened first, checked after: these descriptors belong to the init the state names, not to
    // a process that got its pid since.
    if (c.state.pidStart !== undefined && processIdentity(c.pid).start !== c.state.pidStart) throw new UserError(`container ${spec.name} is not running`);
    const user = forContainer(spec, resolveUser(o.user ?? spec.user, (p) => readFileInRoot(root, p), spec.groupAdd), o.user ?? spec.user);
    if (o.runtime) user.groups = o.runtime.groups;
    const env = o.runtime ? o.env : containerEnv(spec, o.tty, user.home, o.env);
    const [path, ...alternatives] = candidates(o.command[0]!, envValue(env, "PATH"), cwd);
    let fds: [number, number][];
    if (o.tty) {
      // The container's own devpts (its /dev/ptmx → pts/ptmx), resolved inside its root, and
      // opened only once it is a ptmx (5:2), not a device the container put there instead.
      const ptmx = keep(openInRoot(root, "/dev/ptmx", O_PATH));
      const st = fstat(ptmx);
      if (!st.isCharacterDevice() || st.rdev !== PTMX_DEVICE) throw new UserError(`container ${spec.name}: its /dev/ptmx is not the pty multiplexer`);
      const pty = openPtyPeer(keep(open(`/proc/self/fd/${ptmx}`, O_RDWR | O_NOCTTY)));
      master = pty.master;
      // Its terminal is the user's, group tty, as the payload's is; in a user namespace, by their host ids.
      // (Rootless, this process is the container's root already, and its pty is its own.)
      if (!spec.rootless) fchown(pty.slave, ...hostOwner(spec.userns, user.uid, TTY_GID));
      // Before the process starts: it may ask for its size at once.
      if (o.runtime?.consoleSize) setWindowSize(master, o.runtime.consoleSize.rows, o.runtime.consoleSize.columns);
      else copyWindowSize(0, master);
      fds = [[keep(pty.slave), 0], [pty.slave, 1], [pty.slave, 2]];
      if (o.runtime?.consoleSocket !== undefined) {
        // The caller relays the terminal (containerd's shim); this process keeps no master.
        sendFd(o.runtime.consoleSocket, master, "/dev/ptmx");
        // It is among the opened descriptors, closed below once the process runs.
        master = undefined;
      }
    } else if (o.runtime) {
      // (reopenStdio may give back 0-2 themselves: those are not closed here.)
      fds = [0, 1, 2].map((fd): [number, number] => {
        const own = reopenStdio(fd);
        if (own !== fd) keep(own);
        return [own, fd];
      });
    } else if (o.output !== undefined) {
      fds = [[keep(open("/dev/null", O_RDONLY)), 0], [o.output, 1], [o.output, 2]];
    } else if (o.detach) {
      const devNull = keep(open("/dev/null", O_RDWR));
      fds = [[devNull, 0], [devNull, 1], [devNull, 2]];
    } else {
      fds = [[o.interactive ? reopenStdio(0) : keep(open("/dev/null", O_RDONLY)), 0], [reopenStdio(1), 1], [reopenStdio(2), 2]];
    }
    loadSpawn();
    try {
      pid = spawn({
        path: path!,
        shim: true,
        alternatives,
        argv: o.command,
        env,
        fds: [...fds, ...Array.from({ length: o.runtime?.preserveFds ?? 0 }, (_, i): [number, number] => [3 + i, 3 + i])],
        cgroupJoin: joinFiles(o.runtime?.cgroups ?? c.paths.cgroups).map((file) => keep(open(file, O_WRONLY))),
        setns: namespaces,
        forkInner: true,
        userns,
        joinUserNamespaceFirst: userFirst,
        unshareFlags: CLONE_NEWCGROUP,
        setsid: true,
        controllingTty: o.tty,
        user,
        // What the container's payload has, the exec'd process has too (Docker's).
        ...(o.runtime?.restrictions ?? payloadRestrictions(spec)),
        cwd,
      });
    } catch (e) {
      if (e instanceof SpawnError) throw describeSpawnFailure(e, o.command[0]!, cwd);
      throw e;
    }
  } catch (e) {
    if (e instanceof SyscallError && e.errno === Errno.ENOENT) throw new UserError(`container ${spec.name} is not running`);
    throw e;
  } finally {
    for (const fd of opened) if (fd !== master) close(fd);
  }
  o.started?.(pid);
  const recordDie = recordExec(store.root, spec, o.command);
  if (o.detach) return 0;
  return attach(pid, master, o.interactive).then((code) => (recordDie(code), code));
}

/** Waits for the exec'd process, forwarding signals and, with a pty, relaying the terminal. */
async function attach(pid: number, master: number | undefined, interactive: boolean): Promise<number> {
  let exited: WaitResult | undefined;
  let onExit: (() => void) | undefined;
  const reap = () => {
    const r = waitPid(pid, true);
    if (r) {
      exited = r;
      onExit?.();
    }
  };
  process.on("SIGCHLD", reap);
  const handlers = FORWARDED_SIGNALS.map(([name, num]) => {
    const h = () => {
      if (name === "SIGWINCH" && master !== undefined) copyWindowSize(0, master);
      else kill(pid, num);
    };
    try {
      process.on(name as NodeJS.Signals, h);
    } catch {}
    return [name, h] as const;
  });
  let restore: (() => void) | undefined;
  let relay = Promise.resolve();
  if (master !== undefined) {
    restore = isTerminal(0) ? makeRaw(0) : undefined;
    // As Docker: the terminal's keystrokes reach the process only with -i.
    if (interactive) void pump(reopenStdio(0), fdSink(master));
    relay = pump(master, fdSink(reopenStdio(1)));
  }
  reap();
  if (!exited) await new Promise<void>((resolve) => (onExit = resolve));
  // The pty's last output, for at most a second; a timer cleared after, or it would keep this
  // process (box healthcheck run) alive for that second.
  let wait: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([relay, new Promise((resolve) => (wait = setTimeout(resolve, 1000)))]);
  clearTimeout(wait);
  restore?.();
  for (const [name, h] of handlers) process.off(name as NodeJS.Signals, h);
  process.off("SIGCHLD", reap);
  return exited!.code;
}
