// IPv4 addresses as text, numbers and bytes, and prefix arithmetic: one place for all of it.

/** A dotted quad, each part 0-255, no leading zeros to misread as octal. */
export const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function toInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

export function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Network byte order, as netlink and nftables take addresses. */
export function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split(".").map(Number));
}

/** The netmask of a prefix length, as an unsigned number. */
export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function maskBytes(prefix: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(maskOf(prefix));
  return b;
}

/** Whether two networks share an address. */
export function overlaps(a: number, aPrefix: number, b: number, bPrefix: number): boolean {
  const mask = maskOf(Math.min(aPrefix, bPrefix));
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** The broadcast address of a network, as a number. */
export function broadcastOf(net: number, prefix: number): number {
  return (net | ~maskOf(prefix)) >>> 0;
}
