// Content-addressed blobs: root/blobs/sha256/<hex> holds manifests, image configs and layer
// archives exactly as a registry or an archive gave them. A blob is hashed while it is written
// and appears under its digest only when the hash matches, so nothing stored is ever unverified.
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync, constants } from "node:fs";
import { exists, isErrno, lockExclusive, mkdirs, readFileBytes, tryLockExclusive, unlink } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { randomHex } from "../random.ts";
import { join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import { DIGEST } from "./reference.ts";

const { O_RDWR, O_RDONLY, O_CREAT, O_APPEND, O_EXCL, O_NOFOLLOW } = constants;
const HASH_CHUNK = 1 << 20;
const LOCK_POLL_MS = 100;

export function blobsDir(root: string): string {
  return join(root, "blobs", "sha256");
}

/** The blob's file; the digest is checked, so a damaged record cannot name another path. */
export function blobPath(root: string, digest: string): string {
  if (!DIGEST.test(digest)) throw new Error(`invalid blob digest ${JSON.stringify(digest)}`);
  return join(blobsDir(root), digest.slice("sha256:".length));
}

export function hasBlob(root: string, digest: string): boolean {
  return exists(blobPath(root, digest));
}

export function readBlob(root: string, digest: string): Buffer {
  return readFileBytes(blobPath(root, digest));
}

export function deleteBlob(root: string, digest: string): void {
  try {
    unlink(blobPath(root, digest));
  } catch (err) {
    if (!isErrno(err, Errno.ENOENT)) throw err;
  }
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(data).digest("hex")}`;
}

/** Stores bytes already in memory (a manifest, a config) and returns their digest. */
export function putBlob(root: string, data: Uint8Array | string): string {
  const writer = BlobWriter.create(root);
  try {
    writer.write(typeof data === "string" ? Buffer.from(data) : data);
    return writer.commit();
  } finally {
    writer.close();
  }
}

/**
 * Stores a file as a blob: copied, or with `move` renamed (a file of this store's own, e.g. from an
 * archive unpacked in it). Either way it is hashed first, and refused on a mismatch.
 */
export function putBlobFile(root: string, file: string, opts: { move?: boolean; expected?: string } = {}): { digest: string; size: number; created: boolean } {
  if (opts.move) {
    const digest = hashFile(file);
    if (opts.expected !== undefined && digest !== opts.expected) throw new UserError(`digest mismatch: ${file} is ${digest}, expected ${opts.expected}`);
    mkdirs(blobsDir(root), 0o700);
    const created = !exists(blobPath(root, digest));
    renameSync(file, blobPath(root, digest));
    return { digest, size: statSync(blobPath(root, digest)).size, created };
  }
  const writer = BlobWriter.create(root);
  try {
    eachChunk(file, (chunk) => writer.write(chunk));
    const digest = writer.commit();
    if (opts.expected !== undefined && digest !== opts.expected) {
      if (writer.created) deleteBlob(root, digest);
      throw new UserError(`digest mismatch: ${file} is ${digest}, expected ${opts.expected}`);
    }
    return { digest, size: statSync(blobPath(root, digest)).size, created: writer.created };
  } finally {
    writer.close();
  }
}

function hashFile(file: string): string {
  const hasher = new Bun.CryptoHasher("sha256");
  eachChunk(file, (chunk) => hasher.update(chunk));
  return `sha256:${hasher.digest("hex")}`;
}

/** The file's bytes in chunks, each valid only during its call. */
function eachChunk(file: string, fn: (chunk: Buffer) => void): void {
  const fd = openSync(file, O_RDONLY | O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(HASH_CHUNK);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) fn(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/**
 * One blob being written. With an expected digest the partial file has a fixed name
 * (blobs/.partial-<hex>) and is kept when the transfer breaks, so the next pull resumes it; an
 * flock on it makes a second pull of the same blob wait for the first rather than write into the
 * same file. Without one (a blob made here) the file has a random name.
 */
export class BlobWriter {
  private readonly hasher = new Bun.CryptoHasher("sha256");
  private committed = false;
  private closed = false;
  /** After commit: false when the store had this blob already. */
  created = false;
  /** Bytes already in the partial file when it was opened: where a resumed download starts. */
  readonly offset: number;

  private constructor(
    private readonly root: string,
    private readonly expected: string | undefined,
    private readonly temp: string,
    private readonly fd: number,
  ) {
    this.offset = this.done ? 0 : fstatSync(fd).size;
    if (this.offset > 0) this.hashExisting();
  }

  /** A blob made here (a config, a manifest, a copied file): a file of its own, no waiting. */
  static create(root: string): BlobWriter {
    const temp = join(root, "blobs", `.tmp-${randomHex(8)}`);
    mkdirs(blobsDir(root), 0o700);
    const fd = openSync(temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    lockExclusive(fd, temp);
    return new BlobWriter(root, undefined, temp, fd);
  }

  /**
   * The partial download of `expected`, resumable. If another process holds it, this waits (without
   * blocking the event loop: the other downloads of this pull go on) until it is done or given up.
   */
  static async resume(root: string, expected: string): Promise<BlobWriter> {
    if (!DIGEST.test(expected)) throw new UserError(`invalid digest ${JSON.stringify(expected)}`);
    const temp = join(root, "blobs", `.partial-${expected.slice(7)}`);
    mkdirs(blobsDir(root), 0o700);
    for (;;) {
      const fd = openSync(temp, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600);
      if (!tryLockExclusive(fd, temp)) {
        closeSync(fd);
        await Bun.sleep(LOCK_POLL_MS);
        continue;
      }
      // While this waited, the holder may have finished (renamed the file into the store) or
      // given up (removed it): then this descriptor is of a file no longer at the path.
      const now = statSync(temp, { throwIfNoEntry: false });
      if (now?.ino === fstatSync(fd).ino) return new BlobWriter(root, expected, temp, fd);
      closeSync(fd);
    }
  }

  /** The blob is there already (another pull finished it while this one waited for the lock). */
  get done(): boolean {
    return this.expected !== undefined && hasBlob(this.root, this.expected);
  }

  write(chunk: Uint8Array): void {
    this.hasher.update(chunk);
    for (let written = 0; written < chunk.length; ) written += writeSync(this.fd, chunk, written, chunk.length - written);
  }

  /** Moves the blob under its digest; a mismatch with the expected digest throws and keeps nothing. */
  commit(): string {
    const digest = `sha256:${this.hasher.digest("hex")}`;
    if (this.expected !== undefined && digest !== this.expected) {
      removeQuietly(this.temp);
      throw new UserError(`digest mismatch: expected ${this.expected}, got ${digest}`);
    }
    fsyncSync(this.fd);
    this.created = !exists(blobPath(this.root, digest));
    renameSync(this.temp, blobPath(this.root, digest));
    this.committed = true;
    return digest;
  }

  /**
   * Closes the file. What was not committed is removed, but for a broken download (`keep`, with
   * an expected digest), which the next pull resumes.
   */
  close(keep = false): void {
    if (this.closed) return;
    this.closed = true;
    // Removed while the lock is still held: a waiter then finds the path gone and starts anew.
    const worthKeeping = keep && this.expected !== undefined && !this.done && fstatSync(this.fd).size > 0;
    if (!this.committed && !worthKeeping) removeQuietly(this.temp);
    closeSync(this.fd);
  }

  private hashExisting(): void {
    const buf = Buffer.allocUnsafe(HASH_CHUNK);
    for (let at = 0, n = readSync(this.fd, buf, 0, buf.length, 0); n > 0; n = readSync(this.fd, buf, 0, buf.length, (at += n))) {
      this.hasher.update(buf.subarray(0, n));
    }
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}
