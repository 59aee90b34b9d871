import { defineCommand } from "citty";
import { applyLimits } from "../cgroup/limits.ts";
import { UserError } from "../container/errors.ts";
import { cgroupsFor, findRunning } from "../container/live.ts";
import { writeConfig } from "../container/store.ts";
import type { ResourceSpec } from "../container/spec.ts";
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
    const given = Object.values(changes).some((v) => (Array.isArray(v) ? v.length > 0 : v !== undefined));
    if (!given) throw new UserError(`"box update" needs at least one limit to change; see 'box update --help'`);
    const { store } = globals();
    await forEachArgument(flags.positionals, (ref) => {
      const c = findRunning(store, ref);
      applyLimits(changes, cgroupsFor(c, "update"));
      // Later runs and inspect see the limits now in force.
      const merged: ResourceSpec = { ...c.spec.resources };
      for (const [k, v] of Object.entries(changes) as [keyof ResourceSpec, never][]) {
        if (Array.isArray(v) ? (v as unknown[]).length : v !== undefined) merged[k] = v;
      }
      writeConfig(c.paths, { ...c.spec, resources: merged });
      return ref;
    });
  },
});
