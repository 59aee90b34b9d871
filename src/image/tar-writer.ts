// A tar writer (ustar, with pax records for what ustar cannot hold: long names, big sizes and
// ids), writing straight to a file descriptor: `box save`, `box export` and `box commit`.
import { readSync } from "node:fs";
import { writeWaiting } from "../sys/fs.ts";

export interface TarWriteHeader {
  path: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "fifo";
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  size?: number;
  linkname?: string;
}

const BLOCK = 512;
const TYPE_FLAGS = { file: "0", hardlink: "1", symlink: "2", dir: "5", fifo: "6" } as const;
const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;
const COPY_CHUNK = 1 << 20;

export class TarWriter {
  private readonly copyBuffer = Buffer.allocUnsafe(COPY_CHUNK);

  constructor(private readonly fd: number) {}

  /** An entry; a file's body comes from `body` (bytes, or an open file read to its `size`). */
  add(header: TarWriteHeader, body?: Uint8Array | { fd: number }): void {
    const size = header.type === "file" ? (header.size ?? (body instanceof Uint8Array ? body.length : 0)) : 0;
    const pax: Record<string, string> = {};
    const path = header.type === "dir" && !header.path.endsWith("/") ? `${header.path}/` : header.path;
    if (Buffer.byteLength(path) > 100 || !isAscii(path)) pax.path = path;
    const linkname = header.linkname ?? "";
    if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) pax.linkpath = linkname;
    if (size > MAX_OCTAL_12) pax.size = String(size);
    if (header.uid > MAX_OCTAL_8) pax.uid = String(header.uid);
    if (header.gid > MAX_OCTAL_8) pax.gid = String(header.gid);
    if (Object.keys(pax).length) {
      const records = Buffer.from(Object.entries(pax).map(([k, v]) => paxRecord(k, v)).join(""));
      this.emit(headerBlock({ ...header, path: "././@PaxHeader", type: "file", linkname: "" }, records.length, "x"));
      this.emit(records);
      this.pad(records.length);
    }
    this.emit(headerBlock({ ...header, path, linkname }, size, TYPE_FLAGS[header.type]));
    if (header.type !== "file") return;
    if (body instanceof Uint8Array) this.emit(body);
    else if (body) this.copyFile(body.fd, size);
    this.pad(size);
  }

  /** The two zero blocks that end an archive. */
  finish(): void {
    this.emit(Buffer.alloc(BLOCK * 2));
  }

  // Exactly `size` bytes: a file that shrank meanwhile (a running container's log) is padded with
  // zeros, as GNU tar does, so the archive stays well-formed.
  private copyFile(fd: number, size: number): void {
    let left = size;
    while (left > 0) {
      const n = readSync(fd, this.copyBuffer, 0, Math.min(left, COPY_CHUNK), null);
      if (n === 0) {
        this.emit(Buffer.alloc(Math.min(left, COPY_CHUNK)));
        left -= Math.min(left, COPY_CHUNK);
        continue;
      }
      this.emit(this.copyBuffer.subarray(0, n));
      left -= n;
    }
  }

  private pad(size: number): void {
    const rest = size % BLOCK;
    if (rest) this.emit(Buffer.alloc(BLOCK - rest));
  }

  private emit(bytes: Uint8Array): void {
    writeWaiting(this.fd, bytes, "archive");
  }
}

function headerBlock(h: TarWriteHeader, size: number, flag: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(truncate(h.path, 100), 0, "utf8");
  block.write(octal(h.mode & 0o7777, 8), 100);
  block.write(octal(Math.min(h.uid, MAX_OCTAL_8), 8), 108);
  block.write(octal(Math.min(h.gid, MAX_OCTAL_8), 8), 116);
  block.write(octal(Math.min(size, MAX_OCTAL_12), 12), 124);
  block.write(octal(Math.max(0, Math.min(Math.floor(h.mtime), MAX_OCTAL_12)), 12), 136);
  block.write("        ", 148);
  block.write(flag, 156);
  block.write(truncate(h.linkname ?? "", 100), 157, "utf8");
  block.write("ustar\u000000", 257, "latin1");
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, "latin1");
  return block;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\u0000`;
}

// The ustar field gets what fits; the pax record carries the whole.
function truncate(s: string, bytes: number): string {
  let out = s;
  while (Buffer.byteLength(out) > bytes) out = out.slice(0, -1);
  return out;
}

function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

// "LEN key=value\n", LEN counting its own digits.
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body);
  length += String(length).length;
  if (String(length).length !== String(length - String(length).length).length) length++;
  return `${length}${body}`;
}
