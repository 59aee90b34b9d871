// exec: a new process in a container of box oci's (runc exec's flags, or process.json).
import { close, exists, writeFile } from "../sys/fs.ts";
import { detectCgroups } from "../cgroup/detect.ts";
import { libc } from "../sys/libc.ts";
import { join } from "../path.ts";
import { describeError } from "../sys/errors.ts";
import { connectUnix } from "../sys/unix-socket.ts";
import { UserError } from "../container/errors.ts";
import type { Store } from "../container/store.ts";
import { execInContainer } from "../container/exec.ts";
import { payloadRestrictions } from "../security/payload.ts";
import type { processSpec } from "./config.ts";
import { debug } from "./log.ts";
import { hookState } from "./state.ts";
import { connectSeccompAgent } from "./agent.ts";
import { findContainer } from "./found.ts";
import { writePidFile } from "./pid-file.ts";

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
