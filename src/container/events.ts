// What box did, recorded by box itself: there is no daemon to remember it. Each event is one
// line of Docker's events.Message JSON appended to the store's journal (`events.log`), which
// `box events` reads and follows. One write(2) with O_APPEND per line, each shorter than
// PIPE_BUF, so lines of concurrent box processes (and of the watcher, src/sys/watch.c, which
// appends a container's end from a template made here) never mix. No fsync: an event is worth
// less than a millisecond of `box run`. Recording never fails what it records: a full disk or a
// missing store loses the event, nothing else.
// Bounded: past JOURNAL_LIMIT bytes the journal is renamed to events.log.1 (the older one goes),
// so the two files hold at most ~2 × JOURNAL_LIMIT (some 8,000 events).
import { close, fstat, open, read, rename, stat, tryLockExclusive, write } from "../sys/fs.ts";
import { O_APPEND, O_CREAT, O_RDONLY, O_WRONLY } from "../sys/constants.ts";
import { wallClockNanos } from "../sys/clock.ts";
import { join } from "../path.ts";
import { randomHex } from "../random.ts";
import type { ContainerSpec } from "./spec.ts";

export const JOURNAL = "events.log";
export const JOURNAL_LIMIT = 1 << 20;
/** Room under PIPE_BUF (4096) for the newline and the watcher's filled-in placeholders. */
const LINE_LIMIT = 4000;
/** Attributes kept when a line would be too long (the labels go first, then long values are cut). */
const CORE_ATTRIBUTES = new Set(["name", "image", "exitCode", "signal", "oldName", "execID", "container", "type", "imageID", "imageRef"]);

export type EventType = "container" | "image" | "network";

/** Docker's events.Message; `timeNano` is exact only as the journal's digits (past 2^53). */
export interface EventMessage {
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: string;
  time: number;
  timeNano: number;
}

/** A journal line read back: the message and its exact time. */
export interface JournalEvent {
  message: EventMessage;
  nanos: bigint;
}

/** What a container event says of its container: Docker's attributes are its labels, image and name. */
export type ContainerActor = Pick<ContainerSpec, "id" | "name"> & Partial<Pick<ContainerSpec, "imageName" | "labels">>;

/**
 * One journal line (with its newline). `time` is the seconds and nanoseconds as JSON number text:
 * digits, or the watcher's placeholders.
 */
function journalLine(type: EventType, action: string, id: string, attributes: Record<string, string>, time: { sec: string; nano: string }): string {
  const line = (attrs: Record<string, string>) => {
    const sorted = Object.fromEntries(Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    // Docker fills these deprecated fields for containers and images only.
    const legacy = type === "container" ? { status: action, id, ...(attrs.image ? { from: attrs.image } : {}) } : type === "image" ? { status: action, id } : {};
    const body = JSON.stringify({ ...legacy, Type: type, Action: action, Actor: { ID: id, Attributes: sorted }, scope: "local" });
    // "@" only ever inside strings: escaped, so no value can pass for a watcher's placeholder.
    return `${body.slice(0, -1).replaceAll("@", "\\u0040")},"time":${time.sec},"timeNano":${time.nano}}\n`;
  };
  let text = line(attributes);
  if (Buffer.byteLength(text) <= LINE_LIMIT) return text;
  const core = Object.fromEntries(Object.entries(attributes).filter(([k]) => CORE_ATTRIBUTES.has(k)));
  text = line(core);
  if (Buffer.byteLength(text) <= LINE_LIMIT) return text;
  return line(Object.fromEntries(Object.entries(core).map(([k, v]) => [k, v.slice(0, 256)])));
}

function timeNow(): { sec: string; nano: string } {
  const nanos = wallClockNanos();
  return { sec: String(nanos / 1_000_000_000n), nano: String(nanos) };
}

/** Appends one event to the journal of the store at `root` (a path, or a /proc/self/fd one). */
export function recordEvent(root: string, type: EventType, action: string, id: string, attributes: Record<string, string> = {}): void {
  try {
    append(join(root, JOURNAL), journalLine(type, action, id, attributes, timeNow()));
  } catch {
    // Lost: the operation it would have recorded goes on.
  }
}

function append(path: string, line: string): void {
  const fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600);
  try {
    write(fd, line, path);
    if (fstat(fd).size > JOURNAL_LIMIT) rotate(fd, path);
  } finally {
    close(fd);
  }
}

/**
 * The journal becomes events.log.1. Once per file: two writers may see it full, and the second,
 * renaming a new and nearly empty journal over the first's events.log.1, would lose those events.
 * So only the holder of the file's lock renames it, and only while it is still the journal.
 */
function rotate(fd: number, path: string): void {
  if (!tryLockExclusive(fd, path)) return;
  if (stat(path).ino === fstat(fd).ino) rename(path, `${path}.1`);
}

function containerAttributes(c: ContainerActor, extra: Record<string, string>): Record<string, string> {
  return { ...c.labels, ...(c.imageName !== undefined ? { image: c.imageName } : {}), name: c.name, ...extra };
}

export function recordContainerEvent(root: string, c: ContainerActor, action: string, extra: Record<string, string> = {}): void {
  recordEvent(root, "container", action, c.id, containerAttributes(c, extra));
}

