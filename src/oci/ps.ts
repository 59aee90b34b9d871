// `box oci ps`'s table: the columns of `ps -ef` (what runc's ps runs and filters), read from
// /proc for the container's processes, since box runs no ps.
import { readFile } from "../sys/fs.ts";
import { processRow } from "../container/manage.ts";
import { processStat } from "../sys/process.ts";

/** USER_HZ: the unit of /proc's times on every Linux box runs on. */
const TICKS = 100;
const PASSWD_LIMIT = 4 << 20;

function twoDigits(n: number): string {
  return String(n).padStart(2, "0");
}

/** ps's TIME: [DD-]HH:MM:SS of CPU. */
function cpuTime(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const rest = `${twoDigits(Math.floor((seconds % 86400) / 3600))}:${twoDigits(Math.floor((seconds % 3600) / 60))}:${twoDigits(seconds % 60)}`;
  return days ? `${days}-${rest}` : rest;
}

/** ps's STIME: HH:MM today, else MonDD. */
function startTime(at: Date, now: Date): string {
  if (at.toDateString() === now.toDateString()) return `${twoDigits(at.getHours())}:${twoDigits(at.getMinutes())}`;
  return `${at.toLocaleString("en-US", { month: "short" })}${twoDigits(at.getDate())}`;
}

/** ps's TTY: pts/N for a pseudo-terminal, ? for none. */
function terminal(ttyNr: number): string {
  if (!ttyNr) return "?";
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  return major >= 136 && major <= 143 ? `pts/${(major - 136) * 256 + minor}` : major === 4 ? `tty${minor}` : "?";
}

/** The host's user names by uid (ps shows a name), from its /etc/passwd. */
function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    const text = readFile("/etc/passwd");
    if (text.length > PASSWD_LIMIT) return names;
    for (const line of text.split("\n")) {
      const [name, , uid] = line.split(":");
      if (name && uid && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name);
    }
  } catch {}
  return names;
}

/** ps's STAT: the state, then < or N (nice), s (session leader), l (threads), + (foreground). */
function stat(pid: number, fields: string[]): string {
  const nice = Number(fields[16]);
  return [fields[0], nice < 0 ? "<" : nice > 0 ? "N" : "", Number(fields[3]) === pid ? "s" : "", Number(fields[17]) > 1 ? "l" : "", fields[2] === fields[5] ? "+" : ""].join("");
}

/**
 * The table of `ps -ef` (UID PID PPID C STIME TTY TIME CMD), or with `bsd` that of `ps x`
 * (PID TTY STAT TIME COMMAND): runc's ps runs ps(1) with the options given; box reads /proc.
 */
export function psTable(pids: number[], bsd = false): string {
  const now = new Date();
  const boot = Number(/^btime (\d+)$/m.exec(readFile("/proc/stat"))?.[1] ?? 0);
  const uptime = Number(readFile("/proc/uptime").split(" ")[0]);
  const names = userNames();
  const rows = pids.flatMap((pid) => {
    const row = processRow(pid);
    if (!row) return [];
    let fields: string[];
    try {
      fields = processStat(pid);
    } catch {
      return []; // gone meanwhile
    }
    const started = Number(fields[19]) / TICKS;
    const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS;
    const tty = terminal(Number(fields[4]));
    if (bsd) return [[String(pid), tty, stat(pid, fields), `${Math.floor(cpu / 60)}:${twoDigits(Math.floor(cpu) % 60)}`, row.command]];
    const elapsed = Math.max(uptime - started, 1);
    const user = names.get(row.uid) ?? String(row.uid);
    return [[user.length > 8 ? String(row.uid) : user, String(pid), fields[1]!, String(Math.floor((cpu * 100) / elapsed)), startTime(new Date((boot + started) * 1000), now), tty, cpuTime(Math.floor(cpu)), row.command]];
  });
  const header = bsd ? ["PID", "TTY", "STAT", "TIME", "COMMAND"] : ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"];
  const numbers = bsd ? [0, 3] : [1, 2, 3, 6];
  // procps's columns are this wide at least (a parser of `ps x` looks for spaces before PID).
  const least = bsd ? [5, 8, 4, 6] : [8, 5, 5, 2, 5, 8, 8];
  const widths = header.map((h, i) => Math.max(least[i] ?? 0, h.length, ...rows.map((r) => r[i]!.length)));
  // ps's layout: numbers and times right-aligned, the command last and whole.
  const line = (r: string[]) => r.map((v, i) => (i === r.length - 1 ? v : numbers.includes(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(" ");
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
