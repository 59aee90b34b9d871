// The runtime spec's hooks: programs the bundle names, run with the container's state as JSON on
// their stdin, their own argv and env, and a timeout. A failure names the hook and what it said.
import { UserError } from "../container/errors.ts";
import type { Hook } from "../container/spec.ts";
import { signalNumber } from "../sys/process.ts";
import { hookFailure } from "./hook-failure.ts";

/** How much of a failed hook's output the error quotes. */
const OUTPUT_SHOWN = 1000;

async function runHook(kind: string, hook: Hook, state: object, cwd?: string): Promise<void> {
  const argv = hook.args?.length ? hook.args : [hook.path];
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn({
      cmd: [hook.path, ...argv.slice(1)],
      argv0: argv[0],
      cwd,
      env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      stdin: new TextEncoder().encode(JSON.stringify(state)),
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (e) {
    throw new UserError(`${kind} hook ${hook.path}: ${(e as Error).message}`);
  }
  let timedOut = false;
  const timer = hook.timeout === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, hook.timeout * 1000);
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text()]);
  clearTimeout(timer);
  if (timedOut) throw new UserError(`${kind} hook ${hook.path} did not finish within its timeout of ${hook.timeout} s`);
  if (code !== 0) {
    const said = `${err}${out}`.trim().slice(-OUTPUT_SHOWN);
    const sig = proc.signalCode;
    throw hookFailure(kind, hook.path, { code, signal: typeof sig === "string" ? signalNumber(sig) : (sig ?? undefined) }, said);
  }
}

/** Runs the hooks of one kind in order (in `cwd`, else this process's); the first failure stops them. */
export async function runHooks(kind: string, hooks: Hook[], state: object, cwd?: string): Promise<void> {
  for (const hook of hooks) await runHook(kind, hook, state, cwd);
}
