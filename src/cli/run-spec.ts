// `box run` flags → one validated ContainerSpec. Every check on user input happens here, once.
import { readFile, stat } from "../sys/fs.ts";
import { resolve } from "../path.ts";
import { parseUserns } from "../security/userns.ts";
import { RESOURCE_ARGS } from "./resource-args.ts";
import { stderrLine } from "../stderr.ts";
import { UserError } from "../container/errors.ts";
import { mergeEnv, parseEnvEntry, readEnvFile } from "../container/env.ts";
import { defaultHostname } from "../container/create.ts";
import { generatedName, newId, validateName, type Store } from "../container/store.ts";
import { findContainer } from "../container/lookup.ts";
import { bridgeNetwork, sharedNetwork, type ContainerSpec, type EndpointOptions, type LogSpec, type NetworkMode, type PortSpec, type RootfsSpec, type TmpfsSpec } from "../container/spec.ts";
import { parseLabels } from "./labels.ts";
import { parseHealthcheck } from "./health-args.ts";
import { checkDistinctTargets, imageVolumes, parseMount, parseTmpfs, parseVolume, volumesFrom } from "./mount-args.ts";
import { parseCgroupns, parseCgroupParent, parseIpc, parsePid, parseUts } from "./namespace-args.ts";
import { liveContainer } from "../container/live.ts";
import { stateOf } from "../container/describe.ts";
import { DEFAULT_NETWORK, NETWORK_NAME } from "../net/network.ts";
import { parseAlias } from "../net/hosts.ts";
import { DEFAULT_CAPABILITIES } from "../security/capabilities.ts";
import { parseDevice, parseSecurityOpts, parseSysctl, parseUlimit, resolveCapabilities, type SecurityOptions } from "../security/options.ts";
import { compile, defaultFilterCompiled, profileFilter } from "../security/seccomp.ts";
import PREBUILT_DEFAULT_FILTER from "../../dist/seccomp-default.b64" with { type: "text" };
import { describeError } from "../sys/errors.ts";
import { deviceRulesEnforced } from "../cgroup/devices.ts";
import type { ResolvedImage } from "../image/store.ts";
import { exposedPort } from "../image/config.ts";
import { IPV4 } from "../net/ipv4.ts";
import type { ParsedFlags } from "./flags.ts";
import { buildResources, parseBytes } from "./resources.ts";
import { parseDaemonLogOptions } from "./log-driver-args.ts";
import { parseRestart } from "../container/restart.ts";
import { isRootless, signalNumber } from "../sys/process.ts";
import { workdirProblem } from "../container/workdir.ts";

const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

function str(v: ParsedFlags["values"][string]): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function list(v: ParsedFlags["values"][string]): string[] {
  return Array.isArray(v) ? v : [];
}

/** --label-file: one KEY=VALUE a line; blank lines and # comments are skipped (Docker's). */
function readLabelFile(path: string): string[] {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new UserError(`--label-file ${path}: ${describeError(e)}`);
  }
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}


/**
 * A detached container's log is bounded unless asked otherwise: 5 files of 20 MiB (Docker's
 * `local` log driver's defaults; its json-file driver grows for ever and fills a disk silently).
 */
export const DEFAULT_LOG: Readonly<Required<Pick<LogSpec, "maxSize" | "maxFiles">>> = { maxSize: 20 << 20, maxFiles: 5 };

/**
 * --log-driver json-file|local|none, --log-opt max-size=SIZE|-1, max-file=N, compress (Docker's
 * json-file and local options). `max-size=-1` is Docker's unbounded log: one file that grows as
 * long as the container writes. local is written as json-file is (box's one format, which box
 * logs reads); none writes nothing; syslog and journald send to those daemons (log-driver-args.ts).
 */
