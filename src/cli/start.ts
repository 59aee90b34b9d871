import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { startStored } from "../container/start-stored.ts";
import { stopContainer } from "../container/control.ts";
import { stopSignal, stopTimeout } from "./control.ts";
import { exitNow } from "../sys/process.ts";
import { globals } from "./context.ts";
import { onEachContainer } from "./each.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { recordContainerEvent } from "../container/events.ts";

const CONTAINERS = { type: "positional", description: "Container name or id (prefix), one or more", required: false } as const;

export const startCommand = defineCommand({
  meta: { name: "start", description: "Start created or stopped containers" },
  args: {
    attach: { type: "boolean", alias: "a", description: "Wait for the container, with its output on this terminal, and exit with its code" },
    container: CONTAINERS,
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box start web", "box start -a job"]);
    if (flags.values.attach === true) {
      if (flags.positionals.length !== 1) throw new UserError(`"box start -a" takes exactly 1 container`);
      const { store } = globals();
      exitNow(await startStored(store, findContainer(store, flags.positionals[0]!), true));
    }
    await onEachContainer("start", cmd, rawArgs, [], async (_flags, store, spec, ref) => {
      await startStored(store, spec, false);
      return ref;
    });
    exitAfterStarts();
  },
});

export const restartCommand = defineCommand({
  meta: { name: "restart", description: "Stop (SIGTERM, then SIGKILL after the timeout) and start containers again" },
  args: {
    time: { type: "string", alias: "t", description: "Seconds to wait before SIGKILL (default: the container's --stop-timeout, else 10)", valueHint: "SECONDS" },
    container: CONTAINERS,
  },
  async run({ rawArgs, cmd }) {
    await onEachContainer("restart", cmd, rawArgs, ["box restart web"], async (flags, store, spec, ref) => {
      await stopContainer(store, spec, stopTimeout(flags.values.time as string | undefined, spec), stopSignal(spec));
      await startStored(store, spec, false);
      recordContainerEvent(store.root, spec, "restart");
      return ref;
    });
    exitAfterStarts();
  },
});

/** The started inits' sync pipes are still being read; nothing else is pending. */
export function exitAfterStarts(): never {
  exitNow(process.exitCode === undefined ? 0 : Number(process.exitCode));
}
