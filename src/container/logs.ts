// The log of a detached container, in Docker's json-file format: one JSON object per line,
// {"log": "text\n", "stream": "stdout"|"stderr", "time": RFC 3339 with ns}. The init writes it
// (from the payload's pipes); `box logs` reads it. Rotation keeps json.log.1 … json.log.N-1.
import { close, exists, fstat, open, read, rename, seek, stat, unlink, write } from "../sys/fs.ts";
import { O_APPEND, O_CREAT, O_RDONLY, O_WRONLY } from "../sys/constants.ts";
import type { LogSpec } from "./spec.ts";

export type LogStream = "stdout" | "stderr";

export interface LogEntry {
  log: string;
  stream: LogStream;
  time: string;
}

const FILE = "json.log";
/** Docker splits lines longer than this into several entries. */
const MAX_LINE = 16 * 1024;

/** Whether box keeps a log it can read back: json-file and local do; none, syslog and journald do not. */
export function readableLog(log: LogSpec): boolean {
  return log.driver === undefined || log.driver === "local";
}

/** `dir` is the container's persistent directory (a /proc/self/fd path inside the init). */
export function logFile(dir: string, generation = 0): string {
  return generation === 0 ? `${dir}/${FILE}` : `${dir}/${FILE}.${generation}`;
}

/** Nanosecond precision as Docker prints it; the clock gives ms, the rest is zero. */
function timestamp(): string {
  return new Date().toISOString().replace("Z", "000000Z");
}

/**
 * Text from the payload's pipes cut into log entries as Docker's drivers get them: complete lines
 * (with their newline), and pieces of MAX_LINE of a longer one. What an entry becomes is the
 * subclass's: a json-file line, a syslog or journal message.
 */
export abstract class LogEntries {
  private readonly partial: Record<LogStream, string> = { stdout: "", stderr: "" };

  /** Text as it came from a pipe: complete lines become entries, the rest waits for more. */
  add(stream: LogStream, text: string): void {
    let pending = this.partial[stream] + text;
    for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
      this.entry(stream, pending.slice(0, nl + 1));
      pending = pending.slice(nl + 1);
    }
    while (pending.length >= MAX_LINE) {
      this.entry(stream, pending.slice(0, MAX_LINE));
      pending = pending.slice(MAX_LINE);
    }
    this.partial[stream] = pending;
  }

  /** At EOF: a last line without a newline is logged as it is. */
  flush(stream: LogStream): void {
    if (this.partial[stream]) this.entry(stream, this.partial[stream]);
    this.partial[stream] = "";
  }

  close(): void {
    this.flush("stdout");
    this.flush("stderr");
  }

  protected abstract entry(stream: LogStream, log: string): void;
}

/** The json-file log (json.log in the container's directory), rotated as its LogSpec says. */
export class LogWriter extends LogEntries {
  private fd: number;
  private size: number;

  constructor(
    private readonly dir: string,
    private readonly spec: LogSpec,
  ) {
    super();
    this.fd = open(logFile(dir), O_WRONLY | O_CREAT | O_APPEND, 0o600);
    this.size = fstat(this.fd).size;
  }

  override close(): void {
    super.close();
    close(this.fd);
  }

