// `box volume create|ls|inspect|rm|prune`: the store's volumes, in Docker's words and shapes.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { ensureVolume, listVolumes, pruneVolumes, readVolume, removeVolume, anonymousVolumeName, validateVolumeName, volumeData, volumeUsers, type VolumeRecord } from "../container/volumes.ts";
import { listContainers } from "../container/lookup.ts";
import type { Store } from "../container/store.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { defineFamily, printHelp } from "./help.ts";
import { confirmed, FORCE } from "./confirm.ts";
import { humanSize, printList, type Listing } from "./format.ts";
import { directorySize } from "./disk-usage.ts";
import { printInspected } from "./inspect.ts";
import { goStruct } from "./template-values.ts";
import { forEachArgument, requireArguments } from "./each.ts";
import { parseLabels, parseVolumeOptions } from "./labels.ts";

/** `docker volume inspect`'s shape. */
function describe(store: Store, v: VolumeRecord): Record<string, unknown> {
  return {
    CreatedAt: v.CreatedAt,
    Driver: v.Driver,
    Labels: v.Labels,
    Mountpoint: volumeData(store, v.Name),
    Name: v.Name,
    Options: Object.keys(v.Options).length ? v.Options : null,
    Scope: "local",
  };
}

const VOLUME_LISTING: Listing = {
  table: "table {{.Driver}}\t{{.Name}}",
  headers: { Driver: "DRIVER", Name: "VOLUME NAME", Scope: "SCOPE", Mountpoint: "MOUNTPOINT", Labels: "LABELS", Links: "LINKS", Size: "SIZE", CreatedAt: "CREATED AT" },
};

const FILTER_KEYS = ["dangling", "name", "label", "driver"];

/** Docker's volume filters: values of one key are alternatives, different keys must all match. */
function volumeFilter(entries: string[], store: Store): (v: VolumeRecord) => boolean {
  const filters = new Map<string, string[]>();
  for (const e of entries) {
    const eq = e.indexOf("=");
    const key = e.slice(0, eq);
    if (eq < 0 || !FILTER_KEYS.includes(key)) throw new UserError(`invalid filter "${e}": use ${FILTER_KEYS.map((k) => `${k}=…`).join(", ")}`);
    const value = e.slice(eq + 1);
    if (key === "dangling" && !["true", "false", "1", "0"].includes(value)) throw new UserError(`invalid filter "${e}": dangling is true or false`);
    filters.set(key, [...(filters.get(key) ?? []), value]);
  }
  const containers = filters.has("dangling") ? listContainers(store) : [];
  const test: Record<string, (v: VolumeRecord, value: string) => boolean> = {
    dangling: (v, value) => (volumeUsers(store, v.Name, containers).length === 0) === (value === "true" || value === "1"),
    name: (v, value) => v.Name.includes(value),
    driver: (v, value) => v.Driver === value,
    label: (v, value) => {
      const eq = value.indexOf("=");
      return eq < 0 ? Object.hasOwn(v.Labels, value) : v.Labels[value.slice(0, eq)] === value.slice(eq + 1);
    },
  };
  return (v) => [...filters].every(([key, values]) => values.some((value) => test[key]!(v, value)));
}

