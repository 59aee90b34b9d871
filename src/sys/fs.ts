// Files and directories through libc, synchronously. box's start path uses these instead of
// node:fs, whose module alone costs ~0.8 ms of every process start (measured with a compiled
// binary; see docs/ARCHITECTURE.md). Errors are SyscallErrors: `open /etc/hosts: ENOENT`.
import { check, errno, libc } from "./libc.ts";
import { Errno, SyscallError } from "./errors.ts";
import { AT_EMPTY_PATH, AT_FDCWD, O_CLOEXEC, O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_EXCL, O_DIRECTORY, O_APPEND, O_NONBLOCK, O_NOFOLLOW, O_PATH } from "./constants.ts";

const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_REMOVEDIR = 0x200;
const STATX_BASIC_STATS = 0x7ff;
const S_IFMT = 0o170000;

export interface FileStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  ino: number;
  nlink: number;
  /** The device the file is on, as makedev(major, minor). */
  dev: number;
  /** For device nodes: the device, as makedev(major, minor), and its two numbers. */
  rdev: number;
  rdevMajor: number;
  rdevMinor: number;
  mtimeMs: number;
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isFIFO(): boolean;
}

// Reused for every call: these run on each container's critical path, and an allocation per
// path costs more than the system call.
const statxBuf = Buffer.alloc(256);
const statxU32 = new Uint32Array(statxBuf.buffer, statxBuf.byteOffset, 64);
const pathBufs = [Buffer.allocUnsafe(8192), Buffer.allocUnsafe(8192)];

/** A NUL-terminated copy of path in scratch buffer `slot` (0 or 1), valid until the next call. */
function cpath(path: string, slot = 0): Buffer {
  // C would stop at a NUL inside the string and act on a shorter path than the one checked.
  if (path.includes("\0")) throw new SyscallError("path", Errno.EINVAL, JSON.stringify(path));
  const buf = pathBufs[slot]!;
  const n = buf.write(path, 0, buf.length - 1);
  if (n >= buf.length - 2) throw new SyscallError("path", Errno.ENAMETOOLONG, path.slice(0, 64));
  buf[n] = 0;
  return buf;
}

function makedev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
}

function statAt(dirfd: number, path: string, flags: number, name: string): FileStat {
  check(libc.statx(dirfd, cpath(path), flags, STATX_BASIC_STATS, statxBuf), name, path);
  const w = statxU32;
  // struct statx: 32-bit words; 64-bit fields as low + high word (little-endian).
  const mode = w[7]! & 0xffff;
  const type = mode & S_IFMT;
  return {
    mode,
    uid: w[5]!,
    gid: w[6]!,
    ino: w[8]! + w[9]! * 2 ** 32,
    nlink: w[4]!,
    size: w[10]! + w[11]! * 2 ** 32,
    mtimeMs: (w[28]! + w[29]! * 2 ** 32) * 1000 + w[30]! / 1e6,
    rdev: makedev(w[32]!, w[33]!),
    rdevMajor: w[32]!,
    rdevMinor: w[33]!,
    dev: makedev(w[34]!, w[35]!),
    isDirectory: () => type === 0o040000,
    isFile: () => type === 0o100000,
    isSymbolicLink: () => type === 0o120000,
    isCharacterDevice: () => type === 0o020000,
    isBlockDevice: () => type === 0o060000,
    isFIFO: () => type === 0o010000,
  };
}

export function stat(path: string): FileStat {
  return statAt(AT_FDCWD, path, 0, "stat");
}

export function lstat(path: string): FileStat {
  return statAt(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, "lstat");
}

export function fstat(fd: number): FileStat {
  return statAt(fd, "", AT_EMPTY_PATH, "fstat");
}

/** Whether the path exists (following symlinks), like test -e. */
export function exists(path: string): boolean {
  return libc.access(cpath(path), 0) === 0;
}

/** open(2); the descriptor is always close-on-exec (the spawn trampoline maps what a child gets). */
export function open(path: string, flags: number, mode = 0o666): number {
  return check(libc.open(cpath(path), flags | O_CLOEXEC, mode), "open", path);
}

export function close(fd: number): void {
  check(libc.close(fd), "close", String(fd));
}

