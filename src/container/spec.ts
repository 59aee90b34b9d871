import type { RestartSpec } from "./restart.ts";
import type { DeviceSpec, Ulimit } from "../security/options.ts";
import type { UsernsSpec } from "../security/userns.ts";
import type { VolumeOptions } from "./volumes.ts";

// The one validated description of a container. The CLI builds it from flags; the engine and
// the init read it; nothing downstream re-parses user input.

export interface VolumeSpec {
  /** Absolute host path. */
  source: string;
  /** Absolute path inside the container (resolved safely inside the rootfs at mount time). */
  target: string;
  readOnly: boolean;
  /** --mount bind-propagation: MS_SHARED, MS_SLAVE, ... (with MS_REC for the r- forms); absent: rprivate. */
  propagation?: number;
  /** --mount bind-recursive=disabled: only the mount at the source, not the ones below it. */
  nonRecursive?: boolean;
  /**
   * A volume's name (`-v NAME:/x`, `-v /x`, an image's VOLUME): `source` is then its data
   * directory (or a subpath of it), filled in when the container is created.
   */
  volume?: string;
  /** An anonymous volume made for this container: removed with it by `rm -v` and `--rm`. */
  anonymous?: boolean;
  /** An empty volume gets the image's content at `target` first (Docker's copy-up; not with nocopy). */
  copyUp?: boolean;
  /** --mount volume-subpath: this directory of the volume, not its root. */
  subpath?: string;
  /** --mount volume-opt/volume-label: how the volume is made, if this container makes it. */
  create?: { options: VolumeOptions; labels: Record<string, string> };
}

/**
 * One mount in the container, as the runtime spec has it, its options turned into flags once.
 * `box run` makes Docker's list from its flags (src/rootfs/default-mounts.ts); `box oci` takes a
 * bundle's. Both are mounted by the same code (src/rootfs/mounts.ts).
 */
export interface MountSpec {
  /** Absolute path inside the container (resolved inside the rootfs at mount time). */
  destination: string;
  /** A filesystem type, or "bind" (flags then hold MS_BIND, and MS_REC for rbind). */
  type: string;
  /** The host path of a bind; else the filesystem's source ("proc", "tmpfs", ...). */
  source: string;
  flags: number;
  data?: string;
  /** MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE (with MS_REC for the r- forms), set after the mount. */
  propagation?: number;
  /** Read-only for the mounts below a bind too (mount_setattr). */
  recursiveReadOnly?: boolean;
  /** A bind of this directory below `source`, resolved inside it when mounted (a volume's subpath). */
  subpath?: string;
}

/** A namespace of the payload: a new one (absent), the caller's ("host"), or one joined by path. */
export type NamespaceChoice = "host" | { path: string };

/**
 * What a runtime-spec bundle says that `box run` has no flag for: set by `box oci` only, and
 * absent means Docker's defaults, as `box run` has them.
 */
export interface RuntimeSettings {
  /** The bundle's mounts, in order; replaces the default /proc, /dev, /sys, ..., volumes, /etc files. */
  mounts: MountSpec[];
  maskedPaths: string[];
  readonlyPaths: string[];
  /** Whether the payload gets a cgroup and a time namespace of its own. */
  cgroupNamespace: boolean;
  timeNamespace: boolean;
  /** The container's cgroup, relative to each hierarchy's root (linux.cgroupsPath). */
  cgroupPath: string;
  /** v1 devices cgroup rules, in order (`deny a`, `allow c 1:3 rwm`); absent: every device allowed. */
  deviceRules?: string[];
  /** process.user.additionalGids, exactly (not /etc/group's). */
  groups: number[];
  umask?: number;
  /** process.consoleSize: the pty's rows and columns. */
  consoleSize?: { rows: number; columns: number };
  /** MS_* propagation of the new root (linux.rootfsPropagation). */
  rootfsPropagation?: number;
  /** The bundle's directory and hooks: for the state and the hooks, not the init. */
  bundle: string;
  hooks: Hooks;
  /** create --preserve-fds N: the caller's descriptors 3 .. 3+N-1 are the process's too. */
  preserveFds?: number;
}

/** A hook of the runtime spec: a program run with the container's state on its stdin. */
export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  /** seconds */
  timeout?: number;
}

