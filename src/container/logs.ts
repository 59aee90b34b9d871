// The log of a detached container, in Docker's json-file format: one JSON object per line,
// {"log": "text\n", "stream": "stdout"|"stderr", "time": RFC 3339 with ns}. The init writes it
// (from the payload's pipes); `box logs` reads it. Rotation keeps json.log.1 … json.log.N-1.
import { close, exists, fstat, open, readFileBytes, rename, stat, unlink, write } from "../sys/fs.ts";
import { O_APPEND, O_CREAT, O_WRONLY } from "../sys/constants.ts";
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

/** `dir` is the container's persistent directory (a /proc/self/fd path inside the init). */
export function logFile(dir: string, generation = 0): string {
  return generation === 0 ? `${dir}/${FILE}` : `${dir}/${FILE}.${generation}`;
}

/** Nanosecond precision as Docker prints it; the clock gives ms, the rest is zero. */
function timestamp(): string {
  return new Date().toISOString().replace("Z", "000000Z");
}

export class LogWriter {
  private fd: number;
  private size: number;
  private readonly partial: Record<LogStream, string> = { stdout: "", stderr: "" };

  constructor(
    private readonly dir: string,
    private readonly spec: LogSpec,
  ) {
    this.fd = open(logFile(dir), O_WRONLY | O_CREAT | O_APPEND, 0o600);
    this.size = fstat(this.fd).size;
  }

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
    close(this.fd);
  }

  private entry(stream: LogStream, log: string): void {
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

/** Complete lines of `bytes` from `from`; the end of the last one. */
function linesFrom(bytes: Buffer, from: number): { entries: LogEntry[]; end: number } {
  const end = Math.max(from, bytes.lastIndexOf(0x0a) + 1);
  return { entries: parseLog(bytes.subarray(from, end).toString()), end };
}

/**
 * Every entry still kept, oldest first, and the position after them in the current file (a
 * line still being written is left for the next read).
 */
export function readLog(dir: string, maxFiles: number): { entries: LogEntry[]; position: LogPosition } {
  const entries: LogEntry[] = [];
  const position = { ino: inode(logFile(dir)), offset: 0 };
  for (let g = Math.max(0, maxFiles - 1); g >= 0; g--) {
    let bytes: Buffer;
    try {
      bytes = readFileBytes(logFile(dir, g));
    } catch {
      continue;
    }
    const read = linesFrom(bytes, 0);
    entries.push(...read.entries);
    if (g === 0) position.offset = read.end;
  }
  return { entries, position };
}

/**
 * Entries added since `at`. After a rotation the file that was current is json.log.1 (same
 * inode): its rest comes first, then the new file from its start. Undefined when the log is
 * gone (the container was removed).
 */
export function readLogSince(dir: string, at: LogPosition): { entries: LogEntry[]; position: LogPosition } | undefined {
  const current = inode(logFile(dir));
  if (current === 0) return undefined;
  const entries: LogEntry[] = [];
  let offset = at.offset;
  if (current !== at.ino) {
    if (at.ino !== 0 && inode(logFile(dir, 1)) === at.ino) {
      try {
        entries.push(...linesFrom(readFileBytes(logFile(dir, 1)), at.offset).entries);
      } catch {
        // Rotated away once more meanwhile: those lines are gone, as with Docker.
      }
    }
    offset = 0;
  }
  let bytes: Buffer;
  try {
    bytes = readFileBytes(logFile(dir));
  } catch {
    return undefined;
  }
  const read = linesFrom(bytes, Math.min(offset, bytes.length));
  entries.push(...read.entries);
  return { entries, position: { ino: current, offset: read.end } };
}

export function parseLog(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as LogEntry);
    } catch {
      // Torn by a crash mid-write: skipped, as Docker does.
    }
  }
  return out;
}
