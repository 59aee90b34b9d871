// The runtime spec's state of a container: what `box oci state` prints and every hook reads on
// its stdin (startContainer hooks get it from the init, which has it in its plan).
import type { ContainerSpec } from "../container/spec.ts";

export const OCI_VERSION = "1.2.0";

export type OciStatus = "creating" | "created" | "running" | "paused" | "stopped";

export interface OciState {
  ociVersion: string;
  id: string;
  status: OciStatus;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/** The state of a bundle's container (`pid`: its init's, while there is one). */
export function hookState(spec: ContainerSpec, status: OciStatus, pid: number | undefined): OciState {
  const runtime = spec.runtime!;
  return { ociVersion: OCI_VERSION, id: spec.id, status, ...(pid ? { pid } : {}), bundle: runtime.bundle, ...(Object.keys(spec.annotations ?? {}).length ? { annotations: spec.annotations } : {}) };
}
