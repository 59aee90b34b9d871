// The log of a detached container, in Docker's json-file format: one JSON object per line,
// {"log": "text\n", "stream": "stdout"|"stderr", "time": RFC 3339 with ns}. The init writes it
// (from the payload's pipes); `box logs` reads it.
//
// Rotation renames json.log to json.log.N, N one more than the last rotation's, and removes the
// one that is now max-file files old. Docker instead shifts every kept file's name by one; a
// reader that meets such a wave of renames halfway sees a gap, or one file twice. Here only
// json.log is ever renamed, so the files a reader lists are the same files a moment later.
import { close, exists, fstat, open, read, readdirIfExists, rename, seek, unlink, write } from "../sys/fs.ts";
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
export function logFile(dir: string, rotation = 0): string {
  return rotation === 0 ? `${dir}/${FILE}` : `${dir}/${FILE}.${rotation}`;
}

/** The numbers of the rotated files kept, oldest first. */
function rotations(dir: string): number[] {
  return readdirIfExists(dir)
    .flatMap((name) => /^json\.log\.([1-9]\d{0,15})$/.exec(name)?.[1] ?? [])
    .map(Number)
    .sort((a, b) => a - b);
}

/** The number the last rotation gave json.log (0: none yet); the watcher goes on from it. */
export function lastRotation(dir: string): number {
  return rotations(dir).at(-1) ?? 0;
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
  /** The last rotation's number, found when the first rotation needs it. */
  private rotation?: number;

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
    const kept = this.spec.maxFiles - 1;
    // 0: max-file 1, nothing is kept.
    const n = kept < 1 ? 0 : (this.rotation = (this.rotation ?? lastRotation(this.dir)) + 1);
    if (n) rename(logFile(this.dir), logFile(this.dir, n));
    else unlink(logFile(this.dir));
    this.fd = open(logFile(this.dir), O_WRONLY | O_CREAT | O_APPEND, 0o600);
    this.size = 0;
    // The one now max-file files old goes once the new file is there.
    if (n > kept && exists(logFile(this.dir, n - kept))) unlink(logFile(this.dir, n - kept));
  }

}

/** Where a follower is: the file it read last (by inode, which a rotation's rename keeps) and how far. */
export interface LogPosition {
  ino: number;
  offset: number;
}

/** A log file held open: a rotation renames it, or unlinks it, and it still reads the same. */
interface OpenLog {
  fd: number;
  ino: number;
}

function openLog(path: string): OpenLog | undefined {
  let fd: number;
  try {
    fd = open(path, O_RDONLY);
  } catch {
    return undefined;
  }
  return { fd, ino: fstat(fd).ino };
}

/**
 * The log's files held open, oldest first: json.log.N by N, then json.log (absent before the
 * writer made it, or for the moment between its rename and the new file; `current` when the
 * caller has it open already). json.log renamed between its opening and the listing is the
 * json.log.N of the same inode, in that place.
 */
function openLogFiles(dir: string, current = openLog(logFile(dir))): OpenLog[] {
  const files: OpenLog[] = [];
  for (const n of rotations(dir)) {
    // Gone since the listing: rotated out, as its lines are.
    const file = openLog(logFile(dir, n));
    if (!file) continue;
    if (file.ino === current?.ino) close(file.fd);
    files.push(file.ino === current?.ino ? current : file);
  }
  if (current && !files.includes(current)) files.push(current);
  return files;
}

function closeLogFiles(files: OpenLog[]): void {
  for (const file of files) close(file.fd);
}

/**
 * A line longer than this is no entry box wrote (16 KiB of text, JSON-escaped, is at most
 * ~100 KiB): it is skipped, and never held whole.
 */
const MAX_RECORD = 256 * 1024;

/**
 * Calls `visit` for each complete entry of an open log file from byte `from` on, reading it a
 * chunk at a time: a log is as large as its container made it, so it is never held whole. The
 * offset after the last complete line (a line still being written is left for the next read).
 */
function scanLog(fd: number, from: number, visit: (e: LogEntry) => void): number {
  seek(fd, from);
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

/** Reads `files` in order, the first from `from` on: the position after the last (`at` without files). */
function scanLogFiles(files: OpenLog[], from: number, at: LogPosition, visit: (e: LogEntry) => void): LogPosition {
  let position = at;
  for (const [i, file] of files.entries()) position = { ino: file.ino, offset: scanLog(file.fd, i === 0 ? from : 0, visit) };
  return position;
}

/**
 * Visits every entry still kept, oldest first; the position after them in the newest file (a
 * line still being written is left for the next read).
 */
export function readLog(dir: string, visit: (e: LogEntry) => void): LogPosition {
  const files = openLogFiles(dir);
  try {
    return scanLogFiles(files, 0, { ino: 0, offset: 0 }, visit);
  } finally {
    closeLogFiles(files);
  }
}

/** Where the log ends now: a follower from here sees only what comes next (box attach). */
export function logEnd(dir: string): LogPosition {
  const files = openLogFiles(dir);
  try {
    const newest = files.at(-1);
    return newest ? { ino: newest.ino, offset: fstat(newest.fd).size } : { ino: 0, offset: 0 };
  } finally {
    closeLogFiles(files);
  }
}

/**
 * Visits the entries added since `at`: the rest of the file it was in (json.log, or json.log.N
 * once rotated), then every newer one. Undefined when the log is gone (the container was removed).
 */
export function readLogSince(dir: string, at: LogPosition, visit: (e: LogEntry) => void): LogPosition | undefined {
  // Mostly json.log is still the file it was: no listing, one file opened.
  const current = openLog(logFile(dir));
  if (current?.ino === at.ino) {
    try {
      return { ino: at.ino, offset: scanLog(current.fd, at.offset, visit) };
    } finally {
      close(current.fd);
    }
  }
  const files = openLogFiles(dir, current);
  try {
    if (files.length === 0) return exists(dir) ? at : undefined;
    const read = files.findIndex((file) => file.ino === at.ino);
    // Not among them: rotated out of the kept files with its lines, as with Docker; all kept are newer.
    return read < 0 ? scanLogFiles(files, 0, at, visit) : scanLogFiles(files.slice(read), at.offset, at, visit);
  } finally {
    closeLogFiles(files);
  }
}
