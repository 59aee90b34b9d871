// The networking part of the benchmark (issue: bridge networking): what box's default bridge
// network adds to `box run --rm /bin/true` next to podman's (netavark, Debian's podman 4.3), and
// the throughput of a published port, host → container, for both. Traffic stays on this machine:
// 127.0.0.1 and the containers' own addresses. Called by bench/run.ts.
import { join } from "node:path";
import { podmanIn, unmountPodmanStorage } from "./podman.ts";
import { timed } from "./timer.ts";

export interface NetworkContext {
  box: string;
  tmp: string;
  rootfs: string;
  env: Record<string, string>;
  runs: number;
}

export interface NetworkResult {
  /** ms per `run --rm /bin/true`, by engine and network. */
  run: Record<"box none" | "box bridge" | "podman none" | "podman bridge", number[]>;
  /** MB/s through a published port, by engine. */
  throughput: Record<"box" | "podman", number[]>;
  bytes: number;
  podman: boolean;
}

function run(argv: string[], env: Record<string, string>): string {
  const r = Bun.spawnSync(argv, { env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr}`);
  return r.stdout.toString().trim();
}

/** Sends `bytes` to 127.0.0.1:port once something listens there; MB/s from connect to the server's close. */
async function push(port: number, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<number>((resolve, reject) => {
        let sent = 0;
        let started = 0;
        let ended = false;
        const pump = (s: { write(b: Uint8Array): number; end(): void }) => {
          while (sent < bytes) {
            const want = Math.min(chunk.length, bytes - sent);
            const n = s.write(chunk.subarray(0, want));
            sent += n;
            if (n < want) return; // the rest when the socket drains
          }
          if (!ended) s.end();
          ended = true;
        };
        Bun.connect({
          hostname: "127.0.0.1",
          port,
          socket: {
            open(s) {
              started = performance.now();
              pump(s);
            },
            drain: pump,
            data() {},
            close() {
              if (sent < bytes) reject(new Error(`connection closed after ${sent} bytes`));
              else resolve(bytes / 1e6 / ((performance.now() - started) / 1000));
            },
            error: (_s, e) => reject(e),
            // Nothing listens yet (the DNAT'd port answers with a reset): try again.
            connectError: (_s, e) => reject(e),
          },
        }).catch(reject);
      });
    } catch (e) {
      if (attempt > 100) throw e;
      await Bun.sleep(50);
    }
  }
}

export async function networkBench(o: NetworkContext): Promise<NetworkResult> {
  const store = { root: join(o.tmp, "net-box-root"), runroot: join(o.tmp, "net-box-run") };
  const box = (...args: string[]) => [o.box, "--root", store.root, "--runroot", store.runroot, ...args];
  // As in the lifecycle benchmark.
  const { available: havePodman, dir: podmanDir, env: podmanEnv, command: podman } = podmanIn(join(o.tmp, "net-podman"), o.env);

  const runs: NetworkResult["run"] = { "box none": [], "box bridge": [], "podman none": [], "podman bridge": [] };
  const commands: Array<[keyof NetworkResult["run"], () => number]> = [
    ["box none", () => timed(box("run", "--rm", "--network", "none", "--rootfs", o.rootfs, "/bin/true"), o.env)],
    ["box bridge", () => timed(box("run", "--rm", "--rootfs", o.rootfs, "/bin/true"), o.env)],
  ];
  if (havePodman) {
    commands.push(["podman none", () => timed(podman("run", "--rm", "--network", "none", "--rootfs", o.rootfs, "/bin/true"), podmanEnv)]);
    commands.push(["podman bridge", () => timed(podman("run", "--rm", "--network", "bridge", "--rootfs", o.rootfs, "/bin/true"), podmanEnv)]);
  }
  for (let i = 0; i < o.runs + 2; i++) {
    for (const [name, f] of commands) {
      const ms = f();
      if (i >= 2) runs[name].push(ms);
    }
  }

  // Throughput: a sink (busybox nc) behind a published port; the host pushes through 127.0.0.1.
  const BYTES = 1 << 30;
  const throughput: NetworkResult["throughput"] = { box: [], podman: [] };
  // nc hands the connection to `cat`, which reads to the end and exits: the close the sender times.
  // (Plain `nc -l` would quit at once on its own stdin's EOF, /dev/null in a detached container.)
  const sink = ["/bin/sh", "-c", "nc -l -p 5201 -e sh -c 'cat >/dev/null'"];
  for (let i = 0; i < 3; i++) {
    const port = 41000 + i;
    const id = run(box("run", "-d", "-p", `127.0.0.1:${port}:5201`, "--rootfs", o.rootfs, ...sink), o.env);
    throughput.box.push(await push(port, BYTES));
    run(box("rm", "-f", id), o.env);
    if (havePodman) {
      const pid = run(podman("run", "-d", "-p", `127.0.0.1:${port + 10}:5201`, "--rootfs", o.rootfs, ...sink), podmanEnv);
      throughput.podman.push(await push(port + 10, BYTES));
      run(podman("rm", "-f", "-t", "0", pid), podmanEnv);
    }
  }
  if (havePodman) unmountPodmanStorage(podmanDir);
  // box's bridge and its table go as a user would remove them; podman's default network stays (it cannot be removed).
  run(box("system", "prune", "-f"), o.env);
  return { run: runs, throughput, bytes: BYTES, podman: havePodman };
}
