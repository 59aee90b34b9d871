import { defineCommand } from "citty";
import { readStats, type CgroupStats } from "../cgroup/stats.ts";
import { UserError } from "../container/errors.ts";
import { cgroupsFor, liveContainer, type LiveContainer } from "../container/live.ts";
import { shortId } from "../container/store.ts";
import { findContainer, listContainers } from "../container/lookup.ts";
import { bridgeNetwork } from "../container/spec.ts";
import { O_RDONLY } from "../sys/constants.ts";
import { close, open, readAll } from "../sys/fs.ts";
import { isTerminal } from "../sys/tty.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { bytesSize, humanSize, listFormat, renderList, type Listing } from "./format.ts";
import { printHelp } from "./help.ts";
import { goStruct } from "./template-values.ts";

const STATS_LISTING: Listing = {
  table: "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
  headers: {
    Container: "CONTAINER", Name: "NAME", ID: "CONTAINER ID", CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT", MemPerc: "MEM %",
    NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS",
  },
};

/** /proc/PID/net/dev lists the interfaces the container itself could create: read at most this. */
const NET_DEV_LIMIT = 1 << 20;

/**
 * Bytes received and sent on the container's own interfaces (its network namespace, seen through
 * its init's /proc/PID/net/dev), loopback left out as Docker's are. A container on the host's
 * network, or another container's, has none of its own: 0, as Docker shows.
 */
function networkBytes(c: LiveContainer): { rx: number; tx: number } {
  if (c.pid === undefined || bridgeNetwork(c.spec) === undefined) return { rx: 0, tx: 0 };
  let text: string;
  try {
    const fd = open(`/proc/${c.pid}/net/dev`, O_RDONLY);
    try {
      text = readAll(fd, undefined, NET_DEV_LIMIT).toString("latin1");
    } finally {
      close(fd);
    }
  } catch {
    return { rx: 0, tx: 0 };
  }
  let rx = 0;
  let tx = 0;
  // "  eth0: RXBYTES packets errs drop fifo frame compressed multicast TXBYTES ..."
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0 || line.slice(0, colon).trim() === "lo") continue;
    const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (fields.length < 16 || fields.some((n) => !Number.isFinite(n))) continue;
    rx += fields[0]!;
    tx += fields[8]!;
  }
  return { rx, tx };
}

interface Reading {
  at: number;
  cgroup?: CgroupStats;
}

function read(c: LiveContainer): Reading {
  return { at: performance.now(), cgroup: c.pid === undefined ? undefined : readStats(cgroupsFor(c, "stats")) };
}

/**
 * Two readings `interval` ms apart, as Docker's rows (statsContext): CPU % is the share of one
 * CPU used in between; a container that is not running shows zeros.
 */
async function sample(containers: { ref: string; c: LiveContainer }[], interval: number, trunc: boolean) {
  const first = containers.map(({ c }) => read(c));
  await Bun.sleep(interval);
  return containers.map(({ ref, c }, i) => {
    const now = read(c);
    const s = now.cgroup;
    const before = first[i]!.cgroup;
    const cpu = s && before ? Math.max(0, ((s.cpuNs - before.cpuNs) / ((now.at - first[i]!.at) * 1e6)) * 100) : 0;
    const net = networkBytes(c);
    const percent = (n: number) => `${n.toFixed(2)}%`;
    return goStruct("*container.statsContext", {
      Container: ref,
      Name: c.spec.name,
      ID: trunc ? shortId(c.spec.id) : c.spec.id,
      CPUPerc: percent(cpu),
      MemUsage: `${bytesSize(s?.memoryUsage ?? 0)} / ${bytesSize(s?.memoryLimit ?? 0)}`,
      MemPerc: percent(s && s.memoryLimit ? (s.memoryUsage / s.memoryLimit) * 100 : 0),
      NetIO: `${humanSize(net.rx)} / ${humanSize(net.tx)}`,
      BlockIO: `${humanSize(s?.blockRead ?? 0)} / ${humanSize(s?.blockWrite ?? 0)}`,
      PIDs: String(s?.pids ?? 0),
    });
  });
}

export const statsCommand = defineCommand({
  meta: { name: "stats", description: "Live resource use of containers, from their cgroup counters and network interfaces" },
  args: {
    all: { type: "boolean", alias: "a", description: "Show all containers (default: only running ones)" },
    "no-stream": { type: "boolean", description: "Print one reading and exit" },
    "no-trunc": { type: "boolean", description: "Do not truncate ids" },
    format: { type: "string", description: "table (default), 'table TEMPLATE', json (one object per line), or a Go template: '{{.Name}} {{.NetIO}}'", valueHint: "FORMAT" },
    container: { type: "positional", description: "Containers (default: every running one)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box stats --no-stream", "box stats --no-stream --format json web", "box stats --no-stream --format 'table {{.Name}}\\t{{.NetIO}}'"]);
    const format = listFormat(flags.values.format as string | undefined, STATS_LISTING);
    const { store } = globals();
    const trunc = flags.values["no-trunc"] !== true;
    const pick = () => {
      if (!flags.positionals.length) {
        return listContainers(store)
          .map((spec) => ({ ref: spec.id, c: liveContainer(store, spec) }))
          .filter(({ c }) => flags.values.all === true || c.pid !== undefined);
      }
      return flags.positionals.map((ref) => {
        const c = liveContainer(store, findContainer(store, ref));
        if (c.pid === undefined && flags.values["no-stream"] !== true) throw new UserError(`container ${ref} is not running`);
        return { ref, c };
      });
    };
    if (flags.values["no-stream"]) return void process.stdout.write(renderList(format, await sample(pick(), 500, trunc), STATS_LISTING));
    for (;;) {
      const text = renderList(format, await sample(pick(), 1000, trunc), STATS_LISTING);
      process.stdout.write(isTerminal(1) ? `\x1b[2J\x1b[H${text}` : text);
    }
  },
});
