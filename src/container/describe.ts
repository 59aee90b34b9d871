// How a container is shown: Docker's status line ("Up 3 minutes", "Exited (137) 2 seconds ago")
// and the JSON of `box inspect`, shaped like `docker inspect`'s so that scripts carry over.
import type { LiveContainer } from "./live.ts";
import { endpointsOf, type ContainerSpec, type PortSpec } from "./spec.ts";
import { endpointMac } from "../net/endpoint.ts";
import type { IdRange } from "../sys/userns.ts";
import { MS_RDONLY } from "../sys/constants.ts";
import { PROPAGATION } from "../oci/mount-options.ts";
import { DEFAULT_SHM_SIZE } from "../rootfs/default-mounts.ts";
import { readHealth, type HealthState } from "./health.ts";

/** An init that died without recording (SIGKILL, a crash) took the payload with it: 128 + SIGKILL. */
export const UNRECORDED_EXIT = 137;

export type State = "created" | "running" | "paused" | "restarting" | "exited";

export function stateOf(c: LiveContainer): State {
  if (c.pid === undefined) return c.state.status === "created" ? "created" : "exited";
  return c.state.status === "paused" || c.state.status === "restarting" ? c.state.status : "running";
}

export function exitCodeOf(c: LiveContainer): number {
  return c.state.exitCode ?? (stateOf(c) === "exited" ? UNRECORDED_EXIT : 0);
}

/** "3 minutes", "About an hour", as Docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return "About a minute";
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`;
  return `${Math.round(h / 24 / 365)} years`;
}

/** A running container's health, if it has a health check (Docker's State.Health). */
export function healthOf(c: LiveContainer): HealthState | undefined {
  if (!c.spec.healthcheck || (stateOf(c) !== "running" && stateOf(c) !== "paused")) return undefined;
  return readHealth(c.paths) ?? { Status: "starting", FailingStreak: 0, Log: [] };
}

