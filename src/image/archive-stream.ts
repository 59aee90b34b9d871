// Opens an archive file as a stream of uncompressed bytes, recognising the compression by its
// magic bytes rather than the file name (exports are often piped or renamed).
import { closeSync, createReadStream, openSync, readSync, statSync } from "node:fs";
import { Readable, pipeline } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { UserError } from "../container/errors.ts";

export type Compression = "none" | "gzip" | "zstd";

const READ_CHUNK = 1 << 20;
const MAGIC: { compression: Compression | "xz" | "bzip2"; bytes: number[] }[] = [
  { compression: "gzip", bytes: [0x1f, 0x8b] },
  { compression: "zstd", bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { compression: "xz", bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { compression: "bzip2", bytes: [0x42, 0x5a, 0x68] },
];
const LONGEST_MAGIC = Math.max(...MAGIC.map((m) => m.bytes.length));

/** The uncompressed bytes of `file`. Read errors and corrupt compressed data surface from the
 * iterator as UserErrors naming the file. */
export async function openArchiveStream(file: string): Promise<AsyncIterator<Uint8Array>> {
  assertReadableFile(file);
  const raw = createReadStream(file, { highWaterMark: READ_CHUNK })[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const head = await readHead(raw, file);
  let compression: Compression;
  try {
    compression = detectCompression(head, file);
  } catch (err) {
    await raw.return?.();
    throw err;
  }
  const plain = guard(replay(head, raw), `cannot read archive "${file}"`);
  if (compression === "none") return plain;
  const decompressor = compression === "gzip" ? createGunzip() : createZstdDecompress();
  // pipeline() tears both ends down on error; the error itself reaches us through the iterator.
  pipeline(Readable.from(plain), decompressor, () => {});
  const decompressed = decompressor[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return guard(decompressed, `corrupt ${compression} data in "${file}"`);
}

/** How a file is compressed, by its first bytes (refused: xz, bzip2). */
export function fileCompression(file: string): Compression {
  assertReadableFile(file);
  const head = Buffer.alloc(LONGEST_MAGIC);
  const fd = openSync(file, "r");
  try {
    readSync(fd, head);
  } finally {
    closeSync(fd);
  }
  return detectCompression([head], file);
}

function assertReadableFile(file: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(file).isDirectory();
  } catch (err) {
    throw new UserError(`cannot read archive "${file}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (isDirectory) throw new UserError(`cannot read archive "${file}": is a directory`);
}

// Enough leading bytes to compare against every magic number; kept as chunks so they can be
// handed on unchanged (the source may be a pipe, which cannot be re-read).
async function readHead(raw: AsyncIterator<Uint8Array>, file: string): Promise<Uint8Array[]> {
  const head: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < LONGEST_MAGIC) {
      const next = await raw.next();
      if (next.done) break;
      head.push(next.value);
      length += next.value.length;
    }
  } catch (err) {
    throw readError(`cannot read archive "${file}"`, err);
  }
  return head;
}

function detectCompression(head: Uint8Array[], file: string): Compression {
  const start = Buffer.concat(head).subarray(0, LONGEST_MAGIC);
  const match = MAGIC.find((m) => m.bytes.every((b, i) => start[i] === b));
  if (match?.compression === "xz" || match?.compression === "bzip2") {
    throw new UserError(`cannot import "${file}": ${match.compression}-compressed archives are not supported (use gzip, zstd or plain tar)`);
  }
  return match?.compression ?? "none";
}

async function* replay(head: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* head;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    await rest.return?.();
  }
}

// Turns a failing read into one line naming the file, instead of a stack from deep in a stream.
async function* guard(source: AsyncIterator<Uint8Array>, context: string): AsyncGenerator<Uint8Array> {
  try {
    for (let next = await source.next(); !next.done; next = await source.next()) yield next.value;
  } catch (err) {
    throw err instanceof UserError ? err : readError(context, err);
  } finally {
    await source.return?.();
  }
}

function readError(context: string, err: unknown): UserError {
  const e = err as NodeJS.ErrnoException;
  const isErrno = typeof e?.code === "string" && /^E[A-Z]+$/.test(e.code);
  return new UserError(`${context}: ${isErrno ? e.code : (e?.message ?? String(err))}`);
}