/** One read(2) into buf; 0 at EOF. */
export function read(fd: number, buf: Uint8Array): number {
  for (;;) {
    const n = Number(libc.read(fd, buf, buf.length));
    if (n >= 0) return n;
    if (errno() !== Errno.EINTR) throw new SyscallError("read", errno(), String(fd));
  }
}

const SYS_lseek = 8;
const SEEK_SET = 0;

/** The next read(2) of fd starts at byte `offset`. */
export function seek(fd: number, offset: number, path?: string): void {
  check(libc.syscall(SYS_lseek, fd as never, offset as never, SEEK_SET as never, null, null), "lseek", path ?? String(fd));
}

/**
 * Writes all of data, however many write(2) calls it takes. `waitWhenFull`: EAGAIN (a full
 * non-blocking pipe) means wait a moment and go on rather than fail.
 */
function writeAll(fd: number, data: string | Uint8Array, path: string | undefined, waitWhenFull: boolean): void {
  let bytes = typeof data === "string" ? Buffer.from(data) : data;
  while (bytes.length > 0) {
    const n = Number(libc.write(fd, bytes, bytes.length));
    if (n >= 0) {
      bytes = bytes.subarray(n);
      continue;
    }
    const e = errno();
    if (e === Errno.EAGAIN && waitWhenFull) Bun.sleepSync(1);
    else if (e !== Errno.EINTR) throw new SyscallError("write", e, path ?? String(fd));
  }
}

/** Writes all of data, however many write(2) calls it takes. */
export function write(fd: number, data: string | Uint8Array, path?: string): void {
  writeAll(fd, data, path, false);
}

/**
 * All of `data` to fd, blocking or not: Bun leaves its stdio non-blocking. For stdout and stderr
 * without node's streams (~3 ms to load).
 */
export function writeWaiting(fd: number, data: string | Uint8Array, path?: string): void {
  writeAll(fd, data, path, true);
}

/** Everything left to read from fd, until EOF. */
const readBuf = Buffer.allocUnsafe(65536);

