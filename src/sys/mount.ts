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

export function pivotRoot(newRoot: string, putOld: string): void {
  check(libc.syscall(SYS_pivot_root, cstr(newRoot), cstr(putOld)), "pivot_root", newRoot);
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
