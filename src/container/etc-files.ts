// The /etc files box supplies to every container (bind-mounted over the image's own).
import { readFile } from "../sys/fs.ts";
import type { ContainerSpec } from "./spec.ts";

export const ETC_FILES = ["hostname", "hosts", "resolv.conf"] as const;

function hostsFile(spec: ContainerSpec, peers: string[]): string {
  // --add-host NAME:host-gateway means the host, as its bridge's address (Docker's).
  const extra = (spec.extraHosts ?? []).map((h) => {
    const [name, ip] = [h.slice(0, h.indexOf(":")), h.slice(h.indexOf(":") + 1)];
    return `${ip === "host-gateway" ? (spec.endpoint?.gateway ?? "127.0.0.1") : ip}\t${name}`;
  });
  if (spec.network === "host") {
    try {
      return [readFile("/etc/hosts").trimEnd(), ...extra, ""].join("\n");
    } catch {}
  }
  return [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
    // Docker's: the name resolves to the container's own address on a bridge network (and its aliases on a user-defined one).
    `${spec.endpoint?.ip ?? "127.0.1.1"}\t${[spec.hostname, ...(spec.endpoint?.names && spec.name !== spec.hostname ? [spec.name] : []), ...(spec.endpoint?.aliases ?? [])].join(" ")}`,
    ...peers,
    ...extra,
    "",
  ].join("\n");
}

/** The host's resolv.conf as a container on this network sees it (Docker's rules). */
function hostResolvConf(network: ContainerSpec["network"]): string {
  let text = "";
  try {
    text = readFile("/etc/resolv.conf");
  } catch {}
  if (network === "host") return text;
  // Docker drops loopback resolvers: from a private network namespace they point at nothing.
  const lines = text.split("\n").filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  // None left (a host with only a local stub resolver): Docker's public fallback.
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push("nameserver 8.8.8.8", "nameserver 8.8.4.4", "");
  return lines.join("\n");
}

/** --dns, --dns-search, --dns-option replace what they name; the rest comes from the host's (Docker's). */
function resolvConf(spec: ContainerSpec): string {
  const host = hostResolvConf(spec.network);
  if (!spec.dns?.length && !spec.dnsSearch?.length && !spec.dnsOptions?.length) return host;
  const lines = host.split("\n");
  const fromHost = (key: string) => lines.filter((l) => l.trim().split(/\s+/)[0] === key);
  return [
    ...(spec.dnsSearch?.length ? [`search ${spec.dnsSearch.join(" ")}`] : fromHost("search")),
    ...(spec.dns?.length ? spec.dns.map((d) => `nameserver ${d}`) : fromHost("nameserver")),
    ...(spec.dnsOptions?.length ? [`options ${spec.dnsOptions.join(" ")}`] : fromHost("options")),
    "",
  ].join("\n");
}

/** Their contents; reads the host's /etc, so call it before pivot_root. */
export function etcFiles(spec: ContainerSpec, peers: string[] = []): Record<(typeof ETC_FILES)[number], string> {
  return { hostname: `${spec.hostname}\n`, hosts: hostsFile(spec, peers), "resolv.conf": resolvConf(spec) };
}
