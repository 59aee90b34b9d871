import { defineCommand } from "citty";
import { kernelRelease } from "../sys/kernel.ts";
import { flagSupport } from "../cgroup/capabilities.ts";
import { detectCgroups } from "../cgroup/detect.ts";
import { stateOf } from "../container/describe.ts";
import { listImages } from "../image/store.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { table } from "./format.ts";
import { printHelp } from "./help.ts";
import { cpuCount, GOARCH, hostMemory, hostName, liveContainers, MACHINE, operatingSystem } from "./host.ts";
import { renderTemplate } from "./template.ts";
import { toJSON } from "./template-values.ts";
import pkg from "../../package.json" with { type: "json" };

/**
 * `docker info`'s shape (system.Info with its ClientInfo) for what box has, so scripts'
 * `--format '{{.Driver}}'` work; box's own findings (the cgroup hierarchies, which resource
 * flags work here) are in CgroupHierarchies and LimitFlags.
 */
function describeHost() {
  const { store } = globals();
  const layout = detectCgroups();
  const flags = flagSupport(layout);
  const works = (flag: string) => flags.find((f) => f.flags.split(/[ ,/]+/).includes(flag))?.supported === true;
  const containers = liveContainers(store).map(stateOf);
  return {
    ID: "",
    Containers: containers.length,
    ContainersRunning: containers.filter((s) => s === "running" || s === "restarting").length,
    ContainersPaused: containers.filter((s) => s === "paused").length,
    ContainersStopped: containers.filter((s) => s === "exited" || s === "created").length,
    Images: listImages(store.root).length,
    // overlayfs over a stack of extracted layers: what Docker calls its overlay2 driver.
    Driver: "overlay2",
    DriverStatus: [["Backing Filesystem", "overlayfs"]],
    Plugins: { Volume: [], Network: ["bridge", "host", "none"], Authorization: null, Log: ["json-file"] },
    MemoryLimit: works("-m"),
    SwapLimit: works("--memory-swap"),
    CpuCfsPeriod: works("--cpus"),
    CpuCfsQuota: works("--cpus"),
    CPUShares: works("--cpu-shares"),
    CPUSet: works("--cpuset-cpus"),
    PidsLimit: works("--pids-limit"),
    IPv4Forwarding: true,
    Debug: false,
    OomKillDisable: works("--oom-kill-disable"),
    SystemTime: new Date().toISOString(),
    LoggingDriver: "json-file",
    CgroupDriver: "cgroupfs",
    CgroupVersion: String(layout.version),
    KernelVersion: kernelRelease(),
    OperatingSystem: operatingSystem(),
    OSType: "linux",
    Architecture: MACHINE,
    NCPU: cpuCount(),
    MemTotal: hostMemory(),
    DockerRootDir: store.root,
    Name: hostName(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: pkg.version,
    DefaultRuntime: "box",
    Swarm: { LocalNodeState: "inactive" },
    LiveRestoreEnabled: false,
    SecurityOptions: ["name=seccomp,profile=builtin"],
    Warnings: null,
    ClientInfo: { Debug: false, Version: pkg.version, GoVersion: "", GitCommit: "", Os: "linux", Arch: GOARCH, Context: "default", Plugins: [], Warnings: null },
    CgroupHierarchies: { Hybrid: layout.hybrid, Mounts: layout.hierarchies.map((h) => ({ Mountpoint: h.mountpoint, Controllers: h.controllers })) },
    LimitFlags: flags.map((f) => ({ Flags: f.flags, Supported: f.supported, Detail: f.detail })),
  };
}

export const infoCommand = defineCommand({
  meta: { name: "info", description: "Show what box finds on this host: containers, images, cgroups, which limits work" },
  args: { format: { type: "string", alias: "f", description: "json, or a Go template: '{{.Driver}}', '{{.CgroupVersion}}'", valueHint: "FORMAT" } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box info", "box info --format json", "box info --format '{{.ServerVersion}} {{.CgroupVersion}}'"]);
    const format = flags.values.format as string | undefined;
    const info = describeHost();
    if (format === "json") return void process.stdout.write(`${toJSON(info)}\n`);
    if (format !== undefined && format !== "") return void process.stdout.write(`${renderTemplate(format, info)}\n`);
    const layout = detectCgroups();
    const lines = [
      `box version ${info.ServerVersion}`,
      `Containers: ${info.Containers} (running ${info.ContainersRunning}, paused ${info.ContainersPaused}, stopped ${info.ContainersStopped})`,
      `Images: ${info.Images}`,
      `Kernel: ${info.KernelVersion}`,
      `Operating System: ${info.OperatingSystem}`,
      `Root: ${globals().store.root}`,
      `Run root: ${globals().store.runroot}`,
      `Cgroups: v${layout.version}${layout.hybrid ? " (hybrid: a cgroup2 mount beside the v1 controllers)" : ""}`,
      "",
    ].join("\n");
    const mounts = table(["MOUNT", "CONTROLLERS"], layout.hierarchies.map((h) => [h.mountpoint, h.controllers.join(",")]));
    const support = table(["FLAGS", "WORKS", "HOW"], info.LimitFlags.map((f) => [f.Flags, f.Supported ? "yes" : "no", f.Detail]));
    process.stdout.write(`${lines}\n${mounts}\n${support}`);
  },
});
