// A streaming tar reader: ustar, GNU long names ('L'/'K') and pax headers ('x'; 'g' ignored).
// It only parses; deciding what is safe to write is extract.ts's job.
import { UserError } from "../container/errors.ts";
import { openArchiveStream } from "./archive-stream.ts";
import { ByteReader } from "./byte-reader.ts";
import { quotePath } from "./entry-path.ts";

export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface TarHeader {
  /** As written in the archive (not normalised, may be hostile). */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch; pax headers may make it fractional. */
  mtime: number;
  /** Symlink text or hardlink target; "" for other types. */
  linkname: string;
  /** Body length in bytes; 0 for everything but files. */
  size: number;
}

export interface TarEntry extends TarHeader {
  /** The body, in chunks that are only valid until the next one is requested. Read it before
   * asking for the next entry; an unread body is skipped. */
  body(): AsyncGenerator<Uint8Array>;
}

const BLOCK = 512;
// pax and GNU long-name bodies are held in memory; no legitimate name or header needs more.
const MAX_META_BODY = 1 << 20;

const ENTRY_TYPES: Record<string, TarEntryType> = {
  "0": "file", "\0": "file", "7": "file", "1": "hardlink", "2": "symlink",
  "3": "char", "4": "block", "5": "dir", "6": "fifo",
};

export class TarReader {
  private entryIndex = 0;
  // The body the stream is positioned in: what it belongs to (for error messages) and how much
  // of it and of its padding to the next 512-byte block is still unread.
  private body = { name: "", size: 0, left: 0, padding: 0 };
  private digestHex: string | undefined;

  private constructor(private readonly bytes: ByteReader) {}

  /** Plain, gzip or zstd, told apart by content; read as a stream, never whole. */
  static async open(file: string): Promise<TarReader> {
    return new TarReader(new ByteReader(await openArchiveStream(file)));
  }

  /** sha256 (hex) of the whole uncompressed stream; known once entries() has run to its end. */
  digest(): string {
    if (this.digestHex === undefined) throw new Error("tar digest asked for before the archive was read to its end");
    return this.digestHex;
  }

  async *entries(): AsyncGenerator<TarEntry> {
    try {
      let pending = new PendingMeta();
      for (;;) {
        await this.skipRestOfBody();
        const headerOffset = this.bytes.offset;
        const block = await this.bytes.readFully(BLOCK);
        if (block.length < BLOCK) throw missingEnd(this.bytes.offset);
        if (block.every((b) => b === 0)) break;
        verifyChecksum(block, headerOffset);

        const raw = parseHeader(block, headerOffset);
        this.startBody(raw.size, `'${raw.flag}' header at byte ${headerOffset}`);
        switch (raw.flag) {
          case "x":
            pending.applyPax(parsePax(await this.readMetaBody(), this.bytes.offset));
            continue;
          case "L":
            pending.longName = cString(await this.readMetaBody());
            continue;
          case "K":
            pending.longLink = cString(await this.readMetaBody());
            continue;
          case "g": // global pax defaults: nothing we use is worth honouring archive-wide
          case "V": // GNU volume label
            continue;
        }
        const entry = pending.resolve(raw, headerOffset);
        pending = new PendingMeta();
        // Body-less types may carry a stale size field; as Go's archive/tar, trust only files.
        this.startBody(entry.type === "file" ? entry.size : 0, `entry ${quotePath(entry.path)}`);
        yield this.withBody(entry);
      }
      this.digestHex = await this.bytes.drainAndDigest();
    } finally {
      await this.bytes.close();
    }
  }

  private startBody(size: number, name: string): void {
    this.entryIndex++;
    this.body = { name, size, left: size, padding: (BLOCK - (size % BLOCK)) % BLOCK };
  }

  private withBody(header: TarHeader): TarEntry {
    const index = this.entryIndex;
    const reader = this;
    async function* body(): AsyncGenerator<Uint8Array> {
      if (index !== reader.entryIndex) throw new Error(`tar body of ${quotePath(header.path)} read after moving on`);
      const current = reader.body;
      while (current.left > 0) {
        const chunk = await reader.bytes.read(current.left);
        if (chunk.length === 0) throw bodyTruncated(current);
        current.left -= chunk.length;
        yield chunk;
      }
    }
    return { ...header, body };
  }

  private async readMetaBody(): Promise<Uint8Array> {
    const current = this.body;
    if (current.size > MAX_META_BODY) throw corrupt(`${current.name} is ${current.size} bytes long (limit ${MAX_META_BODY})`);
    const data = await this.bytes.readFully(current.size);
    current.left -= data.length;
    if (current.left > 0) throw bodyTruncated(current);
    return data;
  }

  private async skipRestOfBody(): Promise<void> {
    const current = this.body;
    const skipped = await this.bytes.skip(current.left);
    current.left -= skipped;
    if (current.left > 0) throw bodyTruncated(current);
    if ((await this.bytes.skip(current.padding)) < current.padding) throw missingEnd(this.bytes.offset);
    current.padding = 0;
  }
}

interface RawHeader {
  flag: string;
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
}

// Values from 'L'/'K'/'x' entries that override the fields of the next real entry.
class PendingMeta {
  longName: string | undefined;
  longLink: string | undefined;
  private pax = new Map<string, string>();

  applyPax(records: Map<string, string>): void {
    for (const [key, value] of records) this.pax.set(key, value);
  }

