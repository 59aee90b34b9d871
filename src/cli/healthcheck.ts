// `box healthcheck run CONTAINER` (Podman's): runs the container's health check now, records the
// result as the init's own probes are recorded, and acts on --health-on-failure as the init does.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { execInContainer } from "../container/exec.ts";
import { findContainer } from "../container/lookup.ts";
import { requireRunning } from "../container/live.ts";
import { probeCommand, probeOutput, readHealth, recordHealth, timedOut, type HealthResult } from "../container/health.ts";
import { signalContainer, stopContainer } from "../container/control.ts";
import { startStored } from "../container/start-stored.ts";
import { kill, signalNumber } from "../sys/process.ts";
import { SIGKILL, SIGTERM } from "../sys/constants.ts";
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

/** One probe through box exec's path into the container, killed past its timeout. */
async function probe(spec: Parameters<typeof execInContainer>[1]): Promise<HealthResult> {
  const h = spec.healthcheck!;
  const Start = new Date().toISOString();
  const output = probeOutput();
  let killed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let code: number;
  let failure: string | undefined;
  try {
    code = await execInContainer(globals().store, spec, {
      command: probeCommand(h), env: [], tty: false, interactive: false, detach: false, output: output.write,
      started: (pid) => {
        // Only the probe holds the pipe's write end once it runs: its end is EOF.
        output.closeWrite();
        timer = setTimeout(() => ((killed = true), kill(pid, SIGKILL)), h.timeout / 1e6);
      },
    });
  } catch (e) {
    code = e instanceof UserError ? e.exitCode : 1;
    failure = describeError(e);
  } finally {
    clearTimeout(timer);
  }
  const Output = output.finish();
  const End = new Date().toISOString();
  if (killed) return { Start, End, ExitCode: -1, Output: timedOut(h) };
  return { Start, End, ExitCode: code, Output: failure ?? Output };
}

export const healthcheckCommand = defineFamily({ name: "healthcheck", description: "Run containers' health checks (Podman's)" }, async () => ({ run: runCommand }), ["box healthcheck run web"]);
