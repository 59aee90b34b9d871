// A layer says "deleted below" with an empty file .wh.NAME, and "this directory replaces the one
// below" with .wh..wh..opq in it (the OCI image spec's whiteouts); overlayfs says the same with a
// 0/0 character device and an "opaque" xattr. Other .wh..wh.* names are AUFS bookkeeping.
import { isRootless } from "../sys/process.ts";

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";
export const AUFS_META_PREFIX = ".wh..wh.";

/** trusted.* needs the host's CAP_SYS_ADMIN; rootless overlays read user.* (`userxattr`). */
export function opaqueXattr(): string {
  return isRootless() ? "user.overlay.opaque" : "trusted.overlay.opaque";
}