export function statusLine(c: LiveContainer, now = Date.now()): string {
  const since = (iso: string | undefined) => humanDuration(now - Date.parse(iso ?? c.spec.created));
  switch (stateOf(c)) {
    case "created":
      return "Created";
    case "running": {
      const health = healthOf(c)?.Status;
      return `Up ${since(c.state.startedAt)}${health === undefined ? "" : health === "starting" ? " (health: starting)" : ` (${health})`}`;
    }
    case "paused":
      return `Up ${since(c.state.startedAt)} (Paused)`;
    case "restarting":
      return `Restarting (${exitCodeOf(c)}) ${since(c.state.finishedAt)} ago`;
    case "exited":
      return `Exited (${exitCodeOf(c)}) ${c.state.finishedAt ? `${since(c.state.finishedAt)} ago` : ""}`.trimEnd();
  }
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

/** `docker inspect`'s shape for the fields box has. */
export function inspectContainer(c: LiveContainer): Record<string, unknown> {
  const { spec, state } = c;
  const st = stateOf(c);
  const r = spec.resources;
  return {
    Id: spec.id,
    Created: spec.created,
    Path: spec.command[0],
    Args: spec.command.slice(1),
    State: {
      Status: st,
      Running: st === "running" || st === "paused" || st === "restarting",
      Paused: st === "paused",
      Restarting: st === "restarting",
      ...(spec.healthcheck ? { Health: healthOf(c) ?? readHealth(c.paths) ?? { Status: "starting", FailingStreak: 0, Log: [] } } : {}),
      OOMKilled: state.oomKilled === true,
      Dead: false,
      Pid: c.pid ?? 0,
      ExitCode: st === "exited" || st === "restarting" ? exitCodeOf(c) : 0,
      Error: "",
      StartedAt: state.startedAt ?? ZERO_TIME,
      FinishedAt: state.finishedAt ?? ZERO_TIME,
    },
    Image: spec.rootfs.kind === "image" ? `sha256:${spec.rootfs.id}` : "",
    Name: `/${spec.name}`,
    RestartCount: state.restartCount ?? 0,
    Config: {
      Hostname: spec.hostname,
      User: spec.user,
      Tty: spec.tty,
      OpenStdin: spec.interactive,
      Env: spec.env,
      Cmd: spec.command,
      Image: spec.imageName,
      WorkingDir: spec.workdir,
      Labels: spec.labels,
      StopSignal: spec.stopSignal ?? "",
      ...(spec.healthcheck ? { Healthcheck: { Test: spec.healthcheck.test, Interval: spec.healthcheck.interval, Timeout: spec.healthcheck.timeout, StartPeriod: spec.healthcheck.startPeriod, StartInterval: spec.healthcheck.startInterval, Retries: spec.healthcheck.retries } } : {}),
      ...(spec.stopTimeout !== undefined ? { StopTimeout: spec.stopTimeout } : {}),
      Domainname: spec.domainname ?? "",
      AttachStdin: !spec.detach && spec.interactive && (spec.attach?.includes("stdin") ?? true),
      AttachStdout: !spec.detach && (spec.attach?.includes("stdout") ?? true),
      AttachStderr: !spec.detach && (spec.attach?.includes("stderr") ?? true),
      ExposedPorts: Object.fromEntries((spec.exposed ?? []).map((p) => [p, {}])),
    },
    HostConfig: {
      // Docker lists -v's binds and named volumes here (anonymous ones only under Mounts).
      Binds: spec.volumes.filter((v) => !v.anonymous).map((v) => `${v.volume ?? v.source}:${v.target}${v.readOnly ? ":ro" : ""}`),
      NetworkMode: spec.network,
      PortBindings: portBindings(spec.ports ?? []),
      AutoRemove: spec.remove,
      RestartPolicy: { Name: spec.restart.name, MaximumRetryCount: spec.restart.maxRetries },
      ReadonlyRootfs: spec.readOnly,
      CapAdd: null,
      CapDrop: null,
      // Podman's names: the mode, and the maps as --uidmap/--gidmap take them.
      UsernsMode: spec.userns?.mode === "auto" ? "auto" : spec.userns ? "private" : "",
      IDMappings: spec.userns ? { UidMap: spec.userns.uidMap.map(idRange), GidMap: spec.userns.gidMap.map(idRange) } : undefined,
      Memory: r.memory ?? 0,
      MemorySwap: r.memorySwap ?? 0,
      MemoryReservation: r.memoryReservation ?? 0,
      NanoCpus: r.cpuQuota !== undefined && r.cpuQuota > 0 && r.cpuPeriod ? Math.round((r.cpuQuota / r.cpuPeriod) * 1e9) : 0,
      CpuShares: r.cpuShares ?? 0,
      CpusetCpus: r.cpusetCpus ?? "",
      PidsLimit: r.pidsLimit ?? null,
      LogConfig: { Type: spec.log.driver ?? "json-file", Config: logConfig(c) },
      Tmpfs: spec.tmpfs?.length ? Object.fromEntries(spec.tmpfs.map((t) => [t.target, t.data])) : null,
      ShmSize: spec.shmSize ?? DEFAULT_SHM_SIZE,
      GroupAdd: spec.groupAdd ?? null,
      IpcMode: spec.ipcMode ?? "private",
      UTSMode: spec.namespaces?.uts === "host" ? "host" : "",
      PidMode: spec.pidMode ?? "",
      CgroupnsMode: spec.hostCgroupns ? "host" : "private",
      CgroupParent: spec.cgroupParent ?? "",
      OomScoreAdj: spec.oomScoreAdj ?? 0,
      MemorySwappiness: r.memorySwappiness ?? null,
      DeviceCgroupRules: spec.deviceCgroupRules ?? null,
      Annotations: spec.annotations ?? null,
      // box's init is always PID 1 (README, "Where box differs").
      Init: true,
      Isolation: "",
    },
    Mounts: [
      ...spec.volumes.map((v) =>
        v.volume === undefined
          ? { Type: "bind", Source: v.source, Destination: v.target, Mode: v.readOnly ? "ro" : "", RW: !v.readOnly, Propagation: propagationName(v.propagation) }
          : { Type: "volume", Name: v.volume, Source: v.source, Destination: v.target, Driver: "local", Mode: v.copyUp === false ? "nocopy" : "z", RW: !v.readOnly, Propagation: "" },
      ),
      ...(spec.tmpfs ?? []).map((t) => ({ Type: "tmpfs", Source: "", Destination: t.target, Mode: t.data, RW: !(t.flags & MS_RDONLY), Propagation: "" })),
    ],
    NetworkSettings: networkSettings(spec),
    LogPath: `${c.paths.dir}/json.log`,
    Rootfs: spec.rootfs.kind === "dir" ? spec.rootfs.path : undefined,
  };
}

function propagationName(flags: number | undefined): string {
  return Object.entries(PROPAGATION).find(([, v]) => v === flags)?.[0] ?? "rprivate";
}

function idRange(r: IdRange): string {
  return `${r.container}:${r.host}:${r.size}`;
}

/** Docker's shape: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}. */
function portBindings(ports: PortSpec[]): Record<string, Array<{ HostIp: string; HostPort: string }>> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of ports) (out[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp ?? "", HostPort: p.hostPortEnd === undefined ? String(p.hostPort) : `${p.hostPort}-${p.hostPortEnd}` });
  return out;
}

function networkSettings(spec: ContainerSpec): Record<string, unknown> {
  const e = spec.endpoint;
  if (!e && !spec.connected?.length) return { IPAddress: "", Ports: {}, Networks: spec.network === "host" ? { host: {} } : {} };
  // Docker's: each network's endpoint; the top-level fields are those of --network's.
  const networks = Object.fromEntries(
    endpointsOf(spec).map((n) => [
      n.network,
      {
        IPAMConfig: n === e && spec.endpointOptions?.ip ? { IPv4Address: spec.endpointOptions.ip } : null,
        Aliases: n.aliases ?? null,
        MacAddress: endpointMac(n),
        NetworkID: n.network,
        Gateway: n.gateway,
        IPAddress: n.ip,
        IPPrefixLen: n.prefix,
        DNSNames: n.names ? [spec.name, spec.id.slice(0, 12), ...(n.aliases ?? [])] : null,
      },
    ]),
  );
  if (!e) return { IPAddress: "", Ports: {}, Networks: networks };
  // The ports as published: Docker names the host address even when it is every one.
  const ports = portBindings(e.ports.map((p) => ({ ...p, hostIp: p.hostIp ?? "0.0.0.0" })));
  return { IPAddress: e.ip, IPPrefixLen: e.prefix, Gateway: e.gateway, MacAddress: endpointMac(e), Bridge: e.bridge, Ports: ports, Networks: networks };
}

function logConfig(c: LiveContainer): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.spec.log.maxSize !== undefined) out["max-size"] = String(c.spec.log.maxSize);
  if (c.spec.log.maxFiles > 1) out["max-file"] = String(c.spec.log.maxFiles);
  return out;
}
