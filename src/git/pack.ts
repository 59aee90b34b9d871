// A git pack (gitformat-pack) read into its objects, each named by its SHA-1 as git names it, so
// that what the server sent is checked by content: a commit asked for by id is that commit, and
// every tree and file under it is what the commit says. Bounded: the inflated objects together are
// at most `limit` bytes, and a delta chain at most MAX_CHAIN long (a hostile pack cannot make box
// inflate without end, or recurse without end).
import { createHash } from "node:crypto";
import { inflateSync } from "node:zlib";

export type ObjectType = "commit" | "tree" | "blob" | "tag";
export interface GitObject {
  type: ObjectType;
  data: Buffer;
}

const TYPES: Record<number, ObjectType> = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" };
const OFS_DELTA = 6;
const REF_DELTA = 7;
const MAX_CHAIN = 10_000;

type Entry = { offset: number; type: ObjectType; data: Buffer } | { offset: number; delta: Buffer; base: { offset: number } | { oid: string } };

export function readPack(pack: Buffer, limit: number): Map<string, GitObject> {
  const bad = (why: string) => new Error(`bad git pack: ${why}`);
  if (pack.length < 32 || pack.toString("latin1", 0, 4) !== "PACK") throw bad("no PACK header");
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw bad(`version ${version}`);
  const body = pack.subarray(0, pack.length - 20);
  if (!createHash("sha1").update(body).digest().equals(pack.subarray(pack.length - 20))) throw bad("its checksum does not match");
  const count = pack.readUInt32BE(8);
  let inflated = 0;
  let pos = 12;
  const byte = () => {
    if (pos >= body.length) throw bad("it ends inside an object");
    return body[pos++]!;
  };
  const entries = new Map<number, Entry>();
  for (let n = 0; n < count; n++) {
    const offset = pos;
    let c = byte();
    const type = (c >> 4) & 7;
    let size = c & 15;
    for (let shift = 4; c & 0x80; shift += 7) {
      c = byte();
      size += (c & 0x7f) * 2 ** shift;
      if (size > limit) throw bad("an object larger than the store can take");
    }
    let base: { offset: number } | { oid: string } | undefined;
    if (type === OFS_DELTA) {
      c = byte();
      let back = c & 0x7f;
      while (c & 0x80) {
        c = byte();
        back = (back + 1) * 128 + (c & 0x7f);
        if (back > offset) throw bad("a delta's base is before the pack");
      }
      base = { offset: offset - back };
      if (!entries.has(base.offset)) throw bad("a delta's base is not an object of the pack");
    } else if (type === REF_DELTA) {
      if (pos + 20 > body.length) throw bad("it ends inside an object");
      base = { oid: body.toString("hex", pos, pos + 20) };
      pos += 20;
    } else if (!TYPES[type]) throw bad(`object type ${type}`);
    inflated += size;
    if (inflated > limit) throw bad(`its objects are larger than the store can take (${limit} bytes)`);
    let data: Buffer;
    let used: number;
    try {
      const r = inflateSync(body.subarray(pos), { info: true, maxOutputLength: Math.max(size, 1) } as object) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      data = r.buffer;
      used = r.engine.bytesWritten;
    } catch (e) {
      throw bad(`an object does not inflate (${(e as Error).message})`);
    }
    if (data.length !== size) throw bad("an object's size is not what its header says");
    pos += used;
    entries.set(offset, base ? { offset, delta: data, base } : { offset, type: TYPES[type]!, data });
  }
  if (pos !== body.length) throw bad("bytes after its last object");
  return resolve(entries, limit, bad);
}

function resolve(entries: Map<number, Entry>, limit: number, bad: (why: string) => Error): Map<string, GitObject> {
  const objects = new Map<string, GitObject>();
  const byOffset = new Map<number, GitObject>();
  let total = 0;
  const keep = (offset: number, o: GitObject) => {
    byOffset.set(offset, o);
    objects.set(objectId(o), o);
  };
  for (const e of entries.values()) if ("type" in e) keep(e.offset, { type: e.type, data: e.data });
  // Deltas whose base is known are applied until none is left; a chain is bounded by the rounds.
  let pending = [...entries.values()].filter((e) => !("type" in e)) as Extract<Entry, { delta: Buffer }>[];
  for (let round = 0; pending.length; round++) {
    if (round > MAX_CHAIN) throw bad("a delta chain longer than any git makes");
    const left: typeof pending = [];
    for (const e of pending) {
      const base = "oid" in e.base ? objects.get(e.base.oid) : byOffset.get(e.base.offset);
      if (!base) {
        left.push(e);
        continue;
      }
      const data = applyDelta(base.data, e.delta, limit - total, bad);
      total += data.length;
      keep(e.offset, { type: base.type, data });
    }
    if (left.length === pending.length) throw bad("a delta's base is missing");
    pending = left;
  }
  return objects;
}

export function objectId(o: GitObject): string {
  return createHash("sha1").update(`${o.type} ${o.data.length}\0`).update(o.data).digest("hex");
}

function applyDelta(base: Buffer, delta: Buffer, room: number, bad: (why: string) => Error): Buffer {
  let pos = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= delta.length) throw bad("a delta ends early");
      const c = delta[pos++]!;
      value += (c & 0x7f) * 2 ** shift;
      if (!(c & 0x80)) return value;
    }
  };
  if (varint() !== base.length) throw bad("a delta is for another base");
  const size = varint();
  if (size > room) throw bad("its objects are larger than the store can take");
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  while (pos < delta.length) {
    const op = delta[pos++]!;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let b = 0; b < 4; b++) if (op & (1 << b)) offset += delta[pos++]! * 2 ** (8 * b);
      for (let b = 0; b < 3; b++) if (op & (1 << (4 + b))) size += delta[pos++]! * 2 ** (8 * b);
      if (size === 0) size = 0x10000;
      if (pos > delta.length || offset + size > base.length || at + size > out.length) throw bad("a delta copies outside its base");
      base.copy(out, at, offset, offset + size);
      at += size;
    } else if (op) {
      if (pos + op > delta.length || at + op > out.length) throw bad("a delta inserts past its end");
      delta.copy(out, at, pos, pos + op);
      pos += op;
      at += op;
    } else throw bad("a delta has a reserved instruction");
  }
  if (at !== out.length) throw bad("a delta's result is not the size it says");
  return out;
}
