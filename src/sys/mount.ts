// mount(2), umount2(2), pivot_root(2), mknod(2), sethostname(2), setdomainname(2) as throwing wrappers.
import { check, cstr, errno, libc } from "./libc.ts";
import { Errno, SyscallError } from "./errors.ts";
import { close, open } from "./fs.ts";
import { kernelRelease } from "./kernel.ts";
import { AT_EMPTY_PATH, AT_FDCWD, O_CLOEXEC, O_DIRECTORY, O_PATH } from "./constants.ts";

const SYS_pivot_root = 155;

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data?: string): void {
  check(
    libc.mount(source === null ? null : cstr(source), cstr(target), fstype === null ? null : cstr(fstype), flags, data === undefined ? null : cstr(data)),
    "mount",
    target,
  );
}

export function umount(target: string, flags: number): void {
  check(libc.umount2(cstr(target), flags), "umount2", target);
}

const AT_RECURSIVE = 0x8000;
const MOUNT_ATTR_RDONLY = 0x1;

/** Read-only for the mount at `target` and every mount below it (mount_setattr, Linux 5.12). */
export function makeReadOnlyRecursive(target: string): void {
  // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd }
  const attr = new BigUint64Array([BigInt(MOUNT_ATTR_RDONLY), 0n, 0n, 0n]);
  check(libc.mount_setattr(AT_FDCWD, cstr(target), AT_RECURSIVE, attr, attr.byteLength), "mount_setattr", target);
}

const SYS_open_tree = 428;
const SYS_move_mount = 429;
const OPEN_TREE_CLONE = 1;
const MOUNT_ATTR_IDMAP = 0x100000;
const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH = 0x40;

/** The filesystem of `source` takes no idmapped mount on this kernel. */
export class IdmapUnsupported extends Error {
  constructor(source: string) {
    super(`a user namespace needs idmapped mounts, and the filesystem of ${source} has none on this kernel (Linux ${kernelRelease()}): ext4, xfs and btrfs have them from 5.12, tmpfs from 6.3`);
  }
}

/**
 * Binds `source` (and, `recursive`, the mounts below it) on `target` with its owners shifted
 * through a user namespace's maps (an idmapped mount, Linux 5.12; overlayfs takes them as
 * layers from 5.19): a file of host uid 0 shows as the uid that namespace maps 0 to.
 */
export function idmappedBind(source: string, target: string, usernsFd: number, recursive: boolean): void {
  const from = open(source, O_PATH | O_DIRECTORY | O_CLOEXEC);
  const to = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
  let tree = -1;
  try {
    const rec = recursive ? AT_RECURSIVE : 0;
    tree = check(libc.syscall(SYS_open_tree, from as never, cstr(""), (OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | rec) as never, null, null), "open_tree", source);
    const attr = new BigUint64Array([BigInt(MOUNT_ATTR_IDMAP), 0n, 0n, BigInt(usernsFd)]);
    if (libc.mount_setattr(tree, cstr(""), AT_EMPTY_PATH | rec, attr, attr.byteLength) !== 0) {
      const e = new SyscallError("mount_setattr MOUNT_ATTR_IDMAP", errno(), source);
      // The filesystem does not take idmapped mounts on this kernel (e.g. tmpfs before 6.3).
      if (e.errno === Errno.EINVAL) throw new IdmapUnsupported(source);
      throw e;
    }
    check(libc.syscall(SYS_move_mount, tree as never, cstr(""), to as never, cstr(""), (MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) as never), "move_mount", target);
  } finally {
    if (tree >= 0) close(tree);
    close(from);
    close(to);
  }
}

/** Attaches a detached mount (an open_tree copy: copyMountIn's) at `target`, a directory. */
export function attachMount(tree: number, target: string): void {
  const to = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
  try {
    check(libc.syscall(SYS_move_mount, tree as never, cstr(""), to as never, cstr(""), (MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) as never), "move_mount", target);
  } finally {
    close(to);
  }
}

export function pivotRoot(newRoot: string, putOld: string): void {
  check(libc.syscall(SYS_pivot_root, cstr(newRoot), cstr(putOld), null, null, null), "pivot_root", newRoot);
}

export function mknod(path: string, mode: number, major: number, minor: number): void {
  // glibc's makedev encoding
  const dev = (BigInt(major & 0xfff) << 8n) | BigInt(minor & 0xff) | (BigInt(minor & ~0xff) << 12n) | (BigInt(major & ~0xfff) << 32n);
  check(libc.mknod(cstr(path), mode, dev), "mknod", path);
}

export function sethostname(name: string): void {
  const b = Buffer.from(name);
  check(libc.sethostname(b, b.length), "sethostname", name);
}

export function setdomainname(name: string): void {
  const b = Buffer.from(name);
  check(libc.setdomainname(b, b.length), "setdomainname", name);
}

export function chdir(path: string): void {
  check(libc.chdir(cstr(path)), "chdir", path);
}

/** chdir to an open directory; `shown` names it in an error. */
export function fchdir(fd: number, shown: string): void {
  check(libc.fchdir(fd), "fchdir", shown);
}
