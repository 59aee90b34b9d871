// Pausing a running container (box pause/unpause, box oci pause/resume): its cgroup frozen or
// thawed, and the state saying so.
import { setFrozen } from "../cgroup/freezer.ts";
import { cgroupsFor, type LiveContainer } from "./live.ts";
import { writeState } from "./store.ts";

export async function setPaused(c: LiveContainer, paused: boolean, command: string): Promise<void> {
  await setFrozen(cgroupsFor(c, command), paused);
  writeState(c.paths, { ...c.state, status: paused ? "paused" : "running" });
}
