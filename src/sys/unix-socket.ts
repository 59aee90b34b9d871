// A unix socket's client end, and the one message of runc's --console-socket protocol:
// a name, with a descriptor attached (SCM_RIGHTS).
import { ptr } from "bun:ffi";
import { check, cstr, libc } from "./libc.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM } from "./constants.ts";
import { close } from "./fs.ts";
import { Errno, SyscallError } from "./errors.ts";

const SUN_PATH_MAX = 108;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;

/** Connects to the socket at `path` (a stream, unless `type` says SOCK_DGRAM); the descriptor is close-on-exec. */
export function connectUnix(path: string, type = SOCK_STREAM): number {
  const name = cstr(path);
  if (name.length > SUN_PATH_MAX) throw new SyscallError("connect", Errno.ENAMETOOLONG, path);
  // struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  const fd = check(libc.socket(AF_UNIX, type | SOCK_CLOEXEC, 0), "socket", path);
  try {
    check(libc.connect(fd, addr, addr.length), "connect", path);
  } catch (e) {
    close(fd);
    throw e;
  }
  return fd;
}

/** One sendmsg: `name` as the data (a stream needs at least a byte), `fd` as SCM_RIGHTS. */
export function sendFd(socket: number, fd: number, name: string): void {
  const data = Buffer.from(name);
  // struct iovec { void *base; size_t len; }
  const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.length)]);
  // struct cmsghdr { size_t len; int level; int type; } + one int, padded to CMSG_SPACE(4) = 24
  const control = Buffer.alloc(24);
  control.writeBigUInt64LE(20n, 0);
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  control.writeInt32LE(fd, 16);
  // struct msghdr { name, namelen(+pad), iov, iovlen, control, controllen, flags(+pad) }
  const msg = new BigUint64Array([0n, 0n, BigInt(ptr(iov)), 1n, BigInt(ptr(control)), BigInt(control.length), 0n]);
  check(libc.sendmsg(socket, msg, 0), "sendmsg", "console socket");
}
