// The working directory of a process started in a container (box run -w, an image's WorkingDir,
// box exec -w, a bundle's process.cwd).
import { normalize } from "../path.ts";

/**
 * A path through another process's descriptors (/proc/self/fd/N, /proc/1/cwd, …) names whatever
 * that process holds open, which for box's own processes were directories of the host
 * (CVE-2024-21626). The spawn trampoline closes box's descriptors and checks the directory it
 * reached is inside the container's root; such a path is refused up front with a clear line.
 */
const PROCESS_HANDLE = /^\/proc\/(self|thread-self|\d+)(\/task\/(\d+|self))?\/(fd|fdinfo|cwd|root|map_files)(\/|$)/;

/** Why `path` cannot be a working directory, or undefined when it can. */
export function workdirProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return "it needs to be an absolute path";
  if (path.includes("\0")) return "it contains a NUL byte";
  if (PROCESS_HANDLE.test(normalize(path))) return "it leads through a process's descriptors (/proc/PID/fd, cwd, root), which would reach outside the container";
  return undefined;
}
