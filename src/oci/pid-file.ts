// --pid-file, for create and exec: what containerd's shim reads to know the process.
import { writeFileAtomic } from "../sys/fs.ts";

/** Digits only, no newline (containerd reads it with Atoi), written whole or not at all. */
export function writePidFile(path: string, pid: number): void {
  writeFileAtomic(path, String(pid), 0o644);
}
