// Pausing a running container (box pause/unpause, box oci pause/resume): its cgroup frozen or
// thawed, and the state saying so.
import { setFrozen } from "../cgroup/freezer.ts";
import { cgroupsFor, type LiveContainer } from "./live.ts";
import { mayFollow, moveTo } from "./lifecycle.ts";
import { UserError } from "./errors.ts";

export async function setPaused(c: LiveContainer, paused: boolean, command: string): Promise<void> {
  const to = paused ? "paused" : "running";
  // Before the freezer: a container that may not become `to` (restarting, exited) stays as it is.
  if (!mayFollow(c.state.status, to)) throw new UserError(`container ${c.spec.name} is ${c.state.status}: it cannot be ${paused ? "paused" : "unpaused"}`);
  await setFrozen(cgroupsFor(c, command), paused);
  moveTo(c.paths, to);
}