export interface Hooks {
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export type RootfsSpec =
  | { kind: "dir"; path: string }
  | { kind: "image"; ref: string; id: string; layerDirs: string[] };

/**
 * bridge: the store's default bridge network (Docker's default); none: only lo; host: the host's;
 * container:ID: another container's; any other name: a network made by `box network create`.
 */
export type NetworkMode = string;

const CONTAINER_MODE = "container:";

/** --network container:ID: the other container's id (or, as the user typed it, its name); else undefined. */
export function sharedNetwork(network: NetworkMode): string | undefined {
  return network.startsWith(CONTAINER_MODE) ? network.slice(CONTAINER_MODE.length) : undefined;
}

/** --ipc container:ID: the other container's id; else undefined. */
export function sharedIpc(ipcMode: string | undefined): string | undefined {
  return ipcMode?.startsWith(CONTAINER_MODE) ? ipcMode.slice(CONTAINER_MODE.length) : undefined;
}

/** The bridge network a container joins (its own address and veth), if its mode has one. */
export function bridgeNetwork(spec: Pick<ContainerSpec, "network">): string | undefined {
  return spec.network === "none" || spec.network === "host" || sharedNetwork(spec.network) !== undefined ? undefined : spec.network;
}

/** One -p/--publish: traffic to the host's port (on hostIp, or any of its addresses) reaches the container's. */
export interface PortSpec {
  protocol: "tcp" | "udp";
  hostIp?: string;
  hostPort: number;
  /** -p FIRST-LAST:PORT: any free host port from hostPort to this one, chosen at create. */
  hostPortEnd?: number;
  containerPort: number;
}

/** The container's place on a bridge network, decided by the engine when it creates the container. */
export interface Endpoint {
  network: string;
  bridge: string;
  ip: string;
  prefix: number;
  gateway: string;
  mtu: number;
  /** As published: every host port is the one box chose. */
  ports: PortSpec[];
  /** A user-defined network: containers find each other (and themselves) by name. */
  names?: boolean;
  /** --network-alias, network connect --alias: more names of it for the network's containers. */
  aliases?: string[];
  /** --mac-address: its link's MAC, instead of the one made of its address. */
  mac?: string;
  /** Its link in the container; absent: eth0 (the network of --network; connected ones get eth1, ...). */
  device?: string;
}

/** What a container asks of its place on a network: --ip, --network-alias (--alias), --mac-address. */
export interface EndpointOptions {
  ip?: string;
  aliases?: string[];
  mac?: string;
}

/** Every endpoint of a container: its network's, then those `box network connect` added. */
export function endpointsOf(spec: Pick<ContainerSpec, "endpoint" | "connected">): Endpoint[] {
  return [...(spec.endpoint ? [spec.endpoint] : []), ...(spec.connected ?? [])];
}

/** A throttle on one block device (--device-read-bps and friends). */
export interface DeviceRate {
  path: string;
  major: number;
  minor: number;
  /** bytes or operations per second */
  rate: number;
}

/** Resource limits in Docker's terms, converted once from the flags; absent = not limited. */
export interface ResourceSpec {
  /** bytes */
  memory?: number;
  /** memory + swap in bytes; -1 = unlimited swap */
  memorySwap?: number;
  memoryReservation?: number;
  oomKillDisable?: boolean;
  /** CFS period and quota in µs (from --cpus, or --cpu-period/--cpu-quota) */
  cpuPeriod?: number;
  cpuQuota?: number;
  /** relative weight, Docker's 2..262144 scale (v1 cpu.shares) */
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  /** -1 = unlimited */
  pidsLimit?: number;
  /** Docker's 10..1000 scale */
  blkioWeight?: number;
  /** v1 memory.swappiness, 0..100 */
  memorySwappiness?: number;
  /** realtime scheduling period and runtime in µs (v1 cpu.rt_*) */
  cpuRtPeriod?: number;
  cpuRtRuntime?: number;
  /** --blkio-weight-device: `rate` is the weight, Docker's 10..1000 scale */
  blkioWeightDevice?: DeviceRate[];
  deviceReadBps: DeviceRate[];
  deviceWriteBps: DeviceRate[];
  deviceReadIops: DeviceRate[];
  deviceWriteIops: DeviceRate[];
  /**
   * An OCI bundle's limits that runc applies where the host has them and skips where it has not
   * (a controller or file this kernel lacks): written only where the file exists.
   */
  hugepageLimits?: { pageSize: string; limit: number }[];
  netClassId?: number;
  netPriorities?: { name: string; priority: number }[];
  cpuIdle?: number;
  cpuBurst?: number;
  blkioLeafWeight?: number;
  rdma?: { device: string; hcaHandles?: number; hcaObjects?: number }[];
  /** cgroup v2 files written as given (OCI's linux.resources.unified): each must exist. */
  unified?: Record<string, string>;
}

export interface CapabilitySets {
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
}

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
  /** -p/--publish and -P (bridge networks); hostPort 0: any free one, chosen at create. */
  ports: PortSpec[];
  /** The image's EXPOSE and --expose, as "80/tcp". */
  exposed?: string[];
  /** --add-host NAME:IP (IP may be host-gateway); --dns, --dns-search, --dns-option. */
  extraHosts?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** --ip, --network-alias, --mac-address for the endpoint on `network`. */
  endpointOptions?: EndpointOptions;
  /** Set by the engine at create for bridge networking; absent otherwise. */
  endpoint?: Endpoint;
  /** Its endpoints on the networks `box network connect` added, each with a link of its own. */
  connected?: Endpoint[];
  resources: ResourceSpec;
  /** Capability names (without CAP_) the payload keeps. */
  capabilities: string[];
  /**
   * An OCI process's other sets, each as given (within `capabilities`, the bounding set), for
   * root and any other user; absent (box run): `capabilities` for root, nothing for another user.
   */
  capabilitySets?: CapabilitySets;
  /** --privileged: every capability and device, no masked or read-only /proc paths, /sys writable. */
  privileged?: boolean;
  /** --security-opt no-new-privileges: execve grants nothing (setuid bits, file capabilities). */
  noNewPrivileges?: boolean;
  /** The payload's seccomp filter (base64 struct sock_filter[]); absent: none (unconfined, --privileged). */
  seccomp?: string;
  /** seccomp(2) filter flags (an OCI bundle's linux.seccomp.flags: LOG, SPEC_ALLOW, WAIT_KILLABLE_RECV). */
  seccompFlags?: number;
  /**
   * An OCI bundle whose filter notifies (SCMP_ACT_NOTIFY): where its seccomp agent listens. Each
   * process that loads the filter sends the agent its listener there, as runc's do.
   */
  seccompAgent?: { listenerPath: string; metadata?: string };
  /** --device: host device nodes made in the container, allowed in its devices cgroup (v1). */
  devices?: DeviceSpec[];
  /** --ulimit, as Docker's names; -1 is unlimited. */
  ulimits?: Ulimit[];
  /**
   * Started by a user other than root: the init and everything of the container are in a user
   * namespace that maps root to that user; no cgroups, no network but its own lo.
   */
  rootless?: boolean;
  /** --userns=auto, --uidmap/--gidmap: the payload's own user namespace; absent: the host's. */
  userns?: UsernsSpec;
  /** --sysctl, namespaced ones only (checked when the spec is built). */
  sysctls?: Record<string, string>;
  /** -a: the streams an attached run connects (absent: all three); the others are /dev/null. */
  attach?: Array<"stdin" | "stdout" | "stderr">;
  /** -d: the CLI returns once the payload runs; its output goes to the container's log. */
  detach: boolean;
  labels: Record<string, string>;
  log: LogSpec;
  restart: RestartSpec;
  /** What `box stop` sends first (--stop-signal, or the image's STOPSIGNAL). */
  stopSignal?: string;
  created: string;
  /** uts, ipc, net: namespaces not made new (a bundle's; --uts host, --ipc host). */
  namespaces?: Partial<Record<"uts" | "ipc" | "net", NamespaceChoice>>;
  /**
   * --pid host or container:ID: the init (and so the payload) is made in that PID namespace, not
   * in one of its own; the container's processes are then ended through its cgroup.
   */
  pidMode?: string;
  /** --ipc: as asked, for inspect; `none` also means no /dev/shm, `container:ID` joins that container's. */
  ipcMode?: string;
  /** --cgroupns host: no cgroup namespace of the payload's own (a bundle says so in its runtime settings). */
  hostCgroupns?: boolean;
  /** The uts namespace's NIS domain name (--domainname, config.json's domainname). */
  domainname?: string;
  /** Inherited by the payload (--oom-score-adj, process.oomScoreAdj). */
  oomScoreAdj?: number;
  /** --annotation, a bundle's annotations: kept for inspect and the state, never read by the init. */
  annotations?: Record<string, string>;
  /** --group-add: groups added to /etc/group's (names are looked up in the container). */
  groupAdd?: string[];
  /** --tmpfs and --mount type=tmpfs, mounted after the volumes. */
  tmpfs?: TmpfsSpec[];
  /** /dev/shm's size in bytes (--shm-size); absent: 64 MiB. */
  shmSize?: number;
  /** Seconds box stop waits before SIGKILL (--stop-timeout); absent: 10. */
  stopTimeout?: number;
  /** The container's cgroup is made below this one (--cgroup-parent), relative to each hierarchy's root. */
  cgroupParent?: string;
  /** v1 devices cgroup rules (`c 1:3 rwm`) added by --device-cgroup-rule. */
  deviceCgroupRules?: string[];
  /** --health-*, or the image's HEALTHCHECK; absent: none (or --no-healthcheck). */
  healthcheck?: HealthSpec;
  /** A container made by `box oci` from a runtime-spec bundle. */
  runtime?: RuntimeSettings;
}

