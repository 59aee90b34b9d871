// The syslog and journald log drivers: each log entry of a detached container becomes one message
// to the host's daemon, as Docker's drivers write them (stdout at priority info, stderr at err).
// The init connects before it enters the container (host paths, box run's network namespace) and
// keeps the socket for the container's life.
import { readFile, readlink } from "../sys/fs.ts";
import { SOCK_DGRAM, SOCK_STREAM } from "../sys/constants.ts";
import { connectUnix } from "../sys/unix-socket.ts";
import { connectInet4, inNetworkNamespace, sendBytes, setSendTimeout } from "../sys/sockets.ts";
import { describeError } from "../sys/errors.ts";
import { UserError } from "./errors.ts";
import { LogEntries, type LogStream } from "./logs.ts";
import type { ContainerSpec, SyslogSpec } from "./spec.ts";

export const SYSLOG_SOCKET = "/dev/log";
export const JOURNAL_SOCKET = "/run/systemd/journal/socket";

/** What a tag template may name (Docker's fields). */
export const TAG_FIELDS = [".ID", ".FullID", ".Name", ".ImageID", ".ImageFullID", ".ImageName", ".DaemonName"];

/** A connect, or a send to a daemon that stopped reading, waits at most this long; the line is lost then. */
const SEND_TIMEOUT_MS = 5000;

const SEVERITY: Record<LogStream, number> = { stdout: 6, stderr: 3 };

/** One message per entry, to the daemon connected at construction. */
export class DriverLog extends LogEntries {
  constructor(private readonly message: (stream: LogStream, line: string) => Uint8Array, private readonly fd: number) {
    super();
  }

  protected entry(stream: LogStream, log: string): void {
    try {
      sendBytes(this.fd, this.message(stream, log.endsWith("\n") ? log.slice(0, -1) : log));
    } catch {
      // The daemon went away or stalled: the container runs on (Docker's drivers drop it too).
    }
  }
}

/**
 * For a detached container with --log-driver syslog or journald: the connection and the message
 * format. In the init, before pivot_root, with `hostNet` box run's network namespace.
 */
export function connectLogDriver(spec: ContainerSpec, hostNet: number): (() => DriverLog) | undefined {
  if (spec.log.driver !== "syslog" && spec.log.driver !== "journald") return undefined;
  const tag = expandTag(spec.log.tag ?? "{{.ID}}", spec);
  try {
    if (spec.log.driver === "journald") {
      const fd = connectUnix(JOURNAL_SOCKET, SOCK_DGRAM);
      setSendTimeout(fd, SEND_TIMEOUT_MS);
      return () => new DriverLog((stream, line) => journalMessage(spec, tag, SEVERITY[stream], line), fd);
    }
    const syslog = spec.log.syslog!;
    const fd = connectSyslog(syslog, hostNet);
    // The host's: this process has a UTS namespace of its own, not yet renamed, and the host's /proc.
    const host = { hostname: readFile("/proc/sys/kernel/hostname").trim(), pid: Number(readlink("/proc/self")) };
    return () => new DriverLog((stream, line) => Buffer.from(syslogMessage(syslog, host, tag, syslog.facility * 8 + SEVERITY[stream], line)), fd);
  } catch (e) {
    throw new UserError(`failed to initialize logging driver: ${spec.log.driver}: ${describeError(e)}`);
  }
}

function connectSyslog(syslog: SyslogSpec, hostNet: number): number {
  const a = syslog.address;
  let fd: number;
  if (!a) {
    // Docker's (srslog's) local syslog: a datagram socket, else a stream one.
    try {
      fd = connectUnix(SYSLOG_SOCKET, SOCK_DGRAM);
    } catch {
      fd = connectUnix(SYSLOG_SOCKET, SOCK_STREAM);
    }
  } else if ("path" in a) {
    fd = connectUnix(a.path, a.scheme === "unix" ? SOCK_STREAM : SOCK_DGRAM);
  } else {
    return inNetworkNamespace(hostNet, () => connectInet4(a.host, a.port, a.scheme === "tcp" ? SOCK_STREAM : SOCK_DGRAM, SEND_TIMEOUT_MS));
  }
  setSendTimeout(fd, SEND_TIMEOUT_MS);
  return fd;
}

function expandTag(template: string, spec: ContainerSpec): string {
  const imageId = spec.rootfs.kind === "image" ? spec.rootfs.id.replace(/^sha256:/, "") : "";
  const values: Record<string, string> = {
    ".ID": spec.id.slice(0, 12),
    ".FullID": spec.id,
    ".Name": spec.name,
    ".ImageID": imageId.slice(0, 12),
    ".ImageFullID": imageId,
    ".ImageName": spec.imageName,
    ".DaemonName": "box",
  };
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, field: string) => values[field] ?? "");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** Go's time.Stamp, local time: "Jan _2 15:04:05". */
function stamp(d: Date): string {
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Go's RFC 3339 in local time, with microseconds for rfc5424micro. */
function rfc3339(d: Date, micro: boolean): string {
  const offset = -d.getTimezoneOffset();
  const zone = offset === 0 ? "Z" : `${offset > 0 ? "+" : "-"}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`;
  const fraction = micro ? `.${String(d.getMilliseconds()).padStart(3, "0")}000` : "";
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}${fraction}${zone}`;
}

/** Docker's formats (srslog's, with the tag as RFC 5424's app name and message id); each ends in a newline. */
export function syslogMessage(syslog: Pick<SyslogSpec, "format">, host: { hostname: string; pid: number }, tag: string, priority: number, line: string, now = new Date()): string {
  const text = `${line}\n`;
  switch (syslog.format) {
    case "":
      return `<${priority}>${stamp(now)} ${tag}[${host.pid}]: ${text}`;
    case "rfc3164":
      return `<${priority}>${stamp(now)} ${host.hostname} ${tag}[${host.pid}]: ${text}`;
    default:
      return `<${priority}>1 ${rfc3339(now, syslog.format === "rfc5424micro")} ${host.hostname} ${tag} ${host.pid} ${tag} - ${text}`;
  }
}

/** journald's native protocol: KEY=value lines, or KEY, a 64-bit length and the bytes for a value with a newline. */
function journalMessage(spec: ContainerSpec, tag: string, priority: number, line: string): Uint8Array {
  const fields: [string, string][] = [
    ["MESSAGE", line],
    ["PRIORITY", String(priority)],
    ["CONTAINER_ID", spec.id.slice(0, 12)],
    ["CONTAINER_ID_FULL", spec.id],
    ["CONTAINER_NAME", spec.name],
    ["CONTAINER_TAG", tag],
    ["IMAGE_NAME", spec.imageName],
    ["SYSLOG_IDENTIFIER", tag],
  ];
  const parts: Buffer[] = [];
  for (const [key, value] of fields) {
    if (!value.includes("\n")) {
      parts.push(Buffer.from(`${key}=${value}\n`));
      continue;
    }
    const bytes = Buffer.from(value);
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(bytes.length));
    parts.push(Buffer.from(`${key}\n`), size, bytes, Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}
