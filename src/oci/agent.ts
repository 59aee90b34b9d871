// A bundle's seccomp agent (linux.seccomp.listenerPath): each process that loads a filter with
// SCMP_ACT_NOTIFY rules sends it its listener, with runc's container process state as the message.
import { connectUnix } from "../sys/unix-socket.ts";
import { describeError } from "../sys/errors.ts";
import { UserError } from "../container/errors.ts";
import type { ContainerSpec } from "../container/spec.ts";
import type { SpawnOptions } from "../sys/spawn.ts";
import { OCI_VERSION, type OciState } from "./state.ts";

/**
 * Connected now, while the agent's path is at hand (the init's, before pivot_root); the spawn
 * child sends the listener over it once the filter is in. `pid` in the message is the
 * container's process's; an agent learns each notifying process's own from the notification.
 */
export function connectSeccompAgent(agent: NonNullable<ContainerSpec["seccompAgent"]>, state: OciState): NonNullable<SpawnOptions["seccompAgent"]> {
  let socket: number;
  try {
    socket = connectUnix(agent.listenerPath);
  } catch (e) {
    throw new UserError(`failed to connect with seccomp agent specified in the seccomp profile (linux.seccomp.listenerPath): ${describeError(e)}`);
  }
  const message = { ociVersion: OCI_VERSION, fds: ["seccompFd"], pid: state.pid ?? 0, metadata: agent.metadata ?? "", state: { ...state, status: "running" } };
  return { socket, message: JSON.stringify(message) };
}
