import { defineCommand } from "citty";
import { kernelRelease } from "../sys/kernel.ts";
import { flagSupport } from "../cgroup/capabilities.ts";
import { detectCgroups } from "../cgroup/detect.ts";
import { UserError } from "../container/errors.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { table } from "./format.ts";
import { printHelp } from "./help.ts";
import pkg from "../../package.json" with { type: "json" };

export const infoCommand = defineCommand({
  meta: { name: "info", description: "Show what box finds on this host: cgroups, controllers, which limits work" },
  args: { format: { type: "string", description: "text (default) or json", valueHint: "FORMAT" } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box info", "box info --format json"]);
    const format = (flags.values.format as string | undefined) ?? "text";
    if (format !== "text" && format !== "json") throw new UserError(`unknown format "${format}": use text or json`);
    const layout = detectCgroups();
    const info = {
      version: pkg.version,
      kernel: kernelRelease(),
      store: globals().store,
      cgroups: { version: layout.version, hybrid: layout.hybrid, hierarchies: layout.hierarchies },
      flags: flagSupport(layout),
    };
    if (format === "json") return void process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    const lines = [
      `box version ${info.version}`,
      `Kernel: ${info.kernel}`,
      `Root: ${info.store.root}`,
      `Run root: ${info.store.runroot}`,
      `Cgroups: v${layout.version}${layout.hybrid ? " (hybrid: a cgroup2 mount beside the v1 controllers)" : ""}`,
      "",
    ].join("\n");
    const mounts = table(["MOUNT", "CONTROLLERS"], layout.hierarchies.map((h) => [h.mountpoint, h.controllers.join(",")]));
    const support = table(["FLAGS", "WORKS", "HOW"], info.flags.map((f) => [f.flags, f.supported ? "yes" : "no", f.detail]));
    process.stdout.write(`${lines}\n${mounts}\n${support}`);
  },
});