/** Everything left to read from fd, until EOF; more than `limit` bytes is an EFBIG error. */
export function readAll(fd: number, path?: string, limit = Infinity): Buffer {
  const chunks: Buffer[] = [];
  const buf = readBuf;
  for (let total = 0; ; ) {
    let n: number;
    try {
      n = read(fd, buf);
    } catch (e) {
      throw path !== undefined && e instanceof SyscallError ? new SyscallError("read", e.errno, path) : e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    if ((total += n) > limit) throw new SyscallError("read", Errno.EFBIG, path ?? String(fd));
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

export function readFileBytes(path: string): Buffer {
  const fd = open(path, O_RDONLY);
  try {
    return readAll(fd, path);
  } finally {
    libc.close(fd);
  }
}

export function readFile(path: string): string {
  return readFileBytes(path).toString("utf8");
}

export interface WriteOptions {
  mode?: number;
  /** Fail with EEXIST when the file exists (O_EXCL). */
  exclusive?: boolean;
  append?: boolean;
}

/** Creates or truncates path and writes data; cgroup and /proc files take one write each. */
export function writeFile(path: string, data: string | Uint8Array, options: WriteOptions = {}): void {
  const flags = O_WRONLY | O_CREAT | (options.exclusive ? O_EXCL : 0) | (options.append ? O_APPEND : O_TRUNC);
  const fd = open(path, flags, options.mode ?? 0o666);
  try {
    write(fd, data, path);
  } finally {
    libc.close(fd);
  }
}

/**
 * Replaces path so that readers see the old or the new content, never a torn one; `durable`
 * also fsyncs the data before the rename (records that must survive a crash).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: number, durable = false): void {
  const temp = `${path}.tmp-${process.pid}`;
  try {
    const fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    try {
      write(fd, data, temp);
      if (durable) fsync(fd);
    } finally {
      libc.close(fd);
    }
    rename(temp, path);
  } catch (e) {
    libc.unlinkat(AT_FDCWD, cpath(temp), 0);
    throw e;
  }
}

const O_TMPFILE = 0o20000000 | O_DIRECTORY;
const SYS_linkat = 265;
const AT_SYMLINK_FOLLOW = 0x400;

/**
 * Creates `path` holding `data` unless it exists (EEXIST), all at once: the data goes into an
 * unnamed file of its directory (O_TMPFILE) that is then linked in. A process killed meanwhile
 * leaves nothing, never an empty claim (a name, a lease, a port). A filesystem without O_TMPFILE
 * gets the plain O_EXCL create-then-write.
 */
export function writeFileExclusive(path: string, data: string, mode: number): void {
  const dir = path.slice(0, Math.max(1, path.lastIndexOf("/")));
  const fd = Number(libc.open(cpath(dir), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
  if (fd < 0) {
    if (errno() !== Errno.EOPNOTSUPP && errno() !== Errno.EISDIR) throw new SyscallError("open O_TMPFILE", errno(), dir);
    return writeFile(path, data, { exclusive: true, mode });
  }
  try {
    write(fd, data, path);
    check(libc.syscall(SYS_linkat, AT_FDCWD as never, cpath(`/proc/self/fd/${fd}`), AT_FDCWD as never, cpath(path, 1), AT_SYMLINK_FOLLOW as never), "link", path);
  } finally {
    libc.close(fd);
  }
}

/** Creates an empty file unless one exists (touch without the times). */
export function touch(path: string, mode: number): void {
  close(open(path, O_WRONLY | O_CREAT | O_APPEND, mode));
}

export function mkdir(path: string, mode = 0o777): void {
  check(libc.mkdir(cpath(path), mode), "mkdir", path);
}

/** mkdir -p: creates the missing parents too; an existing directory is fine. */
export function mkdirs(path: string, mode = 0o777): void {
  for (let tries = 0; ; tries++) {
    if (libc.mkdir(cpath(path), mode) === 0) return;
    const e = errno();
    // Made by another process meanwhile (parallel `box run`s): as good as made here.
    if (e === Errno.EEXIST && stat(path).isDirectory()) return;
    if (e !== Errno.ENOENT || tries > 0) throw new SyscallError("mkdir", e, path);
    const parent = path.slice(0, path.lastIndexOf("/"));
    if (parent) mkdirs(parent, mode);
  }
}

export function readlink(path: string): string {
  const buf = Buffer.allocUnsafe(4096);
  const n = check(libc.readlink(cpath(path), buf, buf.length), "readlink", path);
  return buf.toString("utf8", 0, n);
}

export function symlink(target: string, path: string): void {
  check(libc.symlink(cpath(target), cpath(path, 1)), "symlink", path);
}

export function chmod(path: string, mode: number): void {
  check(libc.chmod(cpath(path), mode), "chmod", path);
}

export function fchown(fd: number, uid: number, gid: number): void {
  check(libc.fchown(fd, uid, gid), "fchown", String(fd));
}

/** The owner of `name` in directory `dirfd`, not following a symlink there. */
export function lchownAt(dirfd: number, name: string, uid: number, gid: number): void {
  check(libc.fchownat(dirfd, cpath(name), uid, gid, AT_SYMLINK_NOFOLLOW), "fchownat", name);
}

export function unlink(path: string): void {
  check(libc.unlinkat(AT_FDCWD, cpath(path), 0), "unlink", path);
}

export function rmdir(path: string): void {
  check(libc.unlinkat(AT_FDCWD, cpath(path), AT_REMOVEDIR), "rmdir", path);
}

export function rename(from: string, to: string): void {
  check(libc.rename(cpath(from), cpath(to, 1)), "rename", to);
}

export function fsync(fd: number): void {
  check(libc.fsync(fd), "fsync", String(fd));
}

/** The names in a directory, without . and .. (getdents64). */
export function readdir(path: string): string[] {
  const fd = open(path, O_RDONLY | O_DIRECTORY);
  const names: string[] = [];
  const buf = Buffer.allocUnsafe(32768);
  try {
    for (;;) {
      const n = check(libc.getdents64(fd, buf, buf.length), "getdents64", path);
      if (n === 0) break;
      for (let off = 0; off < n; ) {
        const reclen = buf.readUInt16LE(off + 16);
        const end = buf.indexOf(0, off + 19);
        const name = buf.toString("utf8", off + 19, end);
        if (name !== "." && name !== "..") names.push(name);
        off += reclen;
      }
    }
  } finally {
    libc.close(fd);
  }
  return names;
}

/** The names in `path`, or none when it does not exist. */
export function readdirIfExists(path: string): string[] {
  try {
    return readdir(path);
  } catch (e) {
    if (isErrno(e, Errno.ENOENT)) return [];
    throw e;
  }
}

/** rm -rf: removes path and everything below it; a missing path is fine. Symlinks are not followed. */
export function removeTree(path: string): void {
  let st: FileStat;
  try {
    st = lstat(path);
  } catch (e) {
    if (isErrno(e, Errno.ENOENT)) return;
    throw e;
  }
  if (!st.isDirectory()) return unlink(path);
  // Another process may still add a file (its last state write) while this one empties the
  // directory: empty it again.
  for (let attempt = 0; ; attempt++) {
    emptyDirectory(path);
    try {
      rmdir(path);
      return;
    } catch (e) {
      if (isErrno(e, Errno.ENOENT)) return;
      if (!isErrno(e, Errno.ENOTEMPTY) || attempt >= 10) throw e;
    }
  }
}

/**
 * Removes everything below `path` by descriptors, one open directory at a time (down into a
 * subdirectory, back up through ".."): a container's upper layer can be nested deeper than any
 * path or stack would allow.
 */
function emptyDirectory(path: string): void {
  let cur = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  let depth = 0;
  try {
    descend: for (;;) {
      for (const name of readdir(`/proc/self/fd/${cur}`)) {
        // ENOENT: gone meanwhile (another process's temporary file, renamed into place).
        if (libc.unlinkat(cur, cpath(name), 0) === 0 || errno() === Errno.ENOENT) continue;
        // A directory without write permission (an image's 0555 /usr/bin): for a user other
        // than root, its owner, who may make it writable (root needs no permission).
        if (errno() === Errno.EACCES) {
          fchmod(cur, 0o700);
          if (libc.unlinkat(cur, cpath(name), 0) === 0 || errno() === Errno.ENOENT) continue;
        }
        if (errno() !== Errno.EISDIR) throw new SyscallError("unlink", errno(), name);
        if (libc.unlinkat(cur, cpath(name), AT_REMOVEDIR) === 0 || errno() === Errno.ENOENT) continue;
        if (errno() !== Errno.ENOTEMPTY) throw new SyscallError("rmdir", errno(), name);
        const next = openAt(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        libc.close(cur);
        cur = next;
        depth++;
        continue descend;
      }
      if (depth === 0) return;
      // Emptied: back up, where it is now an empty directory the next pass removes.
      const parent = openAt(cur, "..", O_RDONLY | O_DIRECTORY);
      libc.close(cur);
      cur = parent;
      depth--;
    }
  } finally {
    libc.close(cur);
  }
}

const statfsBuf = Buffer.alloc(120);

/** The filesystem type (f_type, e.g. CGROUP2_SUPER_MAGIC) of the filesystem holding path. */
export function statfsType(path: string): number {
  check(libc.statfs(cpath(path), statfsBuf), "statfs", path);
  return statfsBuf.readUInt32LE(0);
}

/** Bytes an unprivileged user may still write to the filesystem holding path (f_bavail). */
export function availableBytes(path: string): number {
  check(libc.statfs(cpath(path), statfsBuf), "statfs", path);
  return Number(statfsBuf.readBigUInt64LE(32) * statfsBuf.readBigUInt64LE(8));
}

const SYS_openat2 = 437;
const RESOLVE_IN_ROOT = 0x10;
const RESOLVE_NO_MAGICLINKS = 0x02;

/**
 * Opens `path` as if `rootFd` were "/": absolute symlinks and ".." stay inside it (openat2
 * RESOLVE_IN_ROOT). For files of a container seen from the host, e.g. its /etc/passwd through
 * /proc/PID/root, where a plain open would follow a hostile link to the host's files.
 */
export function openInRoot(rootFd: number, path: string, flags: number): number {
  const how = new BigUint64Array([BigInt(flags | O_CLOEXEC), 0n, BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)]);
  return check(libc.syscall(SYS_openat2, rootFd as never, cpath(path), how, 24 as never, null), "openat2", path);
}

/** The path of `path` with every link resolved, as the kernel reached it (/proc/self/fd's link). */
export function realPath(path: string): string {
  const fd = open(path, O_PATH | O_DIRECTORY);
  try {
    return readlink(`/proc/self/fd/${fd}`);
  } finally {
    libc.close(fd);
  }
}

/** Another name, `name` in `dirfd`, for the file `fd` is open on (linkat through /proc, no capability needed). */
export function linkFdAt(fd: number, dirfd: number, name: string): void {
  check(libc.syscall(SYS_linkat, AT_FDCWD as never, cpath(`/proc/self/fd/${fd}`), dirfd as never, cpath(name, 1), AT_SYMLINK_FOLLOW as never), "link", name);
}

/** stat(2) of `path` as if `rootFd` were "/" (openInRoot's resolution): links lead nowhere outside it. */
export function statInRoot(rootFd: number, path: string): FileStat {
  const fd = openInRoot(rootFd, path, O_PATH);
  try {
    return fstat(fd);
  } finally {
    libc.close(fd);
  }
}

/**
 * A regular file of a container, read from the host, at most `limit` bytes: whatever the
 * container put at that path (a FIFO, /dev/zero, a disk's device node) is refused, not opened
 * for real (O_NONBLOCK keeps a FIFO's open from waiting, O_PATH would not let fstat see less).
 * `proc`: the procfs to reopen the checked descriptor through (the init's: its descriptor of the
 * host's /proc).
 */
export function readFileInRoot(rootFd: number, path: string, limit = 1 << 20, proc = "/proc"): string {
  return withRegularFileInRoot(rootFd, path, O_RDONLY, (fd) => readAll(fd, path, limit).toString("utf8"), proc);
}

/**
 * Writes (O_TRUNC, or with `append` O_APPEND) a regular file of a container from the host; as
 * readFileInRoot, anything else there is refused before it is opened for real.
 */
export function writeFileInRoot(rootFd: number, path: string, data: string, append = false): void {
  withRegularFileInRoot(rootFd, path, O_WRONLY | (append ? O_APPEND : O_TRUNC), (fd) => write(fd, data, path));
}

function withRegularFileInRoot<T>(rootFd: number, path: string, flags: number, use: (fd: number) => T, proc = "/proc"): T {
  const fd = openInRoot(rootFd, path, O_PATH);
  try {
    if (!fstat(fd).isFile()) throw new SyscallError("open", Errno.EINVAL, `${path} (not a regular file)`);
    // Reopened through the checked descriptor: the same file, now for real.
    const opened = open(`${proc}/self/fd/${fd}`, flags | O_NONBLOCK);
    try {
      return use(opened);
    } finally {
      libc.close(opened);
    }
  } finally {
    libc.close(fd);
  }
}

// *at variants for walking a tree by descriptors: nothing is resolved by path twice, so a
// symlink swapped in meanwhile cannot redirect the walk (box cp into a running container).

export function statAtFd(dirfd: number, name: string): FileStat {
  return statAt(dirfd, name, AT_SYMLINK_NOFOLLOW, "lstat");
}

export function openAt(dirfd: number, name: string, flags: number, mode = 0o666): number {
  return check(libc.openat(dirfd, cpath(name), flags | O_CLOEXEC, mode), "open", name);
}

export function mkdirAt(dirfd: number, name: string, mode: number): void {
  check(libc.mkdirat(dirfd, cpath(name), mode), "mkdir", name);
}

export function symlinkAt(target: string, dirfd: number, name: string): void {
  check(libc.symlinkat(cpath(target), dirfd, cpath(name, 1)), "symlink", name);
}

export function readlinkAt(dirfd: number, name: string): string {
  const buf = Buffer.allocUnsafe(4096);
  const n = check(libc.readlinkat(dirfd, cpath(name), buf, buf.length), "readlink", name);
  return buf.toString("utf8", 0, n);
}

export function unlinkAt(dirfd: number, name: string): void {
  check(libc.unlinkat(dirfd, cpath(name), 0), "unlink", name);
}

export function renameAt(fromDir: number, from: string, toDir: number, to: string): void {
  check(libc.renameat(fromDir, cpath(from), toDir, cpath(to, 1)), "rename", to);
}

export function fchmod(fd: number, mode: number): void {
  check(libc.fchmod(fd, mode), "fchmod", String(fd));
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const SYS_prlimit64 = 302;
const RLIMIT_NOFILE = 7;

/** An exclusive flock(2) if nobody holds one: false when somebody does. */
export function tryLockExclusive(fd: number, path: string): boolean {
  if (libc.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  if (errno() === Errno.EAGAIN) return false;
  throw new SyscallError("flock", errno(), path);
}

/** Opens `path` (a directory box made) and holds an flock on it while the descriptor is open: a
 * garbage collector that finds it locked knows it is still being worked on. */
export function holdLock(path: string): number {
  const fd = open(path, O_RDONLY);
  lockExclusive(fd, path);
  return fd;
}

/** Raises this process's soft limit on open files to its hard limit (a deep tree walked by
 * descriptors needs one per level). */
export function raiseFileLimit(): void {
  const limits = fileLimit(0);
  limits[0] = limits[1]!;
  check(libc.syscall(SYS_prlimit64, 0 as never, RLIMIT_NOFILE as never, limits, null, null), "prlimit64", "RLIMIT_NOFILE");
}

/** RLIMIT_NOFILE of process `pid` (0: this one): soft, hard. */
function fileLimit(pid: number): BigUint64Array {
  const limits = new BigUint64Array(2);
  check(libc.syscall(SYS_prlimit64, pid as never, RLIMIT_NOFILE as never, null, limits, null), "prlimit64", "RLIMIT_NOFILE");
  return limits;
}

/**
 * The limit on open files of the process that started this one (what Bun raised at this one's
 * start): what a process started on the caller's behalf inherits from it, as under runc.
 */
export function callerFileLimit(): { soft: number; hard: number } {
  const limits = fileLimit(process.ppid);
  const value = (v: bigint) => (v >= 2n ** 63n ? -1 : Number(v));
  return { soft: value(limits[0]!), hard: value(limits[1]!) };
}

/** An exclusive flock(2) on an open file or directory, waiting for it; released when fd closes. */
export function lockExclusive(fd: number, path: string): void {
  for (;;) {
    if (libc.flock(fd, LOCK_EX) === 0) return;
    if (errno() !== Errno.EINTR) throw new SyscallError("flock", errno(), path);
  }
}

/**
 * Runs `fn` holding an exclusive flock on the file `path`, made when it is missing (with its
 * directory, unless `makeDirectory` is false: a lock in a directory that is gone fails with
 * ENOENT): one box process at a time in what the lock guards.
 */
export function withLockFile<T>(path: string, fn: () => T, makeDirectory = true): T {
  const openLock = () => open(path, O_RDONLY | O_CREAT, 0o600);
  let fd: number;
  try {
    fd = openLock();
  } catch (e) {
    if (!isErrno(e, Errno.ENOENT) || !makeDirectory) throw e;
    mkdirs(path.slice(0, path.lastIndexOf("/")), 0o700);
    fd = openLock();
  }
  try {
    lockExclusive(fd, path);
    return fn();
  } finally {
    close(fd);
  }
}

/**
 * Renames the directory `temp` to `final` unless `final` is there already (found first, or put
 * there meanwhile by another process doing the same): false then, and `temp` is the caller's to
 * remove.
 */
export function renameIntoPlace(temp: string, final: string): boolean {
  if (exists(final)) return false;
  try {
    rename(temp, final);
    return true;
  } catch (err) {
    if ((isErrno(err, Errno.ENOTEMPTY) || isErrno(err, Errno.EEXIST)) && exists(final)) return false;
    throw err;
  }
}

// Through syscall(2): a symbol of its own would cost every box process its FFI stub at start.
const SYS_fsetxattr = 190;
const SYS_fgetxattr = 193;

export function fsetxattr(fd: number, name: string, value: string, path: string): void {
  const data = Buffer.from(value);
  check(libc.syscall(SYS_fsetxattr, fd as never, cpath(name), data, data.length as never, 0 as never), "fsetxattr", `${path} ${name}`);
}

/** An extended attribute of an open file or directory; undefined when it has none. */
export function fgetxattr(fd: number, name: string, shown: string): string | undefined {
  const buf = Buffer.alloc(256);
  const n = Number(libc.syscall(SYS_fgetxattr, fd as never, cpath(name), buf, buf.length as never, null));
  if (n >= 0) return buf.subarray(0, n).toString();
  if (errno() === Errno.ENODATA || errno() === Errno.EOPNOTSUPP) return undefined;
  throw new SyscallError("fgetxattr", errno(), `${shown} ${name}`);
}

/** Whether err is a failed system call with this errno. */
export function isErrno(err: unknown, errnoValue: number): boolean {
  return err instanceof SyscallError && err.errno === errnoValue;
}
