import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { findRunning } from "../container/live.ts";
import { changesSomething, updateLimits } from "../container/update.ts";
import { globals } from "./context.ts";
import { forEachArgument, requireArguments } from "./each.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { RESOURCE_ARGS, RESOURCE_LISTS } from "./resource-args.ts";
import { buildResources } from "./resources.ts";

export const updateCommand = defineCommand({
  meta: { name: "update", description: "Change the resource limits of running containers" },
  args: {
    ...RESOURCE_ARGS,
    container: { type: "positional", description: "Container name or id (prefix), one or more", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, RESOURCE_LISTS, false);
    if (flags.help) return printHelp(cmd, ["box update -m 512m --cpus 1.5 web", "box update --pids-limit 200 web worker"]);
    requireArguments("update", flags.positionals);
    const changes = buildResources(flags.values);
    if (!changesSomething(changes)) throw new UserError(`"box update" needs at least one limit to change; see 'box update --help'`);
    const { store } = globals();
    await forEachArgument(flags.positionals, (ref) => {
      updateLimits(findRunning(store, ref), changes, "update");
      return ref;
    });
  },
});
