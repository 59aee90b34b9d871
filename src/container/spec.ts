// The one validated description of a container. The CLI builds it from flags; the engine and
// the init read it; nothing downstream re-parses user input.

export interface VolumeSpec {
  /** Absolute host path. */
  source: string;
  /** Absolute path inside the container (resolved safely inside the rootfs at mount time). */
  target: string;
  readOnly: boolean;
}

export type RootfsSpec =
  | { kind: "dir"; path: string }
  | { kind: "image"; ref: string; id: string; layerDirs: string[] };

export type NetworkMode = "none" | "host";

export interface ContainerSpec {
  id: string;
  name: string;
  rootfs: RootfsSpec;
  /** Image reference or the rootfs dir, as the user gave it (for inspect/ps). */
  imageName: string;
  /** argv of the payload: entrypoint + command. */
  command: string[];
  hostname: string;
  /** KEY=VALUE, in order; later entries win. */
  env: string[];
  workdir: string;
  /** As given (`name`, `uid`, `uid:gid`, `name:group`); resolved against the container's /etc. */
  user: string;
  volumes: VolumeSpec[];
  readOnly: boolean;
  remove: boolean;
  interactive: boolean;
  tty: boolean;
  network: NetworkMode;
  /** Capability names (without CAP_) the payload keeps. */
  capabilities: string[];
  created: string;
}

/** Paths on the host that belong to one container. */
export interface ContainerPaths {
  /** Persistent: config.json, the overlay's upper and work dirs. */
  dir: string;
  /** Runtime: state.json, hostname/hosts/resolv.conf, the rootfs mount point. */
  runDir: string;
  /** One cgroup directory per hierarchy (v1) or one (v2); may be empty. */
  cgroups: string[];
}
