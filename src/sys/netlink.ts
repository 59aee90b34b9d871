// Netlink sockets (rtnetlink for links, addresses and routes; nfnetlink for nftables): building
// messages with their attributes, sending them and reading the kernel's answers. Errors carry
// what was asked, the object and the errno name, plus the kernel's own words when it gives them.
import { check, libc } from "./libc.ts";
import { close, read, write } from "./fs.ts";
import { SyscallError, errnoName } from "./errors.ts";
import { AF_NETLINK, SOCK_CLOEXEC, SOCK_RAW } from "./constants.ts";

const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;

export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
const NLM_F_ACK_TLVS = 0x200;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSGERR_ATTR_MSG = 1;
const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;
const HEADER = 16;

/** A netlink request the kernel refused. */
export class NetlinkError extends SyscallError {
  constructor(what: string, errno: number, object: string | undefined, readonly kernelMessage?: string) {
    super(what, errno, object);
    if (kernelMessage) this.message = `${what}${object === undefined ? "" : ` ${object}`}: ${errnoName(errno)} (${kernelMessage})`;
  }
}

const align = (n: number) => (n + 3) & ~3;

/** One attribute: type, then its payload padded to 4 bytes. */
export function attr(type: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(align(4 + payload.length));
  b.writeUInt16LE(4 + payload.length, 0);
  b.writeUInt16LE(type, 2);
  b.set(payload, 4);
  return b;
}

export const attrStr = (type: number, s: string) => attr(type, Buffer.from(`${s}\0`));
export function attrU32(type: number, n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return attr(type, b);
}
/** Network byte order, as nftables wants its numbers. */
export function attrBe32(type: number, n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return attr(type, b);
}
export function attrBe64(type: number, n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return attr(type, b);
}
export const attrNest = (type: number, ...children: Buffer[]) => attr(type | NLA_F_NESTED, Buffer.concat(children));

/** A message before it is sent: its type, flags, fixed header and attributes. */
export interface Message {
  type: number;
  flags: number;
  body: Buffer;
  /** Sent without NLM_F_ACK (nfnetlink's batch begin and end, which get no answer). */
  noAck?: boolean;
}

export function message(type: number, flags: number, header: Buffer, ...attrs: Buffer[]): Message {
  return { type, flags, body: Buffer.concat([header, ...attrs]) };
}

/** Attributes of a payload from `offset`, by type (nested ones parse the same way). */
export function parseAttrs(buf: Buffer, offset = 0, end = buf.length): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  while (offset + 4 <= end) {
    const len = buf.readUInt16LE(offset);
    if (len < 4 || offset + len > end) break;
    out.set(buf.readUInt16LE(offset + 2) & NLA_TYPE_MASK, buf.subarray(offset + 4, offset + len));
    offset += align(len);
  }
  return out;
}

export const attrString = (b: Buffer | undefined) => (b === undefined ? undefined : b.toString("utf8").replace(/\0.*$/s, ""));

/** A received message: its type and payload (after the 16-byte netlink header). */
export interface Reply {
  type: number;
  payload: Buffer;
}

let sequence = Math.floor(Math.random() * 0x7fffffff);
/** One buffer for every read: each message's payload is copied out of it. */
const receiveBuffer = new Uint8Array(1 << 16);

export class NetlinkSocket {
  readonly fd: number;