function parseLogOptions(driver: string | undefined, entries: string[]): LogSpec {
  if (driver === "none") {
    if (entries.length) throw new UserError("--log-opt: the none log driver takes no options");
    return { maxFiles: 1, driver: "none" };
  }
  if (driver === "journald" || driver === "syslog") return parseDaemonLogOptions(driver, entries);
  if (driver !== undefined && driver !== "json-file" && driver !== "local") throw new UserError(`invalid --log-driver "${driver}": json-file, local, none, syslog or journald`);
  const log: LogSpec = { ...DEFAULT_LOG };
  entries = entries.filter((e) => !/^compress=(true|false)$/.test(e));
  let unbounded = false;
  for (const e of entries) {
    const [key, value = ""] = e.split(/=(.*)/s);
    if (key === "max-size" && value === "-1") {
      unbounded = true;
    } else if (key === "max-size") {
      log.maxSize = parseBytes("--log-opt max-size", value);
      if (log.maxSize < 1) throw new UserError(`invalid value "${value}" for --log-opt max-size`);
    } else if (key === "max-file") {
      if (!/^\d{1,4}$/.test(value) || Number(value) < 1) throw new UserError(`invalid value "${value}" for --log-opt max-file: a number from 1`);
      log.maxFiles = Number(value);
    } else {
      throw new UserError(`unknown log opt "${key}" (max-size and max-file are supported)`);
    }
  }
  if (driver === "local") log.driver = "local";
  if (!unbounded) return log;
  if (entries.some((e) => e.startsWith("max-file="))) throw new UserError("--log-opt max-file needs a max-size other than -1");
  return { maxFiles: 1, ...(log.driver ? { driver: log.driver } : {}) };
}

/** `{[key]: parse(text)}` when the flag was given, else nothing (the spec leaves the field out). */
function optional<K extends string, T>(key: K, text: string | undefined, parse: (text: string) => T | undefined): { [k in K]?: T } {
  const value = text === undefined ? undefined : parse(text);
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: T };
}

function parseShmSize(text: string): number {
  const n = parseBytes("--shm-size", text);
  if (n < 1) throw new UserError(`invalid value "${text}" for --shm-size: must be greater than 0`);
  return n;
}

export function parseSeconds(flag: string, text: string): number {
  if (!/^-?\d{1,9}$/.test(text)) throw new UserError(`invalid value "${text}" for ${flag}: a number of seconds`);
  return Number(text);
}

function parseDomainname(text: string, hostUts: boolean): string {
  if (hostUts) throw new UserError("conflicting options: --domainname and --uts host");
  if (text.length > 64 || !HOSTNAME.test(text)) throw new UserError(`invalid domainname "${text}"`);
  return text;
}

function parseOomScoreAdj(text: string): number {
  const n = /^-?\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(n >= -1000 && n <= 1000)) throw new UserError(`invalid value "${text}" for --oom-score-adj: the range is -1000 to 1000`);
  return n;
}

function parseGroup(text: string): string {
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/.test(text) && !/^\d{1,10}$/.test(text)) throw new UserError(`invalid --group-add "${text}": a group name or gid`);
  return text;
}

