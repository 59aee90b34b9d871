// Creates a container on disk from a validated spec: name, state dirs, per-container /etc
// files, cgroups. Undoes every step if a later one fails.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname as hostHostname } from "node:os";
import { claimName, containerPaths, removeContainerFiles, writeConfig, writeState, type Store } from "./store.ts";
import { createContainerCgroups, removeCgroups } from "../cgroup/cgroups.ts";
import type { ContainerPaths, ContainerSpec } from "./spec.ts";

function hostsFile(spec: ContainerSpec): string {
  if (spec.network === "host") {
    try {
      return readFileSync("/etc/hosts", "utf8");
    } catch {}
  }
  return [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
    `127.0.1.1\t${spec.hostname}`,
    "",
  ].join("\n");
}

function resolvConf(spec: ContainerSpec): string {
  let text = "";
  try {
    text = readFileSync("/etc/resolv.conf", "utf8");
  } catch {}
  if (spec.network === "host") return text;
  // Docker drops loopback resolvers: from a private network namespace they point at nothing.
  return text
    .split("\n")
    .filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l))
    .join("\n");
}

export function defaultHostname(spec: Pick<ContainerSpec, "id" | "network">): string {
  return spec.network === "host" ? hostHostname() : spec.id.slice(0, 12);
}

export function createContainer(store: Store, spec: ContainerSpec): ContainerPaths {
  claimName(store, spec.name, spec.id);
  let paths = containerPaths(store, spec.id, []);
  try {
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    mkdirSync(`${paths.runDir}/rootfs`, { recursive: true, mode: 0o700 });
    if (spec.rootfs.kind === "image") {
      mkdirSync(`${paths.dir}/upper`, { mode: 0o755 });
      mkdirSync(`${paths.dir}/work`, { mode: 0o700 });
    }
    writeFileSync(`${paths.runDir}/hostname`, `${spec.hostname}\n`, { mode: 0o644 });
    writeFileSync(`${paths.runDir}/hosts`, hostsFile(spec), { mode: 0o644 });
    writeFileSync(`${paths.runDir}/resolv.conf`, resolvConf(spec), { mode: 0o644 });
    paths = containerPaths(store, spec.id, createContainerCgroups(spec.id));
    writeConfig(paths, spec);
    writeState(paths, { status: "created" });
    return paths;
  } catch (e) {
    removeContainer(store, spec, paths);
    throw e;
  }
}

export function removeContainer(store: Store, spec: Pick<ContainerSpec, "id" | "name">, paths: ContainerPaths): void {
  removeCgroups(paths.cgroups);
  removeContainerFiles(store, spec.id, spec.name);
}
