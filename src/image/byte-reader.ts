// Exact-size reads over a chunked stream, so the tar reader can ask for "512 bytes" or "the
// next N body bytes" without caring how the decompressor happened to cut the data.

const EMPTY = new Uint8Array(0);

export class ByteReader {
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  private ended = false;
  // Every byte pulled from the source is hashed, read or not, so the digest covers the whole
  // stream (a layer's diff id is the sha256 of all of its uncompressed bytes).
  private readonly hash = new Bun.CryptoHasher("sha256");
  /** How many bytes were handed out or skipped: the stream offset of the next byte. */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Up to `max` bytes as a view that stays valid only until the next call; empty at the end. */
  async read(max: number): Promise<Uint8Array> {
    if (max <= 0 || !(await this.fill())) return EMPTY;
    const n = Math.min(max, this.chunk.length - this.pos);
    const view = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return view;
  }

  /** `n` bytes copied out; shorter only when the stream ended first. */
  async readFully(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const part = await this.read(n - filled);
      if (part.length === 0) return out.subarray(0, filled);
      out.set(part, filled);
      filled += part.length;
    }
    return out;
  }

  /** Discards up to `n` bytes; returns how many there were. */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      const part = await this.read(n - skipped);
      if (part.length === 0) break;
      skipped += part.length;
    }
    return skipped;
  }

  /** Reads to the end of the stream and returns the hex sha256 of everything in it. */
  async drainAndDigest(): Promise<string> {
    while ((await this.read(Number.MAX_SAFE_INTEGER)).length > 0);
    return this.hash.digest("hex");
  }

  /** Stops the source early (closes the file, ends the decompressor). */
  async close(): Promise<void> {
    this.ended = true;
    await this.source.return?.();
  }

  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.ended) return false;
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        return false;
      }
      this.chunk = next.value;
      this.pos = 0;
      this.hash.update(this.chunk);
    }
    return true;
  }
}
