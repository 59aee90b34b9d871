// box rename / top, and the container and system families.
import { defineCommand } from "citty";
import { pruneVolumes } from "../container/volumes.ts";
import { directorySize } from "./disk-usage.ts";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { containerProcesses, pruneContainers, renameContainer } from "../container/manage.ts";
import { pruneNetworks } from "../net/network.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { table } from "./format.ts";
import { defineFamily, printHelp } from "./help.ts";
import { confirmed, FORCE } from "./confirm.ts";

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
  args: FORCE,
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box container prune -f"]);
    if (!confirmed(flags.values.force, "box container prune", "every stopped container")) return;
    const removed = await pruneContainers(globals().store);
    process.stdout.write(removed.length ? `Deleted Containers:\n${removed.join("\n")}\n` : "");
  },
});

const systemPruneCommand = defineCommand({
  meta: { name: "system prune", description: "Remove stopped containers, the networks no container uses (with the last one, box's nftables table), nameless images and the build cache; --volumes: anonymous volumes no container uses" },
  args: { ...FORCE, volumes: { type: "boolean", description: "Anonymous volumes no container uses too" } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box system prune -f", "box system prune -f --volumes"]);
    const volumes = flags.values.volumes === true;
    if (!confirmed(flags.values.force, "box system prune", `every stopped container, every network no container uses, ${volumes ? "every anonymous volume no container uses, " : ""}every dangling image, all build cache`)) return;
    const { store } = globals();
    const containers = await pruneContainers(store);
    const networks = pruneNetworks(store);
    const pruned = volumes ? pruneVolumes(store, false, directorySize).removed : [];
    const images = (await import("./images.ts")).pruneImages(store, false);
    const cache = (await import("../build/cache.ts")).pruneCache(store.root);
    if (containers.length) process.stdout.write(`Deleted Containers:\n${containers.join("\n")}\n\n`);
    if (networks.length) process.stdout.write(`Deleted Networks:\n${networks.join("\n")}\n\n`);
    if (pruned.length) process.stdout.write(`Deleted Volumes:\n${pruned.map((v) => v.Name).join("\n")}\n\n`);
    if (images.lines.length) process.stdout.write(`Deleted Images:\n${images.lines.join("\n")}\n\n`);
    if (cache) process.stdout.write(`Deleted build cache objects: ${cache}\n\n`);
  },
});

export const systemCommand = defineFamily(
  { name: "system", description: "Manage box's state" },
  () => import("./main.ts").then(async (m) => ({ ...m.topLevel({ info: "info", events: "events" }), prune: systemPruneCommand, df: (await import("./df.ts")).dfCommand, boot: (await import("./boot.ts")).bootCommand })),
  ["box system prune -f", "box system df", "box system info"],
);

/** Docker's `docker container X`: the top-level commands (`ls` is `ps`), and prune. */
const CONTAINER_COMMANDS: Record<string, string> = {
  ls: "ps", list: "ps", ps: "ps", inspect: "inspect", rm: "rm", remove: "rm",
  run: "run", create: "create", start: "start", stop: "stop", restart: "restart", kill: "kill", wait: "wait",
  logs: "logs", attach: "attach", exec: "exec", cp: "cp", diff: "diff", export: "export", commit: "commit",
  pause: "pause", unpause: "unpause", port: "port", rename: "rename", stats: "stats", top: "top", update: "update",
};

export const containerCommand = defineFamily(
  { name: "container", description: "Manage containers" },
  () => import("./main.ts").then((m) => ({ ...m.topLevel(CONTAINER_COMMANDS), prune: pruneCommand })),
  ["box container ls -a", "box container prune -f", "box container inspect web"],
);
