// `box version`: docker version's shape. box has no daemon: the executable that runs the command is
// the engine, so the Server section describes this same box (scripts that check
// `{{.Server.Version}}` to see that an engine answers get box's version). There is no API: no
// ApiVersion fields.
import { defineCommand } from "citty";
import { kernelRelease } from "../sys/kernel.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { GOARCH } from "./host.ts";
import { renderTemplate } from "./template.ts";
import { toJSON } from "./template-values.ts";
import pkg from "../../package.json" with { type: "json" };

function describeVersion() {
  const common = { Version: pkg.version, GitCommit: "", GoVersion: "", Os: "linux", Arch: GOARCH, BuildTime: "" };
  return {
    Client: { Platform: { Name: "box" }, ...common, Context: "default" },
    Server: {
      Platform: { Name: "box (daemonless)" },
      Components: [{ Name: "Engine", Version: pkg.version, Details: { KernelVersion: kernelRelease(), Os: "linux", Arch: GOARCH } }],
      ...common,
      KernelVersion: kernelRelease(),
    },
  };
}

export const versionCommand = defineCommand({
  meta: { name: "version", description: "Show box's version (docker version's shape; the engine is this executable)" },
  args: { format: { type: "string", alias: "f", description: "json, or a Go template: '{{.Server.Version}}'", valueHint: "FORMAT" } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box version", "box version --format '{{.Client.Version}}'", "box version --format json"]);
    const format = flags.values.format as string | undefined;
    const v = describeVersion();
    if (format === "json") return void process.stdout.write(`${toJSON(v)}\n`);
    if (format !== undefined && format !== "") return void process.stdout.write(`${renderTemplate(format, v)}\n`);
    process.stdout.write(
      [
        "Client:",
        ` Version:           ${v.Client.Version}`,
        ` OS/Arch:           linux/${GOARCH}`,
        ` Context:           default`,
        "",
        "Server: box (daemonless: this executable is the engine)",
        " Engine:",
        `  Version:          ${v.Server.Version}`,
        `  OS/Arch:          linux/${GOARCH}`,
        `  Kernel:           ${v.Server.KernelVersion}`,
        "",
      ].join("\n"),
    );
  },
});
