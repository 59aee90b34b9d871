// Git's pkt-line framing (gitprotocol-common): four hex digits of length, then the payload; 0000
// ends a message (flush), 0001 parts one (delim). A reader over a byte stream that may be cut
// anywhere, bounded in time: a server that stops sending fails the read instead of hanging it.

export type Packet = { kind: "data"; data: Uint8Array } | { kind: "flush" } | { kind: "delim" } | { kind: "end" };

const MAX_PACKET = 65520;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One line as a packet (its text as given: a command's lines end with \n). */
export function pktLine(text: string): Uint8Array {
  const body = encoder.encode(text);
  const head = encoder.encode((body.length + 4).toString(16).padStart(4, "0"));
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

export const FLUSH = encoder.encode("0000");
export const DELIM = encoder.encode("0001");

/** A data packet's text, its trailing newline dropped. */
export function packetText(p: Packet): string {
  if (p.kind !== "data") return "";
  const text = decoder.decode(p.data);
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

export class PacketReader {
  private buffer = new Uint8Array(0);
  private done = false;

  constructor(
    private chunks: AsyncIterator<Uint8Array>,
    private what: string,
    private idleMs = 60_000,
  ) {}

  /** The next packet; "end" once the stream has ended between packets. */
  async next(): Promise<Packet> {
    while (this.buffer.length < 4) if (!(await this.fill())) return this.endOrCut(this.buffer.length);
    const head = decoder.decode(this.buffer.subarray(0, 4));
    if (!/^[0-9a-f]{4}$/.test(head)) throw new Error(`${this.what}: not a git protocol reply (${JSON.stringify(head)})`);
    const length = parseInt(head, 16);
    if (length === 0 || length === 1 || length === 2) {
      this.buffer = this.buffer.subarray(4);
      return length === 1 ? { kind: "delim" } : { kind: "flush" };
    }
    if (length < 4 || length > MAX_PACKET + 4) throw new Error(`${this.what}: bad packet length ${length}`);
    while (this.buffer.length < length) if (!(await this.fill())) return this.endOrCut(length);
    const data = this.buffer.slice(4, length);
    this.buffer = this.buffer.subarray(length);
    // An ERR packet may come in place of any reply (gitprotocol-v2).
    if (data.length >= 4 && decoder.decode(data.subarray(0, 4)) === "ERR ") throw new Error(`${this.what}: the server says: ${packetText({ kind: "data", data: data.subarray(4) })}`);
    return { kind: "data", data };
  }

  /** Packets up to the next flush or delim (which is returned last). */
  async until(): Promise<{ lines: Packet[]; end: Packet }> {
    const lines: Packet[] = [];
    for (;;) {
      const p = await this.next();
      if (p.kind === "data") lines.push(p);
      else if (p.kind === "end") throw new Error(`${this.what}: the connection ended early`);
      else return { lines, end: p };
    }
  }

  private endOrCut(wanted: number): Packet {
    if (wanted === 0) return { kind: "end" };
    throw new Error(`${this.what}: the connection ended inside a packet`);
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.what}: no data for ${this.idleMs / 1000} s`)), this.idleMs);
    });
    try {
      const r = await Promise.race([this.chunks.next(), idle]);
      if (r.done) {
        this.done = true;
        return false;
      }
      const joined = new Uint8Array(this.buffer.length + r.value.length);
      joined.set(this.buffer);
      joined.set(r.value, this.buffer.length);
      this.buffer = joined;
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}