  resolve(raw: RawHeader, offset: number): TarHeader {
    let type = ENTRY_TYPES[raw.flag];
    if (type === undefined) throw new UserError(`unsupported tar entry type ${JSON.stringify(raw.flag)} at byte ${offset} (${quotePath(raw.name)})`);
    const path = this.pax.get("path") ?? this.longName ?? raw.name;
    // Pre-POSIX archives mark directories only by a trailing slash.
    if (type === "file" && raw.flag !== "7" && path.endsWith("/")) type = "dir";
    return {
      path,
      type,
      mode: raw.mode & 0o7777,
      uid: this.paxInteger("uid", offset) ?? raw.uid,
      gid: this.paxInteger("gid", offset) ?? raw.gid,
      mtime: this.paxTime("mtime", offset) ?? raw.mtime,
      linkname: type === "symlink" || type === "hardlink" ? (this.pax.get("linkpath") ?? this.longLink ?? raw.linkname) : "",
      size: type === "file" ? (this.paxInteger("size", offset) ?? raw.size) : 0,
    };
  }

  private paxInteger(key: string, offset: number): number | undefined {
    const value = this.pax.get(key);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw corrupt(`pax ${key} "${value}" before byte ${offset} is not a whole number`);
    return n;
  }

  private paxTime(key: string, offset: number): number | undefined {
    const value = this.pax.get(key);
    if (value === undefined) return undefined;
    if (!/^-?\d+(\.\d+)?$/.test(value)) throw corrupt(`pax ${key} "${value}" before byte ${offset} is not a time`);
    return Number(value);
  }
}

function parseHeader(block: Uint8Array, offset: number): RawHeader {
  const field = (start: number, length: number) => block.subarray(start, start + length);
  const number = (start: number, length: number, what: string) => parseNumber(field(start, length), what, offset);
  let name = cString(field(0, 100));
  // Only POSIX ustar has a prefix field; GNU keeps other data (atime, ctime) at that spot.
  const isUstar = cString(field(257, 6)) === "ustar";
  const prefix = isUstar ? cString(field(345, 155)) : "";
  if (prefix !== "") name = `${prefix}/${name}`;
  return {
    flag: String.fromCharCode(block[156]!),
    name,
    mode: number(100, 8, "mode"),
    uid: number(108, 8, "uid"),
    gid: number(116, 8, "gid"),
    size: number(124, 12, "size"),
    mtime: number(136, 12, "mtime"),
    linkname: cString(field(157, 100)),
  };
}

// Octal text, or (GNU, for values that do not fit) big-endian base-256 flagged by the top bit:
// 0x80 for positive values, 0xff for negative ones in two's complement (mtimes before 1970).
function parseNumber(field: Uint8Array, what: string, offset: number): number {
  if ((field[0]! & 0x80) !== 0) {
    const negative = field[0] === 0xff;
    let value = 0n;
    for (const [i, b] of field.entries()) value = value * 256n + BigInt(i === 0 && !negative ? b & 0x7f : b);
    if (negative) value -= 256n ** BigInt(field.length);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || (n < 0 && what !== "mtime")) throw corrupt(`${what} out of range in header at byte ${offset}`);
    return n;
  }
  const text = new TextDecoder().decode(field).replace(/[\0 ]+$/, "").replace(/^ +/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw corrupt(`${what} field ${JSON.stringify(text)} in header at byte ${offset} is not octal`);
  return parseInt(text, 8);
}

function verifyChecksum(block: Uint8Array, offset: number): void {
  const field = new TextDecoder().decode(block.subarray(148, 156)).replace(/[\0 ]+$/, "").trim();
  const stored = /^[0-7]+$/.test(field) ? parseInt(field, 8) : NaN;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    // The checksum field itself counts as eight spaces.
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  // Some historic writers summed signed chars; both are accepted, as GNU tar does.
  if (stored === unsigned || stored === signed) return;
  // Garbage where the first header should be is most likely not a tar file at all.
  if (offset === 0) throw new UserError("not a tar archive: no valid tar header at its start");
  throw corrupt(`bad header checksum at byte ${offset}`);
}

// pax records: "<length> <key>=<value>\n", where length counts the whole record in bytes.
function parsePax(body: Uint8Array, offset: number): Map<string, string> {
  const records = new Map<string, string>();
  const decoder = new TextDecoder();
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const space = body.indexOf(0x20, pos);
    const length = space > pos ? Number(decoder.decode(body.subarray(pos, space))) : NaN;
    const end = pos + length;
    if (!Number.isSafeInteger(length) || length <= 0 || end > body.length || body[end - 1] !== 0x0a) {
      throw corrupt(`bad pax record in header ending at byte ${offset}`);
    }
    const record = body.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw corrupt(`bad pax record in header ending at byte ${offset}`);
    const key = decoder.decode(record.subarray(0, eq));
    if (key.startsWith("GNU.sparse.")) throw new UserError(`unsupported tar content before byte ${offset}: GNU sparse files`);
    const value = decoder.decode(record.subarray(eq + 1));
    // An empty value means "no override": fall back to the ustar field.
    if (value === "") records.delete(key);
    else records.set(key, value);
    pos = end;
  }
  return records;
}

function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return new TextDecoder().decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

function corrupt(detail: string): UserError {
  return new UserError(`corrupt tar archive: ${detail}`);
}

function missingEnd(offset: number): UserError {
  return new UserError(`truncated tar archive: ends at byte ${offset} without an end-of-archive marker`);
}

function bodyTruncated(body: { name: string; size: number; left: number }): UserError {
  return new UserError(`truncated tar archive: ${body.name} declares ${body.size} bytes but the archive holds only ${body.size - body.left}`);
}
