// A user namespace with given maps, held by a descriptor: made through a short-lived process
// (a multi-threaded Bun process cannot unshare one itself; see docs/ARCHITECTURE.md).
import { open, readFile, writeFile } from "./fs.ts";
import { O_CLOEXEC, O_RDONLY, SIGKILL } from "./constants.ts";
import { kill, waitPid } from "./process.ts";
import { userNamespaceHolder } from "./spawn.ts";

/** One line of a uid_map or gid_map: `size` ids from `container` inside are `host` and up outside. */
export interface IdRange {
  container: number;
  host: number;
  size: number;
}

function mapText(ranges: IdRange[]): string {
  return ranges.map((r) => `${r.container} ${r.host} ${r.size}\n`).join("");
}

/**
 * A new user namespace with these maps, as an open /proc/PID/ns/user (close-on-exec). Its
 * holder process is gone when this returns: the descriptor keeps the namespace alive.
 */
export function openUserNamespace(uids: IdRange[], gids: IdRange[]): number {
  const pid = userNamespaceHolder();
  try {
    const proc = `/proc/${procPid(pid)}`;
    // Each map in one write, as the kernel requires; setgroups stays allowed (box is privileged).
    writeFile(`${proc}/uid_map`, mapText(uids));
    writeFile(`${proc}/gid_map`, mapText(gids));
    return open(`${proc}/ns/user`, O_RDONLY | O_CLOEXEC);
  } finally {
    kill(pid, SIGKILL);
    waitPid(pid, false);
  }
}

/**
 * The pid of this thread's child `pid` as /proc shows it. They differ in box's init: it is in
 * the container's pid namespace while /proc is still the host's (the container's own is mounted
 * later, inside the rootfs). /proc's NSpid line lists a task's pid in each namespace, innermost last.
 */
function procPid(pid: number): number {
  for (const child of readFile("/proc/thread-self/children").split(" ").filter(Boolean)) {
    const nspid = /^NSpid:\s+(.*)$/m.exec(readFile(`/proc/${child}/status`))?.[1]?.trim().split(/\s+/);
    if (nspid && Number(nspid[nspid.length - 1]) === pid) return Number(child);
  }
  return pid;
}
