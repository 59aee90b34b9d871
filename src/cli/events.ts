// `box events`: what box did, from the store's journal (src/container/events.ts), in Docker's
// output, filters and time bounds. Without --until it follows the journal until a signal, or
// until nobody reads its output any more.
import { defineCommand } from "citty";
import { goDuration } from "../duration.ts";
import { UserError } from "../container/errors.ts";
import { JournalReader, type JournalEvent } from "../container/events.ts";
import { isErrno, write } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { exitNow, setBlocking } from "../sys/process.ts";
import { readerGone } from "../sys/poll.ts";
import { wallClockNanos } from "../sys/clock.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { renderTemplate } from "./template.ts";

const POLL_MS = 100;
const NANOS = 1_000_000_000n;

/** Docker's accepted keys; those of objects box has no events of (volumes, plugins...) match none. */
const FILTER_KEYS = ["container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope", "service", "type", "volume", "config", "secret"];
/** Keys that match an event's actor by id or name (a prefix of either), whatever its type: Docker's fuzzyMatchName. */
const ACTOR_KEYS = ["container", "daemon", "network", "node", "plugin", "service", "volume", "config", "secret"];

type Filters = Map<string, Set<string>>;

function parseFilters(entries: string[]): Filters {
  const filters: Filters = new Map();
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new UserError(`invalid argument "${entry}" for "-f, --filter" flag: bad format of filter (expected name=value)`);
    const key = entry.slice(0, eq).toLowerCase();
    if (!FILTER_KEYS.includes(key)) throw new UserError(`invalid filter '${entry.slice(0, eq)}'`);
    filters.set(key, (filters.get(key) ?? new Set()).add(entry.slice(eq + 1)));
  }
  return filters;
}

/** Go's filters.Args: no values for the key matches everything. */
function exact(filters: Filters, key: string, value: string | undefined): boolean {
  const values = filters.get(key);
  return !values || (value !== undefined && values.has(value));
}

function fuzzy(filters: Filters, key: string, value: string | undefined): boolean {
  const values = filters.get(key);
  return !values || (value !== undefined && [...values].some((v) => value.startsWith(v)));
}

/** "busybox:latest" → "busybox" (a port's colon is no tag's). */
function stripTag(ref: string): string {
  const at = ref.indexOf("@");
  const named = at < 0 ? ref : ref.slice(0, at);
  const colon = named.lastIndexOf(":");
  return colon > named.lastIndexOf("/") ? named.slice(0, colon) : named;
}

/** Docker's rules (daemon/events/filter.go): values of one key are alternatives, keys all apply; labels all apply. */
function matches(e: JournalEvent["message"], filters: Filters): boolean {
  const attrs = e.Actor.Attributes;
  // exec_create and exec_start carry the command after a colon: "event=exec_start" matches them.
  const event = [...(filters.get("event") ?? [])].some((v) => ["exec_create", "exec_start", "health_status"].includes(v)) ? fuzzy(filters, "event", e.Action) : exact(filters, "event", e.Action);
  const imageName = attrs[e.Type === "image" ? "name" : "image"];
  const image = [e.Actor.ID, imageName, stripTag(e.Actor.ID), imageName === undefined ? undefined : stripTag(imageName)].some((v) => exact(filters, "image", v));
  const labels = [...(filters.get("label") ?? [])].every((l) => {
    const eq = l.indexOf("=");
    const key = eq < 0 ? l : l.slice(0, eq);
    return Object.hasOwn(attrs, key) && (eq < 0 || attrs[key] === l.slice(eq + 1));
  });
  return (
    event &&
    image &&
    labels &&
    exact(filters, "type", e.Type) &&
    exact(filters, "scope", e.scope) &&
    ACTOR_KEYS.every((key) => fuzzy(filters, key, e.Actor.ID) || fuzzy(filters, key, attrs.name))
  );
}

/** "2026-12-07", "2026-12-07T06:15", "2026-12-07T06:15:34.5+01:00"...; without a zone, local time. */
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/;

function parseDate(text: string): bigint | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = m;
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  const utc = Date.UTC(...parts);
  const check = new Date(utc);
  // Date.UTC rolls 2020-13-01 over into 2021: Go refuses it.
  if (check.getUTCMonth() !== parts[1] || check.getUTCDate() !== parts[2] || parts[3] > 23 || parts[4] > 59 || parts[5] > 59) return undefined;
  let ms: number;
  if (zone === undefined) ms = new Date(...parts).getTime();
  else if (zone === "Z" || zone === "z") ms = utc;
  else ms = utc - (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  return BigInt(ms) * 1_000_000n + BigInt(frac.padEnd(9, "0"));
}

/**
 * --since/--until as Docker reads them (timetypes.GetTimestamp): a Go duration before now (whole
 * seconds), an RFC 3339 time or date, or Unix seconds with an optional fraction. Nanoseconds.
 */