  protected entry(stream: LogStream, log: string): void {
    const line = `${JSON.stringify({ log, stream, time: timestamp() })}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.spec.maxSize !== undefined && this.size > 0 && this.size + bytes > this.spec.maxSize) this.rotate();
    write(this.fd, line);
    this.size += bytes;
  }

  private rotate(): void {
    close(this.fd);
    const last = this.spec.maxFiles - 1;
    if (last < 1) {
      unlink(logFile(this.dir));
    } else {
      if (exists(logFile(this.dir, last))) unlink(logFile(this.dir, last));
      for (let g = last - 1; g >= 1; g--) {
        if (exists(logFile(this.dir, g))) rename(logFile(this.dir, g), logFile(this.dir, g + 1));
      }
      rename(logFile(this.dir), logFile(this.dir, 1));
    }
    this.fd = open(logFile(this.dir), O_WRONLY | O_CREAT | O_APPEND, 0o600);
    this.size = 0;
  }
}

/** Where a follower is: the current file (by inode, which a rotation does not change) and how far. */
export interface LogPosition {
  ino: number;
  offset: number;
}

function inode(path: string): number {
  try {
    return stat(path).ino;
  } catch {
    return 0;
  }
}

/**
 * A line longer than this is no entry box wrote (16 KiB of text, JSON-escaped, is at most
 * ~100 KiB): it is skipped, and never held whole.
 */
const MAX_RECORD = 256 * 1024;

/**
 * Calls `visit` for each complete entry of the log file `path` from byte `from` on, reading it a
 * chunk at a time: a log is as large as its container made it, so it is never held whole. The
 * offset after the last complete line (a line still being written is left for the next read),
 * or undefined when there is no such file.
 */
function scanLog(path: string, from: number, visit: (e: LogEntry) => void): number | undefined {
  let fd: number;
  try {
    fd = open(path, O_RDONLY);
  } catch {
    return undefined;
  }
  try {
    if (from > 0) seek(fd, from, path);
    const buf = Buffer.allocUnsafe(65536);
    let pending = Buffer.alloc(0);
    let end = from;
    let oversized = false;
    for (let n; (n = read(fd, buf)) > 0; ) {
      const chunk = pending.length ? Buffer.concat([pending, buf.subarray(0, n)]) : buf.subarray(0, n);
      let start = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
        if (!oversized) parseEntry(chunk.subarray(start, nl), visit);
        oversized = false;
        start = nl + 1;
      }
      end += start;
      pending = Buffer.from(chunk.subarray(start));
      if (pending.length > MAX_RECORD) {
        oversized = true;
        end += pending.length;
        pending = Buffer.alloc(0);
      }
    }
    return end;
  } finally {
    close(fd);
  }
}

function parseEntry(line: Uint8Array, visit: (e: LogEntry) => void): void {
  let entry: LogEntry;
  try {
    entry = JSON.parse(Buffer.from(line).toString()) as LogEntry;
  } catch {
    // Torn by a crash mid-write: skipped, as Docker does.
    return;
  }
  visit(entry);
}

/**
 * Visits every entry still kept, oldest first; the position after them in the current file (a
 * line still being written is left for the next read).
 */
export function readLog(dir: string, maxFiles: number, visit: (e: LogEntry) => void): LogPosition {
  const position = { ino: inode(logFile(dir)), offset: 0 };
  for (let g = Math.max(0, maxFiles - 1); g >= 0; g--) {
    const end = scanLog(logFile(dir, g), 0, visit);
    if (g === 0) position.offset = end ?? 0;
  }
  return position;
}

/** Where the log ends now: a follower from here sees only what comes next (box attach). */
export function logEnd(dir: string): LogPosition {
  try {
    const st = stat(logFile(dir));
    return { ino: st.ino, offset: st.size };
  } catch {
    return { ino: 0, offset: 0 };
  }
}

/**
 * Visits the entries added since `at`. After a rotation the file that was current is json.log.1
 * (same inode): its rest comes first, then the new file from its start. Undefined when the log
 * is gone (the container was removed).
 */
/** Rotated files a reader looks through for the one it was reading (max-file is at most 9999). */
const MAX_KEPT = 10_000;

export function readLogSince(dir: string, at: LogPosition, visit: (e: LogEntry) => void): LogPosition | undefined {
  const current = inode(logFile(dir));
  if (current === 0) return undefined;
  let offset = at.offset;
  if (current !== at.ino) {
    // Rotated meanwhile, maybe more than once (a reader slowed down): the rest of the file it
    // was reading, then every newer one. Rotated out of the kept files, those lines are gone, as
    // with Docker.
    let n = 1;
    while (at.ino !== 0 && n < MAX_KEPT && inode(logFile(dir, n)) !== at.ino && inode(logFile(dir, n)) !== 0) n++;
    if (at.ino !== 0 && inode(logFile(dir, n)) === at.ino) {
      scanLog(logFile(dir, n), at.offset, visit);
      for (let newer = n - 1; newer >= 1; newer--) scanLog(logFile(dir, newer), 0, visit);
    }
    offset = 0;
  }
  const end = scanLog(logFile(dir), offset, visit);
  return end === undefined ? undefined : { ino: current, offset: end };
}