  constructor(protocol: number) {
    this.fd = check(libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol), "socket", "netlink");
    const one = Buffer.alloc(4);
    one.writeInt32LE(1);
    // The kernel's reason with each error, and no copy of our request in it. Best effort.
    libc.setsockopt(this.fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4);
    libc.setsockopt(this.fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 4);
  }

  close(): void {
    close(this.fd);
  }

  /** Sends the messages in one write; each asks for an acknowledgement. Returns their seqs. */
  private send(messages: Message[]): number[] {
    const seqs: number[] = [];
    const parts = messages.map((m) => {
      const h = Buffer.alloc(HEADER);
      const seq = (sequence = (sequence + 1) & 0x7fffffff);
      seqs.push(seq);
      h.writeUInt32LE(HEADER + m.body.length, 0);
      h.writeUInt16LE(m.type, 4);
      h.writeUInt16LE(m.flags | NLM_F_REQUEST, 6);
      h.writeUInt32LE(seq, 8);
      return Buffer.concat([h, m.body, Buffer.alloc(align(m.body.length) - m.body.length)]);
    });
    write(this.fd, Buffer.concat(parts), "netlink");
    return seqs;
  }

  /** Reads until `done` says so, handing each message (of ours) to it. */
  private receive(seqs: Set<number>, onMessage: (m: Reply & { seq: number; flags: number }) => boolean): void {
    const buf = receiveBuffer;
    for (;;) {
      const n = read(this.fd, buf);
      // read() throws on an error; a netlink socket has no end of file.
      if (n === 0) throw new Error("netlink: the kernel closed the socket");
      const data = Buffer.from(buf.buffer, 0, n);
      for (let off = 0; off + HEADER <= n; ) {
        const len = data.readUInt32LE(off);
        if (len < HEADER) break;
        const seq = data.readUInt32LE(off + 8);
        const m = { type: data.readUInt16LE(off + 4), flags: data.readUInt16LE(off + 6), seq, payload: Buffer.from(data.subarray(off + HEADER, off + len)) };
        off += align(len);
        if (seqs.has(seq) && onMessage(m)) return;
      }
    }
  }

  /**
   * Sends the messages and waits for every acknowledgement; the first refusal becomes a
   * NetlinkError named by `describe` (which message failed, by index), and ends the wait: a
   * refused nfnetlink batch is answered on its begin message alone, the rest never.
   */
  request(messages: Message[], describe: (index: number) => [string, string?]): void {
    const seqs = this.send(messages.map((m) => (m.noAck ? m : { ...m, flags: m.flags | NLM_F_ACK })));
    const pending = new Set(seqs.filter((_, i) => !messages[i]!.noAck));
    if (pending.size === 0) return;
    let failure: NetlinkError | undefined;
    this.receive(new Set(seqs), (m) => {
      if (m.type !== NLMSG_ERROR) return false;
      pending.delete(m.seq);
      failure = errorOf(m, () => describe(seqs.indexOf(m.seq)));
      return failure !== undefined || pending.size === 0;
    });
    if (failure) throw failure;
  }

  /** One request (a dump or a get) and every answer until the kernel says it is done. */
  query(m: Message, what: string, object?: string): Reply[] {
    const [seq] = this.send([{ ...m, flags: m.flags | NLM_F_ACK }]);
    const replies: Reply[] = [];
    let failure: NetlinkError | undefined;
    this.receive(new Set([seq!]), (r) => {
      if (r.type === NLMSG_DONE) return true;
      if (r.type === NLMSG_ERROR) {
        failure = errorOf(r, () => [what, object]);
        return true;
      }
      replies.push(r);
      // A get (not a dump) answers with one message, then the acknowledgement.
      return false;
    });
    if (failure) throw failure;
    return replies;
  }
}

/** An acknowledgement's refusal, named by `describe`; undefined when it says yes. */
function errorOf(m: Reply & { flags: number }, describe: () => [string, string?]): NetlinkError | undefined {
  const err = -m.payload.readInt32LE(0);
  if (err === 0) return undefined;
  const [what, object] = describe();
  return new NetlinkError(what, err, object, m.flags & NLM_F_ACK_TLVS ? extAckMessage(m.payload) : undefined);
}

/** The kernel's text in an error (NETLINK_CAP_ACK: after the error code and our header). */
function extAckMessage(payload: Buffer): string | undefined {
  return attrString(parseAttrs(payload, 4 + HEADER).get(NLMSGERR_ATTR_MSG));
}

/** Opens a socket, runs `fn` with it, and closes it. */
export function withNetlink<T>(protocol: number, fn: (s: NetlinkSocket) => T): T {
  const s = new NetlinkSocket(protocol);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}
