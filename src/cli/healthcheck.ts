// `box healthcheck run CONTAINER` (Podman's): runs the container's health check now, records the
// result as the init's own probes are recorded, and acts on --health-on-failure as the init does.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { execInContainer } from "../container/exec.ts";
import { findContainer } from "../container/lookup.ts";
import { requireRunning } from "../container/live.ts";
import { boundedOutput, OUTPUT_LIMIT, probeCommand, readHealth, recordHealth, type HealthResult } from "../container/health.ts";
import { signalContainer, stopContainer } from "../container/control.ts";
import { startStored } from "../container/start-stored.ts";
import { close, open, read } from "../sys/fs.ts";
import { kill, pipe, signalNumber } from "../sys/process.ts";
import { O_NONBLOCK, O_RDONLY, SIGKILL, SIGTERM } from "../sys/constants.ts";
import { describeError } from "../sys/errors.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { defineFamily, printHelp } from "./help.ts";

const runCommand = defineCommand({
  meta: { name: "healthcheck run", description: "Run a container's health check now; exit 1 and print the status unless healthy" },
  args: { container: { type: "positional", description: "Container name or id (prefix)", required: false } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box healthcheck run web"]);
    if (flags.positionals.length !== 1) throw new UserError(`"box healthcheck run" requires exactly 1 argument`);
    const { store } = globals();
    const spec = findContainer(store, flags.positionals[0]!);
    const h = spec.healthcheck;
    if (!h) throw new UserError(`container ${spec.name} has no defined healthcheck`);
    const c = requireRunning(store, spec);
    const before = readHealth(c.paths)?.Status;
    const state = recordHealth(c.paths, await probe(spec), h, Date.parse(c.state.startedAt ?? spec.created));
    if (state.Status === "unhealthy" && before !== "unhealthy") {
      if (h.onFailure === "kill") await signalContainer(store, spec, SIGKILL);
      else if (h.onFailure === "stop") await stopContainer(store, spec, spec.stopTimeout ?? 10, signalNumber(spec.stopSignal ?? "SIGTERM") ?? SIGTERM);
      else if (h.onFailure === "restart") {
        await stopContainer(store, spec, spec.stopTimeout ?? 10, signalNumber(spec.stopSignal ?? "SIGTERM") ?? SIGTERM);
        await startStored(store, spec, false);
      }
    }
    if (state.Status !== "healthy") {
      process.stdout.write(`${state.Status}\n`);
      process.exitCode = 1;
    }
  },
});

/** One probe through box exec's path into the container, its output kept up to the limit, killed past its timeout. */
async function probe(spec: Parameters<typeof execInContainer>[1]): Promise<HealthResult> {
  const h = spec.healthcheck!;
  const Start = new Date().toISOString();
  const [readEnd, writeEnd] = pipe();
  const reader = open(`/proc/self/fd/${readEnd}`, O_RDONLY | O_NONBLOCK);
  close(readEnd);
  const kept = new Uint8Array(OUTPUT_LIMIT);
  let size = 0;
  const drain = () => {
    const buf = new Uint8Array(65536);
    try {
      for (let n = read(reader, buf); n > 0; n = read(reader, buf)) {
        if (size < OUTPUT_LIMIT) kept.set(buf.subarray(0, Math.min(n, OUTPUT_LIMIT - size)), size);
        size = Math.min(OUTPUT_LIMIT, size + n);
      }
    } catch {
      // EAGAIN: nothing more for now.
    }
  };
  const draining = setInterval(drain, 50);
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let code: number;
  let failure: string | undefined;
  let writeOpen = true;
  // Only the probe holds the pipe's write end once it runs: its end is EOF.
  const closeWrite = () => {
    if (writeOpen) close(writeEnd);
    writeOpen = false;
  };
  try {
    code = await execInContainer(globals().store, spec, {
      command: probeCommand(h), env: [], tty: false, interactive: false, detach: false, output: writeEnd,
      started: (pid) => {
        closeWrite();
        timer = setTimeout(() => ((timedOut = true), kill(pid, SIGKILL)), h.timeout / 1e6);
      },
    });
  } catch (e) {
    code = e instanceof UserError ? e.exitCode : 1;
    failure = describeError(e);
  } finally {
    closeWrite();
    clearTimeout(timer);
    clearInterval(draining);
  }
  drain();
  close(reader);
  const End = new Date().toISOString();
  if (timedOut) return { Start, End, ExitCode: -1, Output: `Health check exceeded timeout (${h.timeout / 1e9}s)` };
  return { Start, End, ExitCode: code, Output: failure ?? boundedOutput(kept.subarray(0, size)) };
}

export const healthcheckCommand = defineFamily({ name: "healthcheck", description: "Run containers' health checks (Podman's)" }, async () => ({ run: runCommand }), ["box healthcheck run web"]);
