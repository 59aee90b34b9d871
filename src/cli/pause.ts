import { defineCommand } from "citty";
import { setFrozen } from "../cgroup/freezer.ts";
import { UserError } from "../container/errors.ts";
import { findRunning } from "../container/live.ts";
import { writeState } from "../container/store.ts";
import { globals } from "./context.ts";
import { forEachArgument, requireArguments } from "./each.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";

function freezeCommand(name: "pause" | "unpause", description: string) {
  const frozen = name === "pause";
  const cmd = defineCommand({
    meta: { name, description },
    args: { container: { type: "positional", description: "Container name or id (prefix), one or more", required: false } },
    async run({ rawArgs }) {
      const flags = parseFlags(rawArgs, cmd.args as never, [], false);
      if (flags.help) return printHelp(cmd, [`box ${name} web`]);
      requireArguments(name, flags.positionals);
      const { store } = globals();
      await forEachArgument(flags.positionals, async (ref) => {
        const c = findRunning(store, ref);
        if ((c.state.status === "paused") === frozen) throw new UserError(`container ${ref} is ${frozen ? "already paused" : "not paused"}`);
        await setFrozen(c.paths.cgroups, frozen);
        writeState(c.paths, { ...c.state, status: frozen ? "paused" : "running" });
        return ref;
      });
    },
  });
  return cmd;
}

export const pauseCommand = freezeCommand("pause", "Freeze every process of one or more containers");
export const unpauseCommand = freezeCommand("unpause", "Resume paused containers");
