// box generate systemd: units that start containers at boot (Podman's command).
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { writeFile } from "../sys/fs.ts";
import { join, resolve } from "../path.ts";
import { selfCommand } from "../init/self.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { defineFamily, printHelp } from "./help.ts";
import { VERSION } from "../version.ts";
import { bootUnit, containerUnit, SYSTEMD_RESTART, type BoxCommand } from "./systemd-units.ts";

/** This box, as a unit runs it: the compiled executable by its path, or Bun with the source. */
function thisBox(): BoxCommand {
  const self = selfCommand();
  const { store } = globals();
  return {
    exe: self.argv[0] === "box" ? [process.execPath] : self.argv,
    store: { root: resolve(store.root), runroot: resolve(store.runroot) },
  };
}

const systemdCommand = defineCommand({
  meta: { name: "generate systemd", description: "A systemd unit that runs box system boot at boot; with CONTAINER, one that runs that container" },
  args: {
    name: { type: "boolean", alias: "n", description: "Name the unit and its commands by the container's name (default: its id)" },
    "restart-policy": { type: "string", description: "systemd's Restart= for a container's unit (default: the container's --restart)", valueHint: "POLICY" },
    files: { type: "boolean", alias: "f", description: "Write the unit to a file in the current directory and print its path" },
    container: { type: "positional", description: "Container name or id (prefix)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box generate systemd --files && cp box-boot.service /etc/systemd/system/ && systemctl enable box-boot", "box generate systemd --name --files web"]);
    if (flags.positionals.length > 1) throw new UserError(`"box generate systemd" takes at most 1 container`);
    const restart = flags.values["restart-policy"] as string | undefined;
    if (restart !== undefined && !SYSTEMD_RESTART.includes(restart)) throw new UserError(`invalid --restart-policy "${restart}": use ${SYSTEMD_RESTART.join(", ")}`);
    const ref = flags.positionals[0];
    if (ref === undefined && (restart !== undefined || flags.values.name === true)) throw new UserError("--name and --restart-policy are for a container's unit: name the container");
    const box = thisBox();
    const unit = ref === undefined ? bootUnit(box, VERSION) : containerUnit(box, findContainer(box.store, ref), { useName: flags.values.name === true, restart }, VERSION);
    if (flags.values.files !== true) return void process.stdout.write(unit.text);
    const path = join(process.cwd(), unit.name);
    writeFile(path, unit.text, { mode: 0o644 });
    process.stdout.write(`${path}\n`);
  },
});

export const generateCommand = defineFamily(
  { name: "generate", description: "Generate units that run containers under a service manager" },
  async () => ({ systemd: systemdCommand }),
  ["box generate systemd", "box generate systemd --name web"],
);
