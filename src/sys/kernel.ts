// The running kernel's release ("6.1.0-27-amd64"), read once per process.
import { readFile } from "./fs.ts";

let release: string | undefined;

export function kernelRelease(): string {
  return (release ??= readFile("/proc/sys/kernel/osrelease").trim());
}
