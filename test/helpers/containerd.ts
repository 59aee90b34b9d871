// A private containerd (Debian's, 1.6) for the tests and benchmarks: its own root, state and
// sockets under one directory, no CRI plugin. dockerd runs on it (dockerd.ts); `ctr` drives it
// directly, with box as the runc binary of its runc shim (`ctr run --runc-binary`).
import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Containerd {
  dir: string;
  socket: string;
  /** A runc-named entry point to box (the executable through a link, the source tree through a script). */
  runc: string;
  /** `ctr` against this containerd. */
  ctr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !(await check()); await Bun.sleep(50)) {
    if (Date.now() > end) throw new Error(`${what} did not come up within ${ms} ms`);
  }
}

/** `box` runs box (its executable, or Bun with the source tree). A short directory: socket paths are limited to 108 bytes. */
export async function startContainerd(box: string[], prefix = "/tmp/ctd-"): Promise<Containerd> {
  const dir = mkdtempSync(prefix);
  const runc = join(dir, "runc");
  if (box.length === 1) symlinkSync(box[0]!, runc);
  else writeFileSync(runc, `#!/bin/sh\nexec ${box.join(" ")} oci "$@"\n`, { mode: 0o755 });
  const socket = join(dir, "ctd.sock");
  writeFileSync(
    join(dir, "containerd.toml"),
    ["version = 2", `root = "${dir}/ctd-root"`, `state = "${dir}/ctd-state"`, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]', "[grpc]", `  address = "${socket}"`, "[ttrpc]", `  address = "${socket}.ttrpc"`, "[debug]", `  address = "${dir}/ctd-debug.sock"`, ""].join("\n"),
  );
  const log = Bun.file(join(dir, "daemons.log"));
  const containerd = Bun.spawn(["containerd", "--config", join(dir, "containerd.toml")], { stdout: log, stderr: log });
  const ctr = async (args: string[]) => {
    const proc = Bun.spawn(["ctr", "--address", socket, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  };
  const stop = async () => {
    containerd.kill("SIGTERM");
    await containerd.exited;
  };
  try {
    await until(() => existsSync(socket), 20000, "containerd");
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, socket, runc, ctr, stop };
}
