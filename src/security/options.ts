// The security flags of `box run` in Docker's terms, checked and turned into spec values:
// --cap-add/--cap-drop, --privileged, --security-opt, --ulimit, --sysctl, --device.
import { UserError } from "../container/errors.ts";
import { stat } from "../sys/fs.ts";
import { describeError } from "../sys/errors.ts";
import { CAPABILITIES } from "./capabilities.ts";

/** A capability name as Docker takes it: any case, with or without CAP_, or ALL. */
function capabilityName(text: string, flag: string): string {
  const name = text.toUpperCase().replace(/^CAP_/, "");
  if (name !== "ALL" && !(name in CAPABILITIES)) throw new UserError(`invalid ${flag} "${text}": unknown capability`);
  return name;
}

/**
 * Docker's rules: ALL in --cap-add starts from every capability, ALL in --cap-drop from none;
 * then the drops go, then the adds come.
 */
export function resolveCapabilities(defaults: string[], add: string[], drop: string[], privileged: boolean): string[] {
  const adds = add.map((c) => capabilityName(c, "--cap-add"));
  const drops = drop.map((c) => capabilityName(c, "--cap-drop"));
  const all = Object.keys(CAPABILITIES);
  if (privileged) return all;
  let set = adds.includes("ALL") ? all : drops.includes("ALL") ? [] : defaults;
  set = set.filter((c) => !drops.includes(c));
  for (const c of adds) if (c !== "ALL" && !set.includes(c)) set = [...set, c];
  return all.filter((c) => set.includes(c));
}

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** Docker's default profile, none, or the path of a profile in Docker's JSON format. */
  seccomp: "default" | "unconfined" | { path: string };
}

/** --security-opt: no-new-privileges[:true|false], seccomp=unconfined|PROFILE.json. */
export function parseSecurityOpts(opts: string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: "default" };
  for (const opt of opts) {
    const m = /^no-new-privileges(?:[:=](true|false))?$/.exec(opt);
    const sc = /^seccomp[=:](.+)$/.exec(opt);
    if (m) out.noNewPrivileges = m[1] !== "false";
    else if (sc) out.seccomp = sc[1] === "unconfined" ? "unconfined" : { path: sc[1]! };
    else throw new UserError(`invalid --security-opt "${opt}": no-new-privileges[:true|false], seccomp=unconfined or seccomp=PROFILE.json`);
  }
  return out;
}

/** RLIMIT_* numbers by Docker's --ulimit names. */
export const RLIMITS: Record<string, number> = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7, memlock: 8, as: 9,
  locks: 10, sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14, rttime: 15,
};

export interface Ulimit {
  name: string;
  /** -1: unlimited */
  soft: number;
  hard: number;
}

/** --ulimit NAME=SOFT[:HARD] (-1 or unlimited: no limit). */
export function parseUlimit(text: string): Ulimit {
  const [name = "", values = ""] = text.split("=");
  if (!(name in RLIMITS) || !values) throw new UserError(`invalid --ulimit "${text}": NAME=SOFT[:HARD] with NAME one of ${Object.keys(RLIMITS).join(", ")}`);
  const [soft, hard = soft] = values.split(":").map((v) => {
    if (v === "-1" || v === "unlimited") return -1;
    if (!/^\d{1,18}$/.test(v)) throw new UserError(`invalid --ulimit "${text}": ${v} is no number`);
    return Number(v);
  });
  if (values.split(":").length > 2) throw new UserError(`invalid --ulimit "${text}": NAME=SOFT[:HARD]`);
  const above = (a: number, b: number) => (a === -1 ? b !== -1 : b !== -1 && a > b);
  if (above(soft!, hard!)) throw new UserError(`invalid --ulimit "${text}": the soft limit is above the hard one`);
  return { name, soft: soft!, hard: hard! };
}

/**
 * --sysctl KEY=VALUE, only the ones a container's own namespaces hold (Docker's list): IPC
 * (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*) and, unless it shares the host's network,
 * net.*. Anything else would change the host.
 */
export function parseSysctl(text: string, hostNetwork: boolean): [string, string] {
  const eq = text.indexOf("=");
  // Dots separate the parts, or slashes (then a part may hold a dot: an interface like eth0.100).
  const raw = eq > 0 ? text.slice(0, eq) : "";
  const parts = raw.includes("/") ? raw.split("/") : raw.split(".");
  const key = parts.join(".");
  const value = text.slice(eq + 1);
  if (parts.length < 2 || !parts.every((p) => /^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/.test(p) && p !== "..") || /[\n\0]/.test(value)) throw new UserError(`invalid --sysctl "${text}": KEY=VALUE`);
  const ipc = /^(kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)|fs\.mqueue\..+)$/.test(key);
  const net = key.startsWith("net.");
  if (net && hostNetwork) throw new UserError(`--sysctl ${key}: not allowed with --network host (it would change the host)`);
  if (!ipc && !net) throw new UserError(`--sysctl ${key}: not a namespaced sysctl (it would change the host)`);
  // The /proc/sys path, parts joined by "/".
  return [parts.join("/"), value];
}

export interface DeviceSpec {
  /** The host's node, and where it appears in the container. */
  source: string;
  target: string;
  /** p: a FIFO (a bundle's linux.devices): made, no device rule needed. */
  type: "c" | "b" | "p";
  major: number;
  minor: number;
  /** Permission bits of the node (the host's). */
  mode: number;
  /** What the devices cgroup (v1) allows: some of r, w, m. */
  access: string;
}

/** --device HOST[:CONTAINER][:PERMISSIONS]: a host device node made in the container's /dev. */
export function parseDevice(text: string): DeviceSpec {
  const parts = text.split(":");
  const access = parts.length > 1 && /^[rwm]+$/.test(parts.at(-1)!) ? parts.pop()! : "rwm";
  const [source = "", target = source, ...rest] = parts;
  if (rest.length || !source.startsWith("/") || !target.startsWith("/") || target.split("/").includes("..")) throw new UserError(`invalid --device "${text}": HOST_PATH[:CONTAINER_PATH][:rwm], absolute paths`);
  let st;
  try {
    st = stat(source);
  } catch (e) {
    throw new UserError(`--device ${source}: ${describeError(e)}`);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new UserError(`--device ${source}: not a device node`);
  return { source, target, type: st.isCharacterDevice() ? "c" : "b", major: st.rdevMajor, minor: st.rdevMinor, mode: st.mode & 0o7777, access };
}
