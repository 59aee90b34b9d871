import { defineCommand } from "citty";
import { readStats, type CgroupStats } from "../cgroup/stats.ts";
import { UserError } from "../container/errors.ts";
import { cgroupsFor, findRunning, liveContainer, type LiveContainer } from "../container/live.ts";
import { shortId } from "../container/store.ts";
import { listContainers } from "../container/lookup.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { table } from "./format.ts";
import { printHelp } from "./help.ts";
import { humanSize as size } from "./format.ts";
import { isTerminal } from "../sys/tty.ts";

interface Row {
  id: string;
  name: string;
  cpuPercent: number;
  memoryUsage: number;
  memoryLimit: number;
  memoryPercent: number;
  pids: number;
  blockRead: number;
  blockWrite: number;
}

/** Two readings `interval` ms apart: CPU % is the share of one CPU used in between (Docker's). */
async function sample(containers: LiveContainer[], interval: number): Promise<Row[]> {
  const first = containers.map((c) => ({ at: performance.now(), s: readStats(cgroupsFor(c, "stats")) }));
  await Bun.sleep(interval);
  return containers.map((c, i) => {
    const s: CgroupStats = readStats(c.paths.cgroups);
    const elapsedNs = (performance.now() - first[i]!.at) * 1e6;
    return {
      id: c.spec.id,
      name: c.spec.name,
      cpuPercent: Math.max(0, ((s.cpuNs - first[i]!.s.cpuNs) / elapsedNs) * 100),
      memoryUsage: s.memoryUsage,
      memoryLimit: s.memoryLimit,
      memoryPercent: (s.memoryUsage / s.memoryLimit) * 100,
      pids: s.pids,
      blockRead: s.blockRead,
      blockWrite: s.blockWrite,
    };
  });
}

function render(rows: Row[]): string {
  return table(
    ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "BLOCK I/O", "PIDS"],
    rows.map((r) => [
      shortId(r.id), r.name, `${r.cpuPercent.toFixed(2)}%`, `${size(r.memoryUsage, true)} / ${size(r.memoryLimit, true)}`,
      `${r.memoryPercent.toFixed(2)}%`, `${size(r.blockRead, false)} / ${size(r.blockWrite, false)}`, String(r.pids),
    ]),
  );
}

export const statsCommand = defineCommand({
  meta: { name: "stats", description: "Live resource use of running containers, from their cgroup counters" },
  args: {
    "no-stream": { type: "boolean", description: "Print one reading and exit" },
    format: { type: "string", description: "table (default) or json (implies --no-stream)", valueHint: "FORMAT" },
    container: { type: "positional", description: "Containers (default: every running one)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box stats --no-stream", "box stats --format json web"]);
    const format = (flags.values.format as string | undefined) ?? "table";
    if (format !== "table" && format !== "json") throw new UserError(`unknown format "${format}": use table or json`);
    const { store } = globals();
    const pick = (): LiveContainer[] =>
      flags.positionals.length
        ? flags.positionals.map((ref) => findRunning(store, ref))
        : listContainers(store)
            .map((spec) => liveContainer(store, spec))
            .filter((c) => c.pid !== undefined);
    if (format === "json") return void process.stdout.write(`${JSON.stringify(await sample(pick(), 500), null, 2)}\n`);
    if (flags.values["no-stream"]) return void process.stdout.write(render(await sample(pick(), 500)));
    for (;;) {
      const text = render(await sample(pick(), 1000));
      process.stdout.write(isTerminal(1) ? `\x1b[2J\x1b[H${text}` : text);
    }
  },
});
