import { defineCommand } from "citty";
import { findContainer } from "../container/lookup.ts";
import { removeStoredContainer } from "../container/remove.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { forEachArgument, requireArguments } from "./each.ts";

export const rmCommand = defineCommand({
  meta: { name: "rm", description: "Remove one or more containers" },
  args: {
    force: { type: "boolean", alias: "f", description: "Kill a running container first" },
    container: { type: "positional", description: "Container name or id (prefix), one or more", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box rm web", "box rm -f 3f2a9c"]);
    requireArguments("rm", flags.positionals);
    const { store } = globals();
    await forEachArgument(flags.positionals, async (ref) => {
      await removeStoredContainer(store, findContainer(store, ref), flags.values.force === true);
      return ref;
    });
  },
});
