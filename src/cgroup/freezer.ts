// Pause and resume a container's payload: v1 freezer.state, v2 cgroup.freeze. The init lives
// outside the container's cgroup, so it stays responsive while the payload is frozen.
import { readFile, writeFile } from "../sys/fs.ts";
import { dirname, join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import { detectCgroups, type CgroupLayout } from "./detect.ts";
import { controllerDir } from "./events.ts";

function freezerFile(dirs: string[], layout: CgroupLayout): { path: string; frozen: string; thawed: string } {
  if (layout.version === 2) return { path: join(dirs[0]!, "cgroup.freeze"), frozen: "1", thawed: "0" };
  const dir = controllerDir(dirs, "freezer", layout);
  if (!dir) throw new UserError("pausing needs the freezer cgroup controller, which this host does not have");
  return { path: join(dir, "freezer.state"), frozen: "FROZEN", thawed: "THAWED" };
}

/**
 * Whether these cgroups, or their parents where they do not exist yet, are frozen or freezing
 * (themselves or through a parent): a process put in one would never run, nor die, nor let its
 * init report. False where there is no freezer.
 */
export function isFrozen(dirs: string[]): boolean {
  const layout = detectCgroups();
  const frozen = (at: string[]) => {
    const f = freezerFile(at, layout);
    if (layout.version === 1) return readFile(f.path).trim() !== f.thawed;
    return readFile(f.path).trim() === f.frozen || /^frozen 1$/m.test(readFile(join(at[0]!, "cgroup.events")));
  };
  try {
    return frozen(dirs);
  } catch {
    try {
      return frozen(dirs.map((d) => dirname(d)));
    } catch {
      return false;
    }
  }
}

/** Thaws at once, without waiting (a kill follows); without a freezer nothing was frozen. */
export function thaw(dirs: string[]): void {
  try {
    const f = freezerFile(dirs, detectCgroups());
    writeFile(f.path, f.thawed);
  } catch {
    // No freezer controller, or the cgroup is gone.
  }
}

/**
 * Freezes at once and waits (at most a second) until the kernel says it is done, blocking: for
 * a kill of every process that nothing may escape by forking. False without a freezer.
 */
export function freezeNow(dirs: string[]): boolean {
  const layout = detectCgroups();
  let f: ReturnType<typeof freezerFile>;
  try {
    f = freezerFile(dirs, layout);
    writeFile(f.path, f.frozen);
  } catch {
    return false;
  }
  const done = () => (layout.version === 1 ? readFile(f.path).trim() === f.frozen : /^frozen 1$/m.test(readFile(join(dirs[0]!, "cgroup.events"))));
  for (let i = 0; i < 500 && !done(); i++) Bun.sleepSync(2);
  return true;
}

/** Freezes (or thaws) every process of the container and waits until the kernel says it is done. */
export async function setFrozen(dirs: string[], frozen: boolean, layout: CgroupLayout = detectCgroups()): Promise<void> {
  const f = freezerFile(dirs, layout);
  const want = frozen ? f.frozen : f.thawed;
  writeFile(f.path, want);
  // v1 passes through FREEZING; v2 reports "frozen 1" in cgroup.events once it is complete.
  const current = () =>
    layout.version === 1
      ? readFile(f.path).trim()
      : /^frozen (\d)$/m.exec(readFile(join(dirs[0]!, "cgroup.events")))?.[1];
  const done = () => current() === want;
  for (let i = 0; i < 500 && !done(); i++) await Bun.sleep(2);
  if (!done()) throw new UserError(`the container did not ${frozen ? "freeze" : "thaw"} within a second`);
}
