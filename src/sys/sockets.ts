// Client sockets for the log drivers: IPv4 stream and datagram ends, made in a given network
// namespace; sends that never raise SIGPIPE and never wait for ever.
import { ptr } from "bun:ffi";
import { check, libc } from "./libc.ts";
import { AF_INET, CLONE_NEWNET, O_RDONLY, SOCK_CLOEXEC } from "./constants.ts";
import { close, open } from "./fs.ts";
import { ipv4Bytes } from "../net/ipv4.ts";
import { setns } from "./process.ts";

const SOL_SOCKET = 1;
const SO_SNDTIMEO = 21;
const MSG_NOSIGNAL = 0x4000;

/**
 * A connect or send waits at most `ms` (SO_SNDTIMEO bounds a blocking connect too): a receiver
 * that stopped reading must not stop the one who writes.
 */
export function setSendTimeout(fd: number, ms: number): void {
  // struct timeval { long sec; long usec; }
  const tv = new BigInt64Array([BigInt(Math.floor(ms / 1000)), BigInt((ms % 1000) * 1000)]);
  check(libc.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, tv.byteLength), "setsockopt", "SO_SNDTIMEO");
}

/** A socket of `type` (SOCK_STREAM, SOCK_DGRAM) connected to host:port; close-on-exec. */
export function connectInet4(host: string, port: number, type: number, timeoutMs: number): number {
  // struct sockaddr_in { sa_family_t family; in_port_t port (big-endian); struct in_addr addr; char zero[8]; }
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_INET, 0);
  addr.writeUInt16BE(port, 2);
  ipv4Bytes(host).copy(addr, 4);
  const fd = check(libc.socket(AF_INET, type | SOCK_CLOEXEC, 0), "socket", `${host}:${port}`);
  try {
    setSendTimeout(fd, timeoutMs);
    check(libc.connect(fd, addr, addr.length), "connect", `${host}:${port}`);
  } catch (e) {
    close(fd);
    throw e;
  }
  return fd;
}

/** One send on a connected socket: a datagram whole, or a stream's bytes (all of them, or an error). */
export function sendBytes(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) {
    const rest = data.subarray(off);
    // struct iovec { void *base; size_t len; }; struct msghdr { name, namelen, iov, iovlen, control, controllen, flags }
    const iov = new BigUint64Array([BigInt(ptr(rest)), BigInt(rest.length)]);
    const msg = new BigUint64Array([0n, 0n, BigInt(ptr(iov)), 1n, 0n, 0n, 0n]);
    off += check(libc.sendmsg(fd, msg, MSG_NOSIGNAL), "sendmsg");
  }
}

/** Runs `make` with this thread in the network namespace `nsFd` (its sockets stay there), then comes back. */
export function inNetworkNamespace<T>(nsFd: number, make: () => T): T {
  const own = open("/proc/thread-self/ns/net", O_RDONLY);
  try {
    setns(nsFd, CLONE_NEWNET, "network namespace of box run");
    try {
      return make();
    } finally {
      setns(own, CLONE_NEWNET, "the init's own network namespace");
    }
  } finally {
    close(own);
  }
}
