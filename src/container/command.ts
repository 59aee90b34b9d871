// Finds the payload's executable inside the container the way Docker reports it: 127 when it
// does not exist, 126 when it cannot be executed.
import type { FileStat } from "../sys/fs.ts";
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, UserError } from "./errors.ts";

/**
 * stat(2) of a path in the container, resolved inside its root (statInRoot): the path is the
 * image's, and a plain stat by box's init (which holds host descriptors) would tell the image
 * which host paths exist through /proc/self/fd/N.
 */
type StatInContainer = (path: string) => FileStat;

function isExecutableFile(stat: StatInContainer, path: string): boolean {
  try {
    const st = stat(path);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Returns the path to execve; `cwd` is the payload's working directory. */
export function resolveCommand(name: string, path: string | undefined, cwd: string, stat: StatInContainer): string {
  if (name.includes("/")) {
    const full = name.startsWith("/") ? name : `${cwd}/${name}`;
    let st;
    try {
      st = stat(full);
    } catch {
      throw new UserError(`exec: "${name}": stat ${name}: no such file or directory`, EXIT_NOT_FOUND);
    }
    if (!st.isFile() || (st.mode & 0o111) === 0) {
      throw new UserError(`exec: "${name}": permission denied`, EXIT_NOT_EXECUTABLE);
    }
    return name;
  }
  for (const dir of (path ?? "").split(":")) {
    const candidate = `${dir || "."}/${name}`;
    if (isExecutableFile(stat, candidate.startsWith("/") ? candidate : `${cwd}/${candidate}`)) return candidate;
  }
  throw new UserError(`exec: "${name}": executable file not found in $PATH`, EXIT_NOT_FOUND);
}