/** The payload ended: `die`, and for --rm (the container removed with it) `destroy`. */
export function recordContainerEnd(root: string, c: ContainerActor & Pick<ContainerSpec, "remove">, code: number): void {
  recordContainerEvent(root, c, "die", { exitCode: String(code) });
  if (c.remove) recordContainerEvent(root, c, "destroy");
}

/**
 * The same lines for the watcher to append to the journal when the payload has ended: it fills
 * in @CODE@ (the exit code), @SEC@ and @NANO@ (the time), and writes them with one write(2).
 */
export function containerEndJournal(root: string, c: ContainerActor & Pick<ContainerSpec, "remove">): { path: string; template: string } {
  return { path: join(root, JOURNAL), template: containerEndTemplate(c) };
}

function containerEndTemplate(c: ContainerActor & Pick<ContainerSpec, "remove">): string {
  const time = { sec: "@SEC@", nano: "@NANO@" };
  // Every "@" of the strings is escaped: the exit code's placeholder goes in after, in place of a
  // token no label can hold.
  const token = randomHex(16);
  const lines = journalLine("container", "die", c.id, containerAttributes(c, { exitCode: token }), time).replace(token, "@CODE@");
  return c.remove ? lines + journalLine("container", "destroy", c.id, containerAttributes(c, {}), time) : lines;
}

/** `box exec`: exec_create and exec_start now (one step in box); the returned function records exec_die. */
export function recordExec(root: string, c: ContainerActor, command: string[]): (code: number) => void {
  const execID = randomHex(32);
  const shown = command.join(" ");
  recordContainerEvent(root, c, `exec_create: ${shown}`, { execID });
  recordContainerEvent(root, c, `exec_start: ${shown}`, { execID });
  return (code) => recordContainerEvent(root, c, "exec_die", { execID, exitCode: String(code) });
}

/** `id` is Docker's: a reference (pull, push) or "sha256:<id>"; `name` the name it was known by. */
export function recordImageEvent(root: string, action: string, id: string, name: string): void {
  recordEvent(root, "image", action, id, { name });
}

export function recordNetworkEvent(root: string, action: string, network: { id: string; name: string }, extra: Record<string, string> = {}): void {
  recordEvent(root, "network", action, network.id, { name: network.name, type: "bridge", ...extra });
}

/** Parses one journal line; undefined for a torn or foreign one (a full disk may leave half a line). */
function parseJournalLine(line: string): JournalEvent | undefined {
  const nano = /"timeNano":(\d{1,20})}$/.exec(line);
  if (!nano) return undefined;
  try {
    const message = JSON.parse(line) as EventMessage;
    if (typeof message !== "object" || message === null || typeof message.Type !== "string" || typeof message.Action !== "string" || typeof message.Actor?.ID !== "string") return undefined;
    message.Actor.Attributes ??= {};
    return { message, nanos: BigInt(nano[1]!) };
  } catch {
    return undefined;
  }
}

/**
 * Reads the journal of the store at `root` from its oldest event on, then what is appended to it,
 * across rotations: the open file is read to its end before the new journal is opened.
 */
export class JournalReader {
  private fd: number | undefined;
  private partial = "";
  private readonly path: string;
  private readonly buf = Buffer.allocUnsafe(65536);

  constructor(root: string) {
    this.path = join(root, JOURNAL);
  }

  /** Everything recorded so far, oldest first. */
  first(): JournalEvent[] {
    this.fd = this.tryOpen();
    const older = this.parse(this.readOlder());
    this.partial = "";
    return [...older, ...this.next()];
  }

  /** What was recorded since the last call. */
  next(): JournalEvent[] {
    if (this.fd === undefined) this.fd = this.tryOpen();
    if (this.fd === undefined) return [];
    let text = this.readOn(this.fd);
    let current: number | undefined;
    try {
      current = stat(this.path).ino;
    } catch {}
    if (current !== undefined && current !== fstat(this.fd).ino) {
      // Rotated: the rest of the old file (read above, and whatever came since), then the new one.
      text += this.readOn(this.fd);
      close(this.fd);
      this.fd = this.tryOpen();
      if (this.fd !== undefined) text += this.readOn(this.fd);
    }
    return this.parse(text);
  }

  close(): void {
    if (this.fd !== undefined) close(this.fd);
    this.fd = undefined;
  }

  private tryOpen(): number | undefined {
    try {
      return open(this.path, O_RDONLY);
    } catch {
      return undefined;
    }
  }

  /** events.log.1, unless it is the file already open (renamed meanwhile). */
  private readOlder(): string {
    const fd = (() => {
      try {
        return open(`${this.path}.1`, O_RDONLY);
      } catch {
        return undefined;
      }
    })();
    if (fd === undefined) return "";
    try {
      return this.fd !== undefined && fstat(fd).ino === fstat(this.fd).ino ? "" : this.readOn(fd);
    } finally {
      close(fd);
    }
  }

  private readOn(fd: number): string {
    const chunks: Buffer[] = [];
    for (let n; (n = read(fd, this.buf)) > 0; ) chunks.push(Buffer.from(this.buf.subarray(0, n)));
    return Buffer.concat(chunks).toString("utf8");
  }

  /** Whole lines of `text` after what was left over last time; a torn end waits for its rest. */
  private parse(text: string): JournalEvent[] {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop()!;
    return lines.flatMap((line) => parseJournalLine(line) ?? []);
  }
}