const createCommand = defineCommand({
  meta: { name: "volume create", description: "Create a volume (a directory of the store; -o type=tmpfs or a bind)" },
  args: {
    driver: { type: "string", alias: "d", description: "Volume driver: local (the only one)", valueHint: "DRIVER" },
    label: { type: "string", description: "Set a label on the volume", valueHint: "KEY=VALUE" },
    opt: { type: "string", alias: "o", description: "The local driver's options: type=tmpfs,device=tmpfs,o=size=64m or type=none,o=bind,device=PATH", valueHint: "KEY=VALUE" },
    name: { type: "positional", description: "Volume name (default: a random one)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["label", "opt"], false);
    if (flags.help) return printHelp(cmd, ["box volume create pgdata", "box volume create --label app=db -o type=tmpfs -o device=tmpfs -o o=size=64m scratch"]);
    if (flags.positionals.length > 1) throw new UserError(`"box volume create" requires at most 1 argument`);
    const driver = flags.values.driver as string | undefined;
    if (driver !== undefined && driver !== "local") throw new UserError(`volume driver "${driver}": box has the local driver only`);
    const name = flags.positionals[0] === undefined ? anonymousVolumeName() : validateVolumeName(flags.positionals[0]);
    const options = parseVolumeOptions((flags.values.opt as string[] | undefined) ?? []);
    const labels = parseLabels((flags.values.label as string[] | undefined) ?? []);
    const { record, made } = ensureVolume(globals().store, name, { Labels: labels, Options: options });
    // Docker: creating one that is there is fine when nothing asked would differ.
    if (!made && (JSON.stringify(record.Options) !== JSON.stringify(options) || JSON.stringify(record.Labels) !== JSON.stringify(labels)) && (Object.keys(options).length || Object.keys(labels).length)) {
      throw new UserError(`volume ${name} already exists with other options or labels`);
    }
    process.stdout.write(`${name}\n`);
  },
});

const lsCommand = defineCommand({
  meta: { name: "volume ls", description: "List volumes" },
  args: {
    quiet: { type: "boolean", alias: "q", description: "Only names" },
    filter: { type: "string", description: "dangling=true|false, name=, label=KEY[=VALUE], driver=", valueHint: "KEY=VALUE" },
    format: { type: "string", description: "table (default), 'table TEMPLATE', json, or a Go template: '{{.Name}}'", valueHint: "FORMAT" },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["filter"], false);
    if (flags.help) return printHelp(cmd, ["box volume ls", "box volume ls -q --filter dangling=true"]);
    const { store } = globals();
    const matches = volumeFilter((flags.values.filter as string[] | undefined) ?? [], store);
    const volumes = listVolumes(store).filter(matches).sort((a, b) => a.Name.localeCompare(b.Name));
    if (flags.values.quiet) return void process.stdout.write(volumes.map((v) => `${v.Name}\n`).join(""));
    const containers = listContainers(store);
    printList(flags.values.format as string | undefined, () => volumes.map((v) =>
      goStruct("*formatter.volumeContext", {
        Driver: v.Driver,
        Name: v.Name,
        Scope: "local",
        Mountpoint: volumeData(store, v.Name),
        Labels: Object.entries(v.Labels).map(([k, val]) => `${k}=${val}`).join(","),
        Label: (key: string) => v.Labels[key] ?? "",
        Links: String(volumeUsers(store, v.Name, containers).length),
        Size: "N/A",
        CreatedAt: v.CreatedAt,
      }),
    ), VOLUME_LISTING);
  },
});

const inspectCommand = defineCommand({
  meta: { name: "volume inspect", description: "Show volumes as JSON" },
  args: {
    format: { type: "string", alias: "f", description: "json, or a Go template: '{{.Mountpoint}}'", valueHint: "TEMPLATE" },
    volume: { type: "positional", description: "Volume names", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box volume inspect pgdata", "box volume inspect -f '{{.Mountpoint}}' pgdata"]);
    requireArguments("volume inspect", flags.positionals);
    const { store } = globals();
    printInspected(flags, (name) => describe(store, readVolume(store, name)));
  },
});

const rmCommand = defineCommand({
  meta: { name: "volume rm", description: "Remove volumes no container uses" },
  args: {
    force: { type: "boolean", alias: "f", description: "A volume that is not there is no error" },
    volume: { type: "positional", description: "Volume names", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box volume rm pgdata"]);
    requireArguments("volume rm", flags.positionals);
    const { store } = globals();
    await forEachArgument(flags.positionals, (name) => {
      try {
        removeVolume(store, name);
      } catch (e) {
        if (flags.values.force === true && e instanceof UserError && e.message === `no such volume: ${name}`) return undefined;
        throw e;
      }
      return name;
    });
  },
});

const pruneCommand = defineCommand({
  meta: { name: "volume prune", description: "Remove the anonymous volumes no container uses (-a: named ones too)" },
  args: { ...FORCE, all: { type: "boolean", alias: "a", description: "Named volumes too" } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box volume prune -f", "box volume prune -a -f"]);
    if (flags.positionals.length) throw new UserError(`"box volume prune" accepts no arguments`);
    const all = flags.values.all === true;
    if (!confirmed(flags.values.force, "box volume prune", all ? "every volume no container uses" : "every anonymous volume no container uses")) return;
    printPruned(pruneVolumes(globals().store, all, directorySize));
  },
});

/** Docker's report of a volume prune. */
export function printPruned({ removed, bytes }: { removed: VolumeRecord[]; bytes: number }): void {
  if (removed.length) process.stdout.write(`Deleted Volumes:\n${removed.map((v) => `${v.Name}\n`).join("")}\n`);
  process.stdout.write(`Total reclaimed space: ${humanSize(bytes)}\n`);
}

export const volumeCommand = defineFamily(
  { name: "volume", description: "Manage volumes" },
  async () => ({ create: createCommand, ls: lsCommand, list: lsCommand, inspect: inspectCommand, rm: rmCommand, remove: rmCommand, prune: pruneCommand }),
  ["box volume create pgdata", "box run -d -v pgdata:/var/lib/postgresql/data postgres", "box volume ls", "box volume rm pgdata"],
);
