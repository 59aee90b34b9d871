// box system boot: starts, once at boot, the containers whose restart policy says so.
import { defineCommand } from "citty";
import { listContainers } from "../container/lookup.ts";
import { liveContainer } from "../container/live.ts";
import { startsAtBoot } from "../container/boot.ts";
import { startStored } from "../container/start-stored.ts";
import { EXIT_BOX_ERROR, UserError } from "../container/errors.ts";
import { describeError } from "../sys/errors.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { exitAfterStarts } from "./start.ts";

export const bootCommand = defineCommand({
  meta: {
    name: "system boot",
    description: "Start the containers whose restart policy says so: always; unless-stopped, unless box stop ended it; on-failure, if it was running when the machine went down (run it at boot)",
  },
  args: {},
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box system boot", "box --root /srv/box system boot"]);
    if (flags.positionals.length) throw new UserError(`"box system boot" accepts no arguments`);
    const { store } = globals();
    // In the order they were made: one that joins another's namespaces (--network container:NAME)
    // was made after it, and starts after it.
    const specs = listContainers(store).sort((a, b) => a.created.localeCompare(b.created));
    for (const spec of specs) {
      try {
        if (!startsAtBoot(liveContainer(store, spec))) continue;
        await startStored(store, spec, false);
        process.stdout.write(`${spec.name}\n`);
      } catch (e) {
        // One line per container that failed; the others still start.
        process.stderr.write(`box: ${spec.name}: ${e instanceof UserError ? e.message : describeError(e)}\n`);
        process.exitCode = e instanceof UserError ? e.exitCode : EXIT_BOX_ERROR;
      }
    }
    exitAfterStarts();
  },
});
