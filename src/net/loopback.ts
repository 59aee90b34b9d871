// A new network namespace starts with `lo` down; containers expect it up.
import { check, libc } from "../sys/libc.ts";
import { AF_INET, SOCK_CLOEXEC, SOCK_DGRAM } from "../sys/constants.ts";

const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;

export function bringUpLoopback(): void {
  const sock = check(libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket");
  try {
    // struct ifreq: char name[16]; short flags at offset 16 (inside a 24-byte union)
    const ifreq = Buffer.alloc(40);
    ifreq.write("lo\0", 0);
    check(libc.ioctl(sock, SIOCGIFFLAGS, ifreq), "ioctl SIOCGIFFLAGS", "lo");
    ifreq.writeUInt16LE(ifreq.readUInt16LE(16) | IFF_UP, 16);
    check(libc.ioctl(sock, SIOCSIFFLAGS, ifreq), "ioctl SIOCSIFFLAGS", "lo");
  } finally {
    libc.close(sock);
  }
}
