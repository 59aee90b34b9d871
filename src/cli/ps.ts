import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { findContainer, listContainers } from "../container/lookup.ts";
import { liveContainer, type LiveContainer } from "../container/live.ts";
import { exitCodeOf, healthOf, stateOf, statusLine } from "../container/describe.ts";
import { shortId, type Store } from "../container/store.ts";
import { listImages, tryFindImage } from "../image/store.ts";
import { globals } from "./context.ts";
import { writableSize } from "./disk-usage.ts";
import { parseFlags } from "./flags.ts";
import { ago, createdAt, ellipsis, humanSize, printList, type Listing } from "./format.ts";
import { printHelp } from "./help.ts";
import { goStruct } from "./template-values.ts";

const FILTER_KEYS = ["id", "name", "status", "label", "ancestor", "before", "since", "exited", "health", "network", "publish", "expose", "volume", "is-task"];
const STATES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];
const HEALTH = ["starting", "healthy", "unhealthy", "none"];

export const CONTAINER_LISTING: Listing = {
  table: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
  headers: {
    ID: "CONTAINER ID", Names: "NAMES", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT", RunningFor: "CREATED", Ports: "PORTS",
    State: "STATE", Status: "STATUS", Size: "SIZE", Labels: "LABELS", Mounts: "MOUNTS", LocalVolumes: "LOCAL VOLUMES", Networks: "NETWORKS", Platform: "PLATFORM",
  },
};

/** Docker's rules: values of one key are alternatives, different keys must all match. */
function parseFilters(entries: string[]): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const e of entries) {
    const eq = e.indexOf("=");
    const key = e.slice(0, eq).toLowerCase();
    const value = e.slice(eq + 1);
    if (eq < 0 || !FILTER_KEYS.includes(key)) throw new UserError(`invalid filter '${e}': use ${FILTER_KEYS.map((k) => `${k}=…`).join(", ")}`);
    if (key === "status" && !STATES.includes(value)) throw new UserError(`invalid filter 'status=${value}': status is one of ${STATES.join(", ")}`);
    if (key === "health" && !HEALTH.includes(value)) throw new UserError(`invalid filter 'health=${value}': health is one of ${HEALTH.join(", ")}`);
    if (key === "exited" && !/^-?\d+$/.test(value)) throw new UserError(`invalid filter 'exited=${value}': an exit code`);
    if (key === "is-task" && value !== "true" && value !== "false") throw new UserError(`invalid filter 'is-task=${value}': true or false`);
    if ((key === "publish" || key === "expose") && !/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(value)) {
      throw new UserError(`invalid filter '${e}': PORT[-PORT][/PROTOCOL]${value.includes(":") ? " (no host address)" : ""}`);
    }
    filters.set(key, [...(filters.get(key) ?? []), value]);
  }
  return filters;
}

/** "80-81/tcp" → ["80/tcp", "81/tcp"], as Docker expands a port filter. */
function portSet(values: string[]): Set<string> {
  const set = new Set<string>();
  for (const v of values) {
    const [range, proto = "tcp"] = v.split("/");
    const [from, to = from] = range!.split("-").map(Number);
    for (let p = from!; p <= to! && p - from! < 65536; p++) set.add(`${p}/${proto}`);
  }
  return set;
}

/** A container's ports as Docker lists them: published (while it runs) and exposed. */
function containerPorts(c: LiveContainer): { ip?: string; publicPort?: number; privatePort: number; type: string }[] {
  if (c.pid === undefined) return [];
  const published = (c.spec.endpoint?.ports ?? []).map((p) => ({ ip: p.hostIp ?? "0.0.0.0", publicPort: p.hostPort, privatePort: p.containerPort, type: p.protocol as string }));
  const exposed = (c.spec.exposed ?? [])
    .map((e) => ({ privatePort: Number(e.split("/")[0]), type: e.split("/")[1] ?? "tcp" }))
    .filter((e) => !published.some((p) => p.privatePort === e.privatePort && p.type === e.type));
  return [...published, ...exposed];
}

