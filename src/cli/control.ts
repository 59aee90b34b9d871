// box stop / kill / wait: one or more containers each, like Docker's.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { signalContainer, stopContainer, waitExit } from "../container/control.ts";
import type { ContainerSpec } from "../container/spec.ts";
import { onEachContainer } from "./each.ts";
import { parseSignal } from "./flags.ts";

const CONTAINERS = { type: "positional", description: "Container name or id (prefix), one or more", required: false } as const;

/** -t SECONDS, else the container's --stop-timeout, else 10; -1 waits for ever (Docker's). */
export function stopTimeout(text: string | undefined, spec: ContainerSpec): number {
  if (text === undefined) return spec.stopTimeout ?? 10;
  if (!/^(-1|\d{1,6})$/.test(text)) throw new UserError(`invalid value "${text}" for --time: whole seconds, or -1 to wait for ever`);
  return Number(text);
}

/** The container's --stop-signal or its image's STOPSIGNAL, else SIGTERM. */
export function stopSignal(spec: ContainerSpec): number {
  return parseSignal(spec.stopSignal ?? "SIGTERM");
}

export const stopCommand = defineCommand({
  meta: { name: "stop", description: "Stop containers: SIGTERM (or --signal), then SIGKILL after the timeout" },
  args: {
    time: { type: "string", alias: "t", description: "Seconds to wait before SIGKILL (default: the container's --stop-timeout, else 10)", valueHint: "SECONDS" },
    signal: { type: "string", alias: "s", description: "Signal to stop with (default SIGTERM)", valueHint: "SIGNAL" },
    container: CONTAINERS,
  },
  run: ({ rawArgs, cmd }) =>
    onEachContainer("stop", cmd, rawArgs, ["box stop web", "box stop -t 2 web worker"], async (flags, store, spec, ref) => {
      const timeout = stopTimeout(flags.values.time as string | undefined, spec);
      const signal = flags.values.signal === undefined ? stopSignal(spec) : parseSignal(flags.values.signal as string);
      await stopContainer(store, spec, timeout, signal);
      return ref;
    }),
});

export const killCommand = defineCommand({
  meta: { name: "kill", description: "Send a signal (default SIGKILL) to running containers" },
  args: {
    signal: { type: "string", alias: "s", description: "Signal name or number (default KILL)", valueHint: "SIGNAL" },
    container: CONTAINERS,
  },
  run: ({ rawArgs, cmd }) =>
    onEachContainer("kill", cmd, rawArgs, ["box kill web", "box kill -s HUP web"], async (flags, store, spec, ref) => {
      await signalContainer(store, spec, parseSignal((flags.values.signal as string | undefined) ?? "KILL"));
      return ref;
    }),
});

export const waitCommand = defineCommand({
  meta: { name: "wait", description: "Wait until containers stop, then print their exit codes" },
  args: { container: CONTAINERS },
  run: ({ rawArgs, cmd }) =>
    onEachContainer("wait", cmd, rawArgs, ["box wait web", "code=$(box wait job)"], async (_flags, store, spec) => String(await waitExit(store, spec))),
});