/** A health check, in Docker's terms (durations in nanoseconds, as its config has them). */
export interface HealthSpec {
  /** ["CMD-SHELL", "curl -f http://localhost/"] or ["CMD", "prog", "arg"] */
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
  /** Podman's --health-on-failure: what is done once it is unhealthy. */
  onFailure: "none" | "kill" | "restart" | "stop";
}

/** A tmpfs in the container: --tmpfs PATH[:OPTIONS], --mount type=tmpfs, or a volume made with type=tmpfs. */
export interface TmpfsSpec {
  target: string;
  /** The volume it is (each container that mounts it has a tmpfs of its own; see the README). */
  volume?: string;
  /** MS_* flags, from the options (Docker's default: noexec, nosuid, nodev). */
  flags: number;
  /** What tmpfs takes itself: size=, mode=, nr_inodes=... */
  data: string;
}

/** The json-file log of a detached container (Docker's --log-opt max-size / max-file). */
export interface LogSpec {
  /** bytes per file before it is rotated; absent = unbounded */
  maxSize?: number;
  /** files kept, the current one included */
  maxFiles: number;
  /**
   * --log-driver: absent is json-file; local is written as json-file is (box's one format); none
   * drops the output; syslog and journald send each line to those daemons (nothing box can read).
   */
  driver?: "none" | "local" | "syslog" | "journald";
  /** syslog, journald: --log-opt tag, a template of {{.ID}} {{.FullID}} {{.Name}} {{.ImageName}} {{.ImageID}} {{.ImageFullID}} {{.DaemonName}}. */
  tag?: string;
  syslog?: SyslogSpec;
}

/** --log-driver syslog: where each line goes, and how it is written (Docker's --log-opt syslog-*). */
export interface SyslogSpec {
  /** Absent: the host's /dev/log (a datagram socket, else a stream). */
  address?: { scheme: "unix" | "unixgram"; path: string } | { scheme: "udp" | "tcp"; host: string; port: number };
  /** The facility's number (daemon, 3, unless told). */
  facility: number;
  /** syslog-format: "" is Docker's default (the local syslog's short form). */
  format: "" | "rfc3164" | "rfc5424" | "rfc5424micro";
}

/** Paths on the host that belong to one container. */
export interface ContainerPaths {
  /** Persistent: config.json, the overlay's upper and work dirs. */
  dir: string;
  /** Runtime: state.json, hostname/hosts/resolv.conf, the rootfs mount point. */
  runDir: string;
  /** One cgroup directory per hierarchy (v1) or one (v2); may be empty. */
  cgroups: string[];
  /** Where the cgroups' owner record is, when create has just written it (src/cgroup/owners.ts). */
  cgroupOwner?: { dir: string; name: string };
}
