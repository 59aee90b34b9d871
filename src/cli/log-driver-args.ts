// --log-driver syslog|journald and their --log-opt entries, as Docker's drivers take them.
import { exists } from "../sys/fs.ts";
import { IPV4 } from "../net/ipv4.ts";
import { UserError } from "../container/errors.ts";
import { JOURNAL_SOCKET, SYSLOG_SOCKET, TAG_FIELDS } from "../container/log-drivers.ts";
import type { LogSpec, SyslogSpec } from "../container/spec.ts";

const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

const FORMATS = ["", "rfc3164", "rfc5424", "rfc5424micro"] as const;

/** Docker's options that box does not honour: refused by name, never ignored. */
const UNSUPPORTED = ["env", "env-regex", "labels", "labels-regex", "syslog-tls-ca-cert", "syslog-tls-cert", "syslog-tls-key", "syslog-tls-skip-verify"];

/** The daemons' drivers: one validated LogSpec (the connection is made by the init, which starts the container). */
export function parseDaemonLogOptions(driver: "syslog" | "journald", entries: string[]): LogSpec {
  const log: LogSpec = { maxFiles: 1, driver };
  const syslog: SyslogSpec = { facility: FACILITIES.daemon!, format: "" };
  for (const e of entries) {
    const [key = "", value = ""] = e.split(/=(.*)/s);
    if (key === "tag") log.tag = parseTag(value);
    else if (driver === "syslog" && key === "syslog-address") syslog.address = value === "" ? undefined : parseAddress(value);
    else if (driver === "syslog" && key === "syslog-facility") syslog.facility = parseFacility(value);
    else if (driver === "syslog" && key === "syslog-format") syslog.format = parseFormat(value);
    else if (UNSUPPORTED.includes(key)) throw new UserError(`--log-opt ${key} is not supported by box's ${driver} driver`);
    else throw new UserError(`unknown log opt '${key}' for ${driver} log driver`);
  }
  if (driver === "journald") {
    if (!exists(JOURNAL_SOCKET)) throw new UserError(`--log-driver journald: journald is not enabled on this host (no ${JOURNAL_SOCKET})`);
    return log;
  }
  // Docker finds out when the container starts; box says so before it makes one.
  if (!syslog.address && !exists(SYSLOG_SOCKET)) throw new UserError(`--log-driver syslog: no syslog daemon listens on ${SYSLOG_SOCKET} (give --log-opt syslog-address)`);
  return { ...log, syslog };
}

/** Go template fields only (Docker's tag is one); anything else in braces is refused. */
function parseTag(text: string): string {
  for (const m of text.matchAll(/\{\{\s*(.*?)\s*\}\}/g)) {
    if (!TAG_FIELDS.includes(m[1]!)) throw new UserError(`--log-opt tag: box knows only ${TAG_FIELDS.map((f) => `{{${f}}}`).join(" ")} in a tag, not {{${m[1]}}}`);
  }
  return text;
}

/** unix:///path, unixgram:///path, udp://IP[:PORT], tcp://IP[:PORT] (514 unless told), as Docker's. */
function parseAddress(text: string): NonNullable<SyslogSpec["address"]> {
  const m = /^([a-z+]+):\/\/(.*)$/.exec(text);
  if (!m) throw new UserError(`--log-opt syslog-address: "${text}" is no address (unixgram:///dev/log, udp://HOST:PORT ...)`);
  const [, scheme, rest] = m as unknown as [string, string, string];
  if (scheme === "unix" || scheme === "unixgram") {
    if (!rest.startsWith("/")) throw new UserError(`--log-opt syslog-address: "${text}" needs an absolute path`);
    if (!exists(rest)) throw new UserError(`--log-opt syslog-address: stat ${rest}: no such file or directory`);
    return { scheme, path: rest };
  }
  if (scheme === "tcp+tls") throw new UserError("--log-opt syslog-address: tcp+tls is not supported by box (use tcp or udp)");
  if (scheme !== "udp" && scheme !== "tcp") throw new UserError(`--log-opt syslog-address: unsupported scheme: '${scheme}'`);
  const hp = /^([^:/]+)(?::(\d{1,5}))?\/?$/.exec(rest);
  const host = hp?.[1] === "localhost" ? "127.0.0.1" : hp?.[1];
  const port = Number(hp?.[2] ?? 514);
  if (!host || !IPV4.test(host) || port < 1 || port > 65535) throw new UserError(`--log-opt syslog-address: "${text}": box takes an IPv4 address (or localhost) and a port`);
  return { scheme, host, port };
}

function parseFacility(text: string): number {
  if (text in FACILITIES) return FACILITIES[text]!;
  if (/^\d{1,2}$/.test(text) && Number(text) <= 23) return Number(text);
  throw new UserError(`invalid syslog facility "${text}": ${Object.keys(FACILITIES).join(", ")} or 0-23`);
}

function parseFormat(text: string): SyslogSpec["format"] {
  const format = FORMATS.find((f) => f === text);
  if (format === undefined) throw new UserError(`invalid syslog format "${text}": rfc3164, rfc5424 or rfc5424micro`);
  return format;
}
