// A bundle's startContainer hooks: run by the init after `box oci start`, before the process, in
// the container's namespaces and root (the runtime spec's rule), confined as the process will be
// (a program of the container's image must not run as the host's root), with the state on stdin.
// The wait is synchronous: the init's SIGCHLD handler (an event-loop callback) cannot take their
// exit statuses meanwhile.
import { close, open, write } from "../sys/fs.ts";
import { O_RDONLY, SIGKILL } from "../sys/constants.ts";
import { kill, pipe, waitPid } from "../sys/process.ts";
import { SpawnError, type SpawnOptions } from "../sys/spawn.ts";
import { UserError } from "../container/errors.ts";
import type { Hook } from "../container/spec.ts";
import { hookFailure } from "../oci/hook-failure.ts";

/** Starts a program confined as the container's process (the init's launcher). */
type Start = (o: Pick<SpawnOptions, "path" | "argv" | "env" | "fds">) => number;

function runHook(hook: Hook, state: string, start: Start): void {
  const [stdinRead, stdinWrite] = pipe();
  const devNull = open("/dev/null", O_RDONLY);
  let pid: number;
  try {
    // The state fits a pipe's buffer: written before the hook reads it.
    write(stdinWrite, state);
    close(stdinWrite);
    // Its stdout is dropped; its stderr is the container's, where a person sees why it failed.
    pid = start({ path: hook.path, argv: hook.args?.length ? hook.args : [hook.path], env: hook.env ?? [], fds: [[stdinRead, 0], [devNull, 1], [2, 2]] });
  } catch (e) {
    throw new UserError(`startContainer hook ${hook.path}: ${e instanceof SpawnError ? e.message : String(e)}`);
  } finally {
    close(stdinRead);
    close(devNull);
  }
  const until = hook.timeout === undefined ? Infinity : Date.now() + hook.timeout * 1000;
  for (;;) {
    const r = waitPid(pid, true);
    if (r) {
      if (r.code !== 0) throw hookFailure("startContainer", hook.path, r);
      return;
    }
    if (Date.now() > until) {
      kill(pid, SIGKILL);
      waitPid(pid, false);
      throw new UserError(`startContainer hook ${hook.path} did not finish within its timeout of ${hook.timeout} s`);
    }
    Bun.sleepSync(1);
  }
}

/** Runs them in order; the first failure stops the container before its process starts. */
export function runStartContainerHooks(hooks: Hook[], state: object, start: Start): void {
  const text = JSON.stringify(state);
  for (const hook of hooks) runHook(hook, text, start);
}