/** Docker's PORTS: "0.0.0.0:8080->80/tcp, 443/tcp", runs of equal ports grouped ("0.0.0.0:80-81->80-81/tcp"). */
function displayPorts(ports: ReturnType<typeof containerPorts>): string {
  const sorted = [...ports].sort((a, b) => a.privatePort - b.privatePort || (a.ip ?? "").localeCompare(b.ip ?? "") || (a.publicPort ?? 0) - (b.publicPort ?? 0) || a.type.localeCompare(b.type));
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const mappings: string[] = [];
  const form = (key: string, g: { first: number; last: number }) => {
    const [ip, type] = key.split("|");
    const span = g.first === g.last ? `${g.first}` : `${g.first}-${g.last}`;
    return `${ip ? `${ip}:${span}->${span}` : span}/${type}`;
  };
  for (const p of sorted) {
    if (p.ip !== undefined && p.publicPort !== p.privatePort) {
      mappings.push(`${p.ip}:${p.publicPort}->${p.privatePort}/${p.type}`);
      continue;
    }
    const key = `${p.ip ?? ""}|${p.type}`;
    const g = groups.get(key);
    if (!g) groups.set(key, { first: p.privatePort, last: p.privatePort });
    else if (p.privatePort === g.last + 1) g.last = p.privatePort;
    else {
      result.push(form(key, g));
      groups.set(key, { first: p.privatePort, last: p.privatePort });
    }
  }
  for (const [key, g] of groups) result.push(form(key, g));
  return [...result, ...mappings].join(", ");
}

function networksOf(c: LiveContainer): string[] {
  // None: another container's, or taken off every network by box network disconnect.
  if (c.spec.network.startsWith("container:") || (c.spec.connected && !c.spec.endpoint)) return [];
  return [c.spec.network, ...(c.spec.connected ?? []).map((e) => e.network)];
}

type Filters = Map<string, string[]>;

/** The containers `box ps` shows, newest first, as Docker's daemon picks them. */
function select(store: Store, filters: Filters, all: boolean, last: number): LiveContainer[] {
  const containers = listContainers(store)
    .map((spec) => liveContainer(store, spec))
    .sort((a, b) => Date.parse(b.spec.created) - Date.parse(a.spec.created));
  const idOf = (ref: string) => findContainer(store, ref).id;
  const before = filters.get("before")?.map(idOf).at(-1);
  const since = filters.get("since")?.map(idOf).at(-1);
  const ancestors = new Set((filters.get("ancestor") ?? []).map((ref) => tryFindImage(store.root, ref)?.id).filter((id) => id !== undefined));
  const matchers: Record<string, (c: LiveContainer, v: string) => boolean> = {
    id: (c, v) => c.spec.id.startsWith(v),
    // Docker's: a regular expression (`name=^web$`); text that is none matches as a substring.
    name: (c, v) => {
      try {
        return new RegExp(v).test(c.spec.name);
      } catch {
        return c.spec.name.includes(v);
      }
    },
    status: (c, v) => stateOf(c) === v,
    label: (c, v) => {
      const eq = v.indexOf("=");
      return eq < 0 ? Object.hasOwn(c.spec.labels ?? {}, v) : c.spec.labels?.[v.slice(0, eq)] === v.slice(eq + 1);
    },
    ancestor: (c) => c.spec.rootfs.kind === "image" && ancestors.has(c.spec.rootfs.id),
    exited: (c, v) => stateOf(c) === "exited" && c.state.startedAt !== undefined && exitCodeOf(c) === Number(v),
    health: (c, v) => (healthOf(c)?.Status ?? "none") === v,
    network: (c, v) => networksOf(c).includes(v),
    publish: (c, v) => containerPorts(c).some((p) => p.publicPort !== undefined && portSet([v]).has(`${p.publicPort}/${p.type}`)),
    expose: (c, v) => containerPorts(c).some((p) => portSet([v]).has(`${p.privatePort}/${p.type}`)),
    volume: (c, v) => c.spec.volumes.some((m) => m.target === v || m.source === v || m.volume === v),
    // Swarm's tasks: box has none.
    "is-task": (_, v) => v === "false",
  };
  const shown: LiveContainer[] = [];
  let reachedBefore = before === undefined;
  for (const c of containers) {
    if (!reachedBefore) {
      reachedBefore = c.spec.id === before;
      continue;
    }
    if (c.spec.id === since) break;
    if (c.pid === undefined && !all) continue;
    if (![...filters].every(([key, values]) => key === "before" || key === "since" || values.some((v) => matchers[key]!(c, v)))) continue;
    shown.push(c);
    if (last > 0 && shown.length === last) break;
  }
  return shown;
}