export function parseEventTime(text: string, flag: string, now: bigint): bigint {
  const duration = text === "0" ? undefined : goDuration(text);
  if (duration !== undefined) return ((now - BigInt(Math.round(duration))) / NANOS) * NANOS;
  const date = parseDate(text);
  if (date !== undefined) return date;
  const unix = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!unix) throw new UserError(text.includes("-") ? `invalid value "${text}" for ${flag}: not an RFC 3339 time (2006-01-02T15:04:05Z07:00)` : `failed to parse value as time or duration: "${text}"`);
  return BigInt(unix[1]!) * NANOS + BigInt((unix[2] ?? "").slice(0, 9).padEnd(9, "0"));
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Go's RFC3339NanoFixed in the local zone: 2026-12-07T06:15:34.123456789Z, or ...+01:00. */
function showTime(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const offset = -new Date(ms).getTimezoneOffset();
  const local = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
  const zone = offset === 0 ? "Z" : `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${local}.${pad(Number(nanos % NANOS), 9)}${zone}`;
}

/** Docker's text line: time, type, action, actor, and the attributes sorted by key. */
function textLine({ message: m, nanos }: JournalEvent): string {
  const attrs = Object.keys(m.Actor.Attributes).sort().map((k) => `${k}=${m.Actor.Attributes[k]}`);
  return `${showTime(nanos)} ${m.Type} ${m.Action} ${m.Actor.ID}${attrs.length ? ` (${attrs.join(", ")})` : ""}`;
}

/** Docker's JSON (`--format json`, `{{json .}}`), with the exact nanoseconds. */
function jsonLine({ message: m, nanos }: JournalEvent): string {
  const { time: _t, timeNano: _n, ...rest } = m;
  return `${JSON.stringify(rest).slice(0, -1)},"time":${nanos / NANOS},"timeNano":${nanos}}`;
}

/** The fields a template sees: Go's names of events.Message's. */
function templateData(e: JournalEvent): Record<string, unknown> {
  const m = e.message;
  return {
    Status: m.status ?? "",
    ID: m.id ?? "",
    From: m.from ?? "",
    Type: m.Type,
    Action: m.Action,
    Actor: m.Actor,
    Scope: m.scope,
    Time: Number(e.nanos / NANOS),
    TimeNano: e.nanos,
    toJSON: () => JSON.parse(jsonLine({ ...e, nanos: e.nanos })),
  };
}

/** False when nobody reads any more. */
function emit(text: string): boolean {
  try {
    write(1, text);
    return true;
  } catch (e) {
    if (isErrno(e, Errno.EPIPE)) return false;
    throw e;
  }
}

export const eventsCommand = defineCommand({
  meta: { name: "events", description: "Print what box does to containers, images and networks, as it happens" },
  args: {
    filter: { type: "string", alias: "f", description: "container=, event=, image=, label=KEY[=VALUE], network=, type= (repeatable)", valueHint: "KEY=VALUE" },
    format: { type: "string", description: "json (one object per line), or a template: '{{.Action}} {{.Actor.Attributes.name}}'", valueHint: "FORMAT" },
    since: { type: "string", description: "Show events since this time (RFC 3339, Unix seconds, or a duration before now: 10m)", valueHint: "TIME" },
    until: { type: "string", description: "Stop at this time (as --since); without it, follow new events", valueHint: "TIME" },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["filter"], false);
    if (flags.help) return printHelp(cmd, ["box events", "box events --since 10m --until 0s --filter type=container", "box events --filter event=die --format '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}'"]);
    if (flags.positionals.length) throw new UserError(`"box events" accepts no arguments`);
    const now = wallClockNanos();
    const since = flags.values.since === undefined ? undefined : parseEventTime(flags.values.since as string, "--since", now);
    const until = flags.values.until === undefined ? undefined : parseEventTime(flags.values.until as string, "--until", now);
    if (since !== undefined && until !== undefined && until < since) throw new UserError(`\`since\` time (${flags.values.since}) cannot be after \`until\` time (${flags.values.until})`);
    const filters = parseFilters((flags.values.filter as string[] | undefined) ?? []);
    const format = flags.values.format as string | undefined;
    const render = format === undefined || format === "" ? textLine : format === "json" ? jsonLine : (e: JournalEvent) => renderTemplate(format, templateData(e));

    // Bun leaves stdout non-blocking: a full pipe would fail a write half done.
    setBlocking(1);
    const reader = new JournalReader(globals().store.root);
    const show = (events: JournalEvent[]) => {
      const lines = events.filter((e) => (since === undefined || e.nanos >= since) && (until === undefined || e.nanos <= until) && matches(e.message, filters)).map((e) => `${render(e)}\n`);
      if (lines.length && !emit(lines.join(""))) exitNow(0);
    };
    // As Docker: the past only when asked for (--since, or --until alone), else only what comes.
    const past = reader.first();
    if (since !== undefined || until !== undefined) show(past);
    if (until !== undefined && until <= wallClockNanos()) return;

    let stop: number | undefined;
    for (const [name, signal] of [["SIGINT", 2], ["SIGTERM", 15], ["SIGHUP", 1]] as const) process.on(name, () => (stop = signal));
    for (;;) {
      await Bun.sleep(POLL_MS);
      show(reader.next());
      if (stop !== undefined) exitNow(128 + stop);
      if (until !== undefined && wallClockNanos() > until) break;
      if (readerGone(1)) exitNow(0);
    }
    show(reader.next());
    reader.close();
  },
});