/** `TYPE MAJOR:MINOR ACCESS` as the v1 devices cgroup takes it: c|b|a, numbers or *, a subset of rwm. */
function parseDeviceCgroupRule(text: string): string {
  const m = /^([cba]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/.exec(text.trim());
  if (!m || new Set(m[4]).size !== m[4]!.length) throw new UserError(`invalid --device-cgroup-rule "${text}": like 'c 42:* rmw'`);
  return text.trim();
}

function parseStopSignal(text: string | undefined): string | undefined {
  if (text !== undefined && signalNumber(text) === undefined) throw new UserError(`invalid signal "${text}" for --stop-signal`);
  return text;
}

/**
 * The payload's seccomp filter, compiled now (base64 of struct sock_filter[]): Docker's default
 * profile for its capabilities, a profile file, or none (unconfined, --privileged).
 */
function seccompFor(choice: SecurityOptions["seccomp"], capabilities: string[], privileged: boolean): string | undefined {
  if (privileged || choice === "unconfined") return undefined;
  if (choice === "default") return defaultFilterCompiled(capabilities, PREBUILT_DEFAULT_FILTER);
  let text: string;
  try {
    text = readFile(choice.path);
  } catch (e) {
    throw new UserError(`--security-opt seccomp=${choice.path}: ${describeError(e)}`);
  }
  return compile(profileFilter(text, capabilities)).toString("base64");
}

/** A mode, or a network's name (that it exists is checked when the container is created). */
function parseNetwork(v: ParsedFlags["values"][string], store: Store): NetworkMode {
  if (v === undefined || v === "default") return DEFAULT_NETWORK;
  if (typeof v !== "string") throw new UserError("--network is given more than once");
  const other = sharedNetwork(v);
  if (other !== undefined) return `container:${findContainer(store, other).id}`;
  if (!NETWORK_NAME.test(v)) throw new UserError(`invalid --network "${v}": bridge, none, host, container:NAME or a network's name`);
  return v;
}

/** --ip, --network-alias, --mac-address: only where the container has a link of its own (aliases and --ip: a user-defined network's). */
function parseEndpointOptions(v: ParsedFlags["values"], network: NetworkMode): EndpointOptions | undefined {
  const ip = str(v.ip);
  const aliases = list(v["network-alias"]).map((a) => parseAlias("--network-alias", a));
  const mac = str(v["mac-address"]);
  if (ip === undefined && !aliases.length && mac === undefined) return undefined;
  const userDefined = bridgeNetwork({ network }) !== undefined && network !== DEFAULT_NETWORK;
  if (ip !== undefined && !IPV4.test(ip)) throw new UserError(`invalid argument "${ip}" for "--ip" flag: an IPv4 address`);
  if (ip !== undefined && !userDefined) throw new UserError("user specified IP address is supported on user defined networks only");
  if (aliases.length && !userDefined) throw new UserError("network-scoped aliases are only supported for user-defined networks");
  if (mac !== undefined && bridgeNetwork({ network }) === undefined) throw new UserError(`conflicting options: --mac-address and --network ${network.replace(/^container:(.{12}).*/, "container:$1")}`);
  return { ...(ip !== undefined ? { ip } : {}), ...(aliases.length ? { aliases } : {}), ...(mac !== undefined ? { mac: parseMac(mac) } : {}) };
}

/** Docker's (Go's net.ParseMAC) spellings of a 6-byte MAC, as aa:bb:cc:dd:ee:ff; a link's must be unicast and not zero. */
function parseMac(text: string): string {
  const hex = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(text) ? text.replace(/[:-]/g, "") : /^[0-9a-f]{4}(\.[0-9a-f]{4}){2}$/i.test(text) ? text.replace(/\./g, "") : undefined;
  if (hex === undefined) throw new UserError(`${text} is not a valid mac address`);
  if (parseInt(hex.slice(0, 2), 16) & 1 || /^0+$/.test(hex)) throw new UserError(`invalid --mac-address ${text}: a container's MAC must be a unicast address other than 00:00:00:00:00:00`);
  return hex.toLowerCase().match(/../g)!.join(":");
}

function parseExtraHost(text: string): string {
  const colon = text.indexOf(":");
  const [name, ip] = [text.slice(0, colon), text.slice(colon + 1)];
  if (colon < 1 || !HOSTNAME.test(name) || !(IPV4.test(ip) || ip === "host-gateway" || /^[0-9a-fA-F:]+$/.test(ip))) throw new UserError(`invalid --add-host "${text}": NAME:IP (IP may be host-gateway)`);
  return text;
}

function parseDns(text: string): string {
  if (!IPV4.test(text) && !/^[0-9a-fA-F:]+:[0-9a-fA-F:]*$/.test(text)) throw new UserError(`invalid --dns "${text}": an IP address`);
  return text;
}

function resolverWord(flag: string) {
  return (text: string): string => {
    if (!/^[^\s#;]+$/.test(text)) throw new UserError(`invalid ${flag} "${text}"`);
    return text;
  };
}

function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new UserError(`invalid port "${text}" in --publish ${what}: a number from 1 to 65535`);
  return Number(text);
}

/** `PORT` or `FIRST-LAST`: the first and last port. */
function parsePortRange(text: string, what: string): [number, number] {
  const [first = "", last = first, ...rest] = text.split("-");
  const range: [number, number] = [parsePort(first, what), parsePort(last, what)];
  if (rest.length || range[1] < range[0]) throw new UserError(`invalid port range "${text}" in --publish ${what}: FIRST-LAST, FIRST not above LAST`);
  return range;
}

/**
 * -p [[IP:]HOST:]CONTAINER[/tcp|udp], each port a number or a range FIRST-LAST (Docker's rules:
 * ranges of the same length map port to port; a host range with one container port means any
 * free port of that range). Without a host port (or with an empty one) box picks a free one.
 */
function parsePublish(text: string): PortSpec[] {
  const [ports, protocol = "tcp", ...rest] = text.split("/");
  if (rest.length || (protocol !== "tcp" && protocol !== "udp")) throw new UserError(`invalid protocol in --publish ${text}: tcp or udp`);
  const parts = ports!.split(":");
  if (parts.length > 3) throw new UserError(`invalid --publish ${text}: [[IP:]HOST_PORT:]CONTAINER_PORT[/tcp|udp]`);
  const hostIp = parts.length === 3 ? parts[0] : undefined;
  if (hostIp !== undefined && hostIp !== "" && !IPV4.test(hostIp)) throw new UserError(`invalid IP address "${hostIp}" in --publish ${text}`);
  const hostText = parts.length > 1 ? parts.at(-2)! : "";
  const host = hostText === "" ? undefined : parsePortRange(hostText, text);
  const [first, last] = parsePortRange(parts.at(-1)!, text);
  const base = { protocol, ...(hostIp && hostIp !== "0.0.0.0" ? { hostIp } : {}) } as const;
  if (host && host[1] - host[0] !== last - first) {
    if (last !== first) throw new UserError(`invalid ranges specified for container and host Ports: ${parts.at(-1)} and ${hostText}`);
    return [{ ...base, hostPort: host[0], hostPortEnd: host[1], containerPort: first }];
  }
  return Array.from({ length: last - first + 1 }, (_, i) => ({ ...base, hostPort: host ? host[0] + i : 0, containerPort: first + i }));
}

/** -P: every exposed port (the image's EXPOSE and --expose) not published otherwise, on a free host port. */
function publishAll(exposed: string[], given: PortSpec[]): PortSpec[] {
  return exposed
    .map((e) => ({ containerPort: Number(e.split("/")[0]), protocol: e.split("/")[1] as PortSpec["protocol"] }))
    .filter((e) => !given.some((p) => p.containerPort === e.containerPort && p.protocol === e.protocol))
    .map((e) => ({ ...e, hostPort: 0 }));
}

/** --expose PORT[-LAST][/tcp|udp]: each port of the range (Docker's). */
function parseExpose(text: string): string[] {
  const m = /^(\d{1,5})-(\d{1,5})(\/.*)?$/.exec(text);
  const [first, last] = m ? [exposedPort(`${m[1]}${m[3] ?? ""}`), exposedPort(`${m[2]}${m[3] ?? ""}`)] : [exposedPort(text), exposedPort(text)];
  if (first === undefined || last === undefined || parseInt(last) < parseInt(first)) throw new UserError(`invalid --expose "${text}": PORT[-LAST] or PORT[-LAST]/tcp|udp`);
  const protocol = first.split("/")[1];
  return Array.from({ length: parseInt(last) - parseInt(first) + 1 }, (_, i) => `${parseInt(first) + i}/${protocol}`);
}

function parsePorts(texts: string[], network: NetworkMode, all: boolean, exposed: string[]): PortSpec[] {
  const given = texts.flatMap(parsePublish);
  const ports = [...given, ...(all ? publishAll(exposed, given) : [])];
  if (ports.length && bridgeNetwork({ network }) === undefined) throw new UserError(`--publish needs a bridge network (not --network ${network.replace(/^container:(.{12}).*/, "container:$1")})`);
  const seen = new Set<string>();
  for (const p of ports.filter((p) => p.hostPort !== 0 && p.hostPortEnd === undefined)) {
    const key = `${p.protocol}/${p.hostPort}`;
    if (seen.has(key)) throw new UserError(`--publish: host port ${p.hostPort}/${p.protocol} is given twice`);
    seen.add(key);
  }
  return ports;
}

/** `positionals` is IMAGE [COMMAND [ARG...]], or with --rootfs just [COMMAND [ARG...]]; `img` is
 * the image IMAGE names, resolved by the caller (which may have pulled it first). */
export function buildRunSpec(store: Store, flags: ParsedFlags, hostEnv: Record<string, string | undefined>, img?: ResolvedImage): ContainerSpec {
  const v = flags.values;
  const args = [...flags.positionals];
  let rootfs: RootfsSpec;
  let imageName: string;
  let image: ResolvedImage["config"] = {};
  const rootfsDir = str(v.rootfs);
  if (rootfsDir !== undefined) {
    const path = resolve(rootfsDir);
    let isDir = false;
    try {
      isDir = stat(path).isDirectory();
    } catch {}
    if (!isDir) throw new UserError(`rootfs ${rootfsDir} is not a directory`);
    rootfs = { kind: "dir", path };
    imageName = path;
  } else {
    if (args.shift() === undefined || img === undefined) throw new UserError(`"box run" requires an image or --rootfs DIR; see 'box run --help'`);
    rootfs = { kind: "image", ref: img.ref, id: img.id, layerDirs: img.layerDirs };
    imageName = img.ref;
    image = img.config;
  }

  const entrypointFlag = str(v.entrypoint);
  const entrypoint = entrypointFlag !== undefined ? (entrypointFlag === "" ? [] : [entrypointFlag]) : (image.Entrypoint ?? []);
  // Docker: a new entrypoint drops the image's Cmd.
  const cmd = args.length ? args : entrypointFlag !== undefined ? [] : (image.Cmd ?? []);
  const command = [...entrypoint, ...cmd];
  if (command.length === 0 || command[0] === "") throw new UserError("no command specified");

  const id = newId();
  const rootless = isRootless();
  if (rootless) refuseInRootless(v);
  const network = rootless ? "none" : parseNetwork(v.network, store);
  const name = str(v.name) !== undefined ? validateName(str(v.name)!) : generatedName(id);
  if (sharedNetwork(network) !== undefined) {
    // Docker's rule: the other container's network comes with its name and resolver settings.
    const given = ["hostname", "dns", "dns-search", "dns-option", "add-host", "publish", "expose"].find((f) => v[f] !== undefined && !(Array.isArray(v[f]) && v[f].length === 0));
    if (given) throw new UserError(`conflicting options: --${given} and --network container:NAME`);
  }
  const hostUts = parseUts(str(v.uts), str(v.hostname) !== undefined);
  const hostname = str(v.hostname) ?? defaultHostname({ id, network: hostUts ? "host" : network }, store);
  if (hostname.length > 64 || !HOSTNAME.test(hostname)) throw new UserError(`invalid hostname "${hostname}"`);

  const workdir = str(v.workdir) ?? (image.WorkingDir || "/");
  const badWorkdir = workdirProblem(workdir);
  if (badWorkdir) throw new UserError(`the working directory "${workdir}" is invalid: ${badWorkdir}`);

  const fromFiles = list(v["env-file"]).flatMap((f) => readEnvFile(f, hostEnv));
  const fromFlags = list(v.env).flatMap((e) => parseEnvEntry(e, hostEnv) ?? []);
  const user = str(v.user) ?? image.User ?? "";
  if (/[\s\0]/.test(user)) throw new UserError(`invalid user "${user}"`);

  // Where nothing stops a made node from being opened (no v1 devices controller, no v2 device
  // program), no container but a --privileged one gets CAP_MKNOD, not even when asked for.
  const capabilities = resolveCapabilities(DEFAULT_CAPABILITIES, list(v["cap-add"]), list(v["cap-drop"]), v.privileged === true).filter(
    (c) => c !== "MKNOD" || deviceRulesEnforced() || v.privileged === true,
  );
  const security = parseSecurityOpts(list(v["security-opt"]));
  const exposed = [...new Set([...Object.keys(image.ExposedPorts ?? {}), ...list(v.expose).flatMap(parseExpose)])];
  const userns = parseUserns(str(v.userns), list(v.uidmap), list(v.gidmap));
  if (userns && v.privileged === true) throw new UserError("conflicting options: --privileged and a user namespace (--userns, --uidmap)");
  // The init (PID 1, box itself, with box's privileges) is in the payload's pid namespace; only a
  // user namespace of the payload's own puts it out of reach of a tracer (docs/SECURITY.md).
  if (!userns && v.privileged !== true && capabilities.includes("SYS_PTRACE")) {
    stderrLine("warning", "with CAP_SYS_PTRACE the container's processes can trace box's init (PID 1), which has box's privileges: add --userns=auto to keep it out of their reach");
  }
  const restart = parseRestart(str(v.restart));
  if (restart.name !== "no" && v.rm === true) throw new UserError("conflicting options: --restart and --rm");
  const findRunning = (ref: string) => {
    const spec = findContainer(store, ref);
    return { spec, running: stateOf(liveContainer(store, spec)) === "running" };
  };
  const ipc = parseIpc(str(v.ipc), findRunning);
  const pidMode = parsePid(str(v.pid), findRunning);
  const hostCgroupns = parseCgroupns(str(v.cgroupns));
  const namespaces = { ...(hostUts ? { uts: "host" as const } : {}), ...(ipc.host ? { ipc: "host" as const } : {}) };
  if (rootless && (hostUts || ipc.mode !== "private" || hostCgroupns || pidMode)) throw new UserError("rootless: --uts, --ipc, --pid and --cgroupns need root");
  const mounts = list(v.mount).map(parseMount);
  const volumes = [
    ...list(v["volumes-from"]).flatMap((ref) => volumesFrom(ref, (r) => findContainer(store, r))),
    ...list(v.volume).map(parseVolume),
    ...mounts.flatMap((m) => (m.kind === "bind" ? [m.volume] : [])),
  ];
  const tmpfs: TmpfsSpec[] = [...list(v.tmpfs).map(parseTmpfs), ...mounts.flatMap((m) => (m.kind === "tmpfs" ? [m.tmpfs] : []))];
  checkDistinctTargets([...volumes.map((m) => m.target), ...tmpfs.map((m) => m.target)]);
  volumes.push(...imageVolumes(Object.keys(image.Volumes ?? {}), [...volumes.map((m) => m.target), ...tmpfs.map((m) => m.target)]));
  const healthcheck = parseHealthcheck(v, image.Healthcheck as Parameters<typeof parseHealthcheck>[1]);
  if (str(v.isolation) !== undefined && str(v.isolation) !== "default") throw new UserError(`invalid --isolation "${str(v.isolation)}": Linux has only "default"`);

  const endpointOptions = parseEndpointOptions(v, network);

  return {
    id,
    name,
    rootfs,
    imageName,
    command,
    hostname,
    env: mergeEnv(image.Env ?? [], fromFiles, fromFlags),
    workdir,
    user,
    volumes,
    ...(tmpfs.length ? { tmpfs } : {}),
    ...(Object.keys(namespaces).length ? { namespaces } : {}),
    ...(ipc.mode !== "private" ? { ipcMode: ipc.mode } : {}),
    ...(pidMode ? { pidMode } : {}),
    ...(hostCgroupns ? { hostCgroupns } : {}),
    ...optional("shmSize", str(v["shm-size"]), (t) => parseShmSize(t)),
    ...optional("stopTimeout", str(v["stop-timeout"]), (t) => parseSeconds("--stop-timeout", t)),
    ...optional("domainname", str(v.domainname), (t) => parseDomainname(t, hostUts)),
    ...optional("oomScoreAdj", str(v["oom-score-adj"]), parseOomScoreAdj),
    ...optional("cgroupParent", str(v["cgroup-parent"]), parseCgroupParent),
    ...(list(v["group-add"]).length ? { groupAdd: list(v["group-add"]).map(parseGroup) } : {}),
    ...(list(v["device-cgroup-rule"]).length ? { deviceCgroupRules: list(v["device-cgroup-rule"]).map(parseDeviceCgroupRule) } : {}),
    ...(list(v.annotation).length ? { annotations: parseLabels(list(v.annotation)) } : {}),
    ...(healthcheck ? { healthcheck } : {}),
    readOnly: v["read-only"] === true,
    remove: v.rm === true,
    interactive: v.interactive === true,
    tty: v.tty === true,
    network,
    ...(endpointOptions ? { endpointOptions } : {}),
    exposed,
    ports: parsePorts(list(v.publish), network, v["publish-all"] === true, exposed),
    extraHosts: list(v["add-host"]).map(parseExtraHost),
    dns: list(v.dns).map(parseDns),
    dnsSearch: list(v["dns-search"]).map(resolverWord("--dns-search")),
    dnsOptions: list(v["dns-option"]).map(resolverWord("--dns-option")),
    resources: buildResources(v),
    capabilities,
    privileged: v.privileged === true,
    noNewPrivileges: security.noNewPrivileges,
    seccomp: seccompFor(security.seccomp, capabilities, v.privileged === true),
    ulimits: list(v.ulimit).map(parseUlimit),
    devices: list(v.device).map(parseDevice),
    userns,
    ...(rootless ? { rootless } : {}),
    sysctls: sysctlsFor(network, list(v.sysctl), rootless),
    detach: v.detach === true,
    ...(list(v.attach).length ? { attach: [...new Set(list(v.attach).map((a) => a.toLowerCase() as "stdin" | "stdout" | "stderr"))] } : {}),
    labels: { ...(image.Labels ?? {}), ...parseLabels([...list(v["label-file"]).flatMap(readLabelFile), ...list(v.label)]) },
    log: parseLogOptions(str(v["log-driver"]), list(v["log-opt"])),
    restart,
    stopSignal: parseStopSignal(str(v["stop-signal"]) ?? image.StopSignal),
    created: new Date().toISOString(),
  };
}

/**
 * Docker's (20.10+) defaults in a network namespace of the container's own: any user may bind a
 * port below 1024 and ping (ICMP datagram sockets), which also makes both work for the root of
 * a user namespace, whose capabilities do not reach the network namespace. --sysctl wins.
 */
const OWN_NETWORK_SYSCTLS = { "net/ipv4/ip_unprivileged_port_start": "0", "net/ipv4/ping_group_range": "0 2147483647" };

function sysctlsFor(network: string, flags: string[], rootless: boolean): Record<string, string> {
  const shared = network === "host" || sharedNetwork(network) !== undefined;
  const given = Object.fromEntries(flags.map((s) => parseSysctl(s, shared)));
  if (shared) return given;
  // Rootless: its root has CAP_NET_RAW in its own network namespace anyway, and no group range
  // but root's is mapped in it (the kernel refuses the write).
  const defaults = rootless ? { "net/ipv4/ip_unprivileged_port_start": "0" } : OWN_NETWORK_SYSCTLS;
  return { ...defaults, ...given };
}

/**
 * What a rootless box cannot do yet, each refused with one line: a network other than its own lo
 * (no user-mode networking), cgroup limits (no delegated cgroup), host devices, --privileged,
 * user namespace flags (its user namespace is the one mapping root to the caller).
 */
function refuseInRootless(v: ParsedFlags["values"]): void {
  const given = (flag: string) => v[flag] !== undefined && v[flag] !== false && !(Array.isArray(v[flag]) && v[flag].length === 0);
  const why: Array<[string[], string]> = [
    [Object.keys(RESOURCE_ARGS), "needs cgroups, which a rootless box does not use yet"],
    [["publish", "publish-all", "ip", "network-alias", "mac-address"], "needs a bridge network, which a rootless box cannot make yet"],
    [["privileged", "device", "device-cgroup-rule", "cgroup-parent", "memory-swappiness", "blkio-weight-device", "oom-score-adj"], "needs root"],
    [["userns", "uidmap", "gidmap"], "needs root (a rootless container's user namespace maps root to you)"],
  ];
  for (const [flags, reason] of why) {
    const flag = flags.find(given);
    if (flag) throw new UserError(`rootless: --${flag} ${reason}`);
  }
  if (given("network") && v.network !== "none") throw new UserError(`rootless: --network ${String(v.network)} needs root (a rootless box has no user-mode networking yet); its containers have --network none`);
}