/** A row in the shape of Docker's ContainerContext: its fields, Size computed only when read. */
export function containerRow(c: LiveContainer, trunc: boolean, imageSizes: () => Map<string, number>, now: number) {
  const labels = c.spec.labels ?? {};
  return goStruct("*formatter.ContainerContext", {
    ID: trunc ? shortId(c.spec.id) : c.spec.id,
    Names: c.spec.name,
    Image: c.spec.imageName,
    Command: JSON.stringify(trunc ? ellipsis(c.spec.command.join(" "), 20) : c.spec.command.join(" ")),
    CreatedAt: createdAt(c.spec.created),
    RunningFor: ago(c.spec.created, now),
    Ports: displayPorts(containerPorts(c)),
    State: stateOf(c),
    Status: statusLine(c, now),
    get Size() {
      const rw = writableSize(c);
      const image = c.spec.rootfs.kind === "image" ? (imageSizes().get(c.spec.rootfs.id) ?? 0) : 0;
      return image > 0 ? `${humanSize(rw)} (virtual ${humanSize(rw + image)})` : humanSize(rw);
    },
    Labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort().join(","),
    Label: (name: string) => labels[name] ?? "",
    Mounts: c.spec.volumes.map((v) => v.volume ?? v.source).map((m) => (trunc ? ellipsis(m, 15) : m)).join(","),
    // Docker counts the volumes of its local driver, not binds.
    LocalVolumes: String(c.spec.volumes.filter((v) => v.volume !== undefined).length),
    Networks: networksOf(c).join(","),
    Platform: null,
  });
}

export const psCommand = defineCommand({
  meta: { name: "ps", description: "List containers" },
  args: {
    all: { type: "boolean", alias: "a", description: "Show all containers (default: only running ones)" },
    quiet: { type: "boolean", alias: "q", description: "Only print container ids" },
    filter: { type: "string", alias: "f", description: "Filter (repeatable): id, name, status, label, ancestor, before, since, exited, health, network, publish, expose, volume, is-task", valueHint: "KEY=VALUE" },
    format: { type: "string", description: "table (default), 'table TEMPLATE', json (one object per line), or a Go template: '{{.Names}}'", valueHint: "FORMAT" },
    last: { type: "string", alias: "n", description: "Show the N last created containers (all states)", valueHint: "N" },
    latest: { type: "boolean", alias: "l", description: "Show the last created container (all states)" },
    size: { type: "boolean", alias: "s", description: "Show each container's writable layer size (and with the image's, virtual)" },
    "no-trunc": { type: "boolean", description: "Do not truncate ids and commands" },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["filter"], false);
    if (flags.help) return printHelp(cmd, ["box ps", "box ps -a --filter status=exited -q", "box ps --filter label=app=web --format json", "box ps -s --format 'table {{.Names}}\\t{{.Size}}'"]);
    if (flags.positionals.length) throw new UserError(`"box ps" accepts no arguments`);
    const lastText = (flags.values.last as string | undefined) ?? "-1";
    if (!/^-?\d+$/.test(lastText)) throw new UserError(`invalid argument "${lastText}" for "-n, --last" flag: not a number`);
    const last = flags.values.latest === true ? 1 : Number(lastText);
    const filters = parseFilters((flags.values.filter as string[] | undefined) ?? []);
    const { store } = globals();
    const trunc = flags.values["no-trunc"] !== true;
    const all = flags.values.all === true || last > 0 || filters.has("status");
    const shown = select(store, filters, all, last);
    if (flags.values.quiet) return void process.stdout.write(shown.map((c) => `${trunc ? shortId(c.spec.id) : c.spec.id}\n`).join(""));
    const size = flags.values.size === true;
    let format = flags.values.format as string | undefined;
    if (size && (format === undefined || format === "" || format === "table")) format = `${CONTAINER_LISTING.table}\t{{.Size}}`;
    let sizes: Map<string, number> | undefined;
    const imageSizes = () => (sizes ??= new Map(listImages(store.root).map((i) => [i.id, i.size])));
    const now = Date.now();
    printList(format, () => shown.map((c) => containerRow(c, trunc, imageSizes, now)), CONTAINER_LISTING);
  },
});
