// Writes a busybox rootfs (Debian's busybox-static) to the given directory.
import { busyboxRootfs } from "../test/helpers/rootfs.ts";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: bun build/busybox-rootfs.ts DIR");
  process.exit(2);
}
console.log(busyboxRootfs(dir));
