// Where box oci keeps its containers: a box store at --root (runc's /run/runc is /run/box-oci
// here), its run dirs below it (the init mounts a tmpfs over a container's run dir, which must
// not hide the container's own directory).
import { join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import { isRootless } from "../sys/process.ts";
import type { Store } from "../container/store.ts";

export function ociStore(root: string | undefined): Store {
  const dir = root ?? defaultRoot();
  if (/[,:\s]/.test(dir)) throw new UserError(`--root ${dir}: the path must not contain ',', ':' or spaces`);
  return { root: dir, runroot: join(dir, "run") };
}

/** root's under /run, another user's under $XDG_RUNTIME_DIR. */
function defaultRoot(): string {
  if (!isRootless()) return "/run/box-oci";
  if (process.env.XDG_RUNTIME_DIR) return `${process.env.XDG_RUNTIME_DIR}/box-oci`;
  throw new UserError("rootless: set XDG_RUNTIME_DIR or give --root");
}

/** The directory of `--root` where compiled seccomp profiles are kept by digest (src/oci/config.ts). */
export const SECCOMP_CACHE = "seccomp";
