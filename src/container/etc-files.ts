// The /etc files box supplies to every container (bind-mounted over the image's own).
import { readFile } from "../sys/fs.ts";
import type { ContainerSpec } from "./spec.ts";

export const ETC_FILES = ["hostname", "hosts", "resolv.conf"] as const;

function hostsFile(spec: ContainerSpec): string {
  if (spec.network === "host") {
    try {
      return readFile("/etc/hosts");
    } catch {}
  }
  return [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
    // Docker's: the name resolves to the container's own address on a bridge network.
    `${spec.endpoint?.ip ?? "127.0.1.1"}\t${spec.hostname}`,
    "",
  ].join("\n");
}

function resolvConf(spec: ContainerSpec): string {
  let text = "";
  try {
    text = readFile("/etc/resolv.conf");
  } catch {}
  if (spec.network === "host") return text;
  // Docker drops loopback resolvers: from a private network namespace they point at nothing.
  return text
    .split("\n")
    .filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l))
    .join("\n");
}

/** Their contents; reads the host's /etc, so call it before pivot_root. */
export function etcFiles(spec: ContainerSpec): Record<(typeof ETC_FILES)[number], string> {
  return { hostname: `${spec.hostname}\n`, hosts: hostsFile(spec), "resolv.conf": resolvConf(spec) };
}
