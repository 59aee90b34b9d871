// Starts a created container's init in new namespaces and, attached, waits for it: the CLI
// forwards signals to the init and returns the payload's exit status.
import { closeSync } from "node:fs";
import { constants } from "node:os";
import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS } from "../sys/constants.ts";
import { close, kill, pipe, waitPid } from "../sys/process.ts";
import { loadSpawn, spawn } from "../sys/spawn.ts";
import { isTerminal, makeRaw } from "../sys/tty.ts";
import { trace, traceEnv } from "../trace.ts";
import { INIT_COMMAND, INIT_PLAN_ENV, selfCommand, type InitPlan } from "../init/self.ts";
import type { InitMessage } from "../init/init.ts";
import { EXIT_BOX_ERROR, UserError } from "./errors.ts";
import { removeContainer } from "./create.ts";
import { writeState, type Store } from "./store.ts";
import type { ContainerPaths, ContainerSpec } from "./spec.ts";

function namespaceFlags(spec: ContainerSpec): number {
  return CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | (spec.network === "host" ? 0 : CLONE_NEWNET);
}

const PROXIED_SIGNALS = Object.entries(constants.signals).filter(
  ([name]) => !["SIGKILL", "SIGSTOP", "SIGCHLD", "SIGPIPE"].includes(name),
);

/** Reads the init's first message, then waits for the pipe to close (the init exited). */
async function readInit(fd: number): Promise<InitMessage | undefined> {
  let text = "";
  for await (const chunk of Bun.file(fd).stream()) text += new TextDecoder().decode(chunk);
  const line = text.split("\n")[0];
  return line ? (JSON.parse(line) as InitMessage) : undefined;
}

export async function runAttached(store: Store, spec: ContainerSpec, paths: ContainerPaths): Promise<number> {
  const [syncRead, syncWrite] = pipe();
  // The init watches this pipe: when this process dies, even by SIGKILL, the container goes too.
  const [lifelineRead, lifelineWrite] = pipe();
  const plan: InitPlan = {
    id: spec.id,
    root: store.root,
    runroot: store.runroot,
    cgroups: paths.cgroups,
    syncFd: 3,
    lifelineFd: 4,
  };
  const restoreTerminal = spec.tty && isTerminal(0) ? makeRaw(0) : undefined;
  let pid: number;
  try {
    loadSpawn();
    trace("cli", "trampoline-loaded");
    const self = selfCommand();
    pid = spawn({
      path: self[0]!,
      argv: [...self, INIT_COMMAND],
      env: [`PATH=${process.env.PATH ?? "/usr/bin:/bin"}`, `${INIT_PLAN_ENV}=${JSON.stringify(plan)}`, ...traceEnv()],
      cloneFlags: namespaceFlags(spec),
      fds: [[0, 0], [1, 1], [2, 2], [syncWrite, 3], [lifelineRead, 4]],
      // Its own session: keystrokes like ^C reach the CLI once, which forwards them once.
      setsid: true,
    });
  } catch (e) {
    restoreTerminal?.();
    close(syncWrite);
    close(lifelineRead);
    close(lifelineWrite);
    close(syncRead);
    throw e;
  }
  trace("cli", "init-spawned");
  closeSync(syncWrite);
  closeSync(lifelineRead);
  try {
    writeState(paths, { status: "running", pid, startedAt: new Date().toISOString() });
  } catch {
    // An --rm container whose payload already ended may be gone by now.
  }
  const handlers = PROXIED_SIGNALS.map(([name, num]) => {
    const h = () => kill(pid, num);
    try {
      process.on(name as NodeJS.Signals, h);
    } catch {}
    return [name, h] as const;
  });

  const message = await readInit(syncRead);
  const status = waitPid(pid, false);
  trace("cli", "init-exited");
  for (const [name, h] of handlers) process.off(name as NodeJS.Signals, h);
  restoreTerminal?.();
  closeSync(lifelineWrite);

  if (message && "error" in message) {
    if (spec.remove) removeContainer(store, spec, paths);
    throw new UserError(message.error, message.code);
  }
  const code = status?.code ?? EXIT_BOX_ERROR;
  if (spec.remove) removeContainer(store, spec, paths);
  else if (status?.signal !== undefined) {
    writeState(paths, { status: "exited", pid, exitCode: code, finishedAt: new Date().toISOString() });
  }
  if (!message) throw new UserError(`container init exited with status ${code} before starting the payload`);
  return code;
}
