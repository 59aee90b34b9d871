// box rename / top / container prune.
import { defineCommand, runCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { containerProcesses, pruneContainers, renameContainer } from "../container/manage.ts";
import { isTerminal } from "../sys/tty.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { table } from "./format.ts";
import { printHelp } from "./help.ts";

export const renameCommand = defineCommand({
  meta: { name: "rename", description: "Give a container a new name" },
  args: {
    container: { type: "positional", description: "Container name or id (prefix)", required: false },
    name: { type: "positional", description: "The new name", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box rename web web-old"]);
    if (flags.positionals.length !== 2) throw new UserError(`"box rename" requires exactly 2 arguments: CONTAINER NEW_NAME`);
    const { store } = globals();
    await renameContainer(store, findContainer(store, flags.positionals[0]!), flags.positionals[1]!);
  },
});

export const topCommand = defineCommand({
  meta: { name: "top", description: "List the processes of a running container" },
  args: {
    format: { type: "string", description: "table (default) or json", valueHint: "FORMAT" },
    container: { type: "positional", description: "Container name or id (prefix)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box top web"]);
    if (flags.positionals.length !== 1) throw new UserError(`"box top" requires exactly 1 argument`);
    const format = (flags.values.format as string | undefined) ?? "table";
    if (format !== "table" && format !== "json") throw new UserError(`unknown format "${format}": use table or json`);
    const { store } = globals();
    const rows = containerProcesses(store, findContainer(store, flags.positionals[0]!));
    if (format === "json") return void process.stdout.write(`${JSON.stringify(rows)}\n`);
    process.stdout.write(table(["PID", "CONTAINER PID", "UID", "COMMAND"], rows.map((r) => [String(r.pid), String(r.containerPid), String(r.uid), r.command])));
  },
});

const pruneCommand = defineCommand({
  meta: { name: "prune", description: "Remove every container that is not running" },
  args: { force: { type: "boolean", alias: "f", description: "Do not ask for confirmation" } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box container prune -f"]);
    if (flags.values.force !== true) {
      // No prompt without a terminal to answer it: scripts say -f.
      if (!isTerminal(0)) throw new UserError("box container prune removes every stopped container: confirm with -f");
      process.stdout.write("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ");
      const answer = (prompt("") ?? "").trim().toLowerCase();
      if (answer !== "y" && answer !== "yes") return;
    }
    const removed = await pruneContainers(globals().store);
    process.stdout.write(removed.length ? `Deleted Containers:\n${removed.join("\n")}\n` : "");
  },
});

export const containerCommand = defineCommand({
  meta: { name: "container", description: "Manage containers (prune, ls)" },
  args: { command: { type: "positional", description: "prune or ls", required: false } },
  async run({ rawArgs, cmd }) {
    const [sub, ...rest] = rawArgs;
    if (sub === "prune") return void (await runCommand(pruneCommand, { rawArgs: rest }));
    // Docker's long forms of the commands box has at the top level.
    if (sub === "ls" || sub === "list") return void (await runCommand((await import("./ps.ts")).psCommand, { rawArgs: rest }));
    if (sub === undefined || sub === "--help" || sub === "-h") return printHelp(cmd, ["box container prune -f"]);
    throw new UserError(`unknown command "${sub}" for "box container"; see 'box container --help'`);
  },
});
