// `box system boot`: what Docker's daemon does for restart policies when it starts, for a box
// with no daemon, run once at boot (a unit of `box generate systemd`, rc.local, an init script).
import { exists } from "../sys/fs.ts";
import { join } from "../path.ts";
import { STOP_REQUESTED } from "./restart.ts";
import type { LiveContainer } from "./live.ts";

/**
 * Whether the container is started at boot: `always`; `unless-stopped` unless `box stop` or
 * `box kill` ended it (the mark is kept in the store); `on-failure` only if it was running when
 * the machine went down (its init gone without recording an end). Not one that runs already, nor
 * one that never ran (`box create`): there is nothing to bring back.
 */
export function startsAtBoot(c: LiveContainer): boolean {
  if (c.pid !== undefined || c.state.status === "created") return false;
  switch (c.spec.restart?.name) {
    case "always":
      return true;
    case "unless-stopped":
      return !exists(join(c.paths.dir, STOP_REQUESTED));
    case "on-failure":
      return c.interrupted;
    default:
      return false;
  }
}
