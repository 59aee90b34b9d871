import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { listContainers } from "../container/lookup.ts";
import { liveContainer, type LiveContainer } from "../container/live.ts";
import { stateOf, statusLine } from "../container/describe.ts";
import { shortId } from "../container/store.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { ago, table } from "./format.ts";
import { printHelp } from "./help.ts";
import { renderTemplate } from "./template.ts";

const FILTER_KEYS = ["id", "name", "status", "label"] as const;
const STATES = ["created", "running", "paused", "restarting", "exited"];

/** Docker's rules: values of one key are alternatives, different keys must all match. */
function parseFilters(entries: string[]): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const e of entries) {
    const eq = e.indexOf("=");
    const key = e.slice(0, eq);
    const value = e.slice(eq + 1);
    if (eq < 0 || !(FILTER_KEYS as readonly string[]).includes(key)) throw new UserError(`invalid filter "${e}": use ${FILTER_KEYS.map((k) => `${k}=…`).join(", ")}`);
    if (key === "status" && !STATES.includes(value)) throw new UserError(`invalid filter "${e}": status is one of ${STATES.join(", ")}`);
    filters.set(key, [...(filters.get(key) ?? []), value]);
  }
  return filters;
}

function matches(c: LiveContainer, filters: Map<string, string[]>): boolean {
  const test: Record<string, (v: string) => boolean> = {
    id: (v) => c.spec.id.startsWith(v),
    // Docker's: a regular expression (`name=^web$`); text that is none matches as a substring.
    name: (v) => {
      try {
        return new RegExp(v).test(c.spec.name);
      } catch {
        return c.spec.name.includes(v);
      }
    },
    status: (v) => stateOf(c) === v,
    label: (v) => {
      const eq = v.indexOf("=");
      return eq < 0 ? Object.hasOwn(c.spec.labels ?? {}, v) : c.spec.labels?.[v.slice(0, eq)] === v.slice(eq + 1);
    },
  };
  return [...filters].every(([key, values]) => values.some(test[key]!));
}

/** The command as `docker ps` shows it: quoted, cut to 20 characters. */
function commandColumn(command: string[], full: boolean): string {
  const text = command.join(" ");
  return JSON.stringify(full || text.length <= 20 ? text : `${text.slice(0, 19)}…`);
}

/** Docker's PORTS: where a running container's ports are published ("0.0.0.0:8080->80/tcp"). */
function portsColumn(c: LiveContainer): string {
  if (c.pid === undefined) return "";
  return (c.spec.endpoint?.ports ?? []).map((p) => `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(", ");
}

export const psCommand = defineCommand({
  meta: { name: "ps", description: "List containers" },
  args: {
    all: { type: "boolean", alias: "a", description: "Show all containers (default: only running ones)" },
    quiet: { type: "boolean", alias: "q", description: "Only print container ids" },
    filter: { type: "string", alias: "f", description: "Filter: id=, name=, status=, label=KEY[=VALUE] (repeatable)", valueHint: "KEY=VALUE" },
    format: { type: "string", description: "table (default), json (one object per line), or a template: '{{.Names}}'", valueHint: "FORMAT" },
    "no-trunc": { type: "boolean", description: "Do not truncate ids and commands" },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["filter"], false);
    if (flags.help) return printHelp(cmd, ["box ps", "box ps -a --filter status=exited -q", "box ps --filter label=app=web --format json"]);
    if (flags.positionals.length) throw new UserError(`"box ps" accepts no arguments`);
    const format = (flags.values.format as string | undefined) ?? "table";
    // Anything else is a Go template over each row: --format '{{.Names}} {{.Status}}'.
    if (format !== "table" && format !== "json" && !format.includes("{{")) throw new UserError(`unknown format "${format}": use table, json or a template like '{{.Names}}'`);
    const filters = parseFilters((flags.values.filter as string[] | undefined) ?? []);
    const { store } = globals();
    const full = flags.values["no-trunc"] === true;
    const now = Date.now();
    const shown = listContainers(store)
      .map((spec) => liveContainer(store, spec))
      .filter((c) => (flags.values.all === true || filters.has("status") || stateOf(c) !== "created" && stateOf(c) !== "exited") && matches(c, filters))
      .sort((a, b) => Date.parse(b.spec.created) - Date.parse(a.spec.created));
    const id = (c: LiveContainer) => (full ? c.spec.id : shortId(c.spec.id));
    if (flags.values.quiet) return void process.stdout.write(shown.map((c) => `${id(c)}\n`).join(""));
    if (format !== "table") {
      const rows = shown.map((c) => ({
          ID: id(c),
          Image: c.spec.imageName,
          Command: commandColumn(c.spec.command, true),
          CreatedAt: c.spec.created,
          RunningFor: ago(c.spec.created, now),
          State: stateOf(c),
          Status: statusLine(c, now),
          Ports: portsColumn(c),
          Names: c.spec.name,
          Labels: Object.entries(c.spec.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(","),
          Pid: c.pid ?? 0,
      }));
      const line = (row: Record<string, unknown>) => (format === "json" ? JSON.stringify(row) : renderTemplate(format, row));
      return void process.stdout.write(rows.map((r) => `${line(r)}\n`).join(""));
    }
    const rows = shown.map((c) => [id(c), c.spec.imageName, commandColumn(c.spec.command, full), ago(c.spec.created, now), statusLine(c, now), portsColumn(c), c.spec.name]);
    process.stdout.write(table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], rows));
  },
});
