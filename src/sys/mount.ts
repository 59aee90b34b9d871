// mount(2), umount2(2), pivot_root(2), mknod(2), sethostname(2) as throwing wrappers.
import { check, cstr, libc } from "./libc.ts";

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

const AT_FDCWD = -100;
const AT_RECURSIVE = 0x8000;
const MOUNT_ATTR_RDONLY = 0x1;

/** Read-only for the mount at `target` and every mount below it (mount_setattr, Linux 5.12). */
export function makeReadOnlyRecursive(target: string): void {
  // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd }
  const attr = new BigUint64Array([BigInt(MOUNT_ATTR_RDONLY), 0n, 0n, 0n]);
  check(libc.mount_setattr(AT_FDCWD, cstr(target), AT_RECURSIVE, attr, attr.byteLength), "mount_setattr", target);
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

export function chdir(path: string): void {
  check(libc.chdir(cstr(path)), "chdir", path);
}
