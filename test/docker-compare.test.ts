// The same `run` lines through Docker itself (a private dockerd 20.10 with its default runtime,
// runc) and through box, on the same busybox image: what the container sees must be the same.
// Docker is the reference here, not box's reading of Docker's documentation.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, ROOTFS, box, importBusybox, removeStore, snapshot, tempStore, type Snapshot, type Store } from "./helpers/box.ts";
import { startDockerd, type Dockerd } from "./helpers/dockerd.ts";

let d: Dockerd;
let s: Store;
let before: Snapshot;

beforeAll(async () => {
  before = snapshot();
  s = tempStore();
  d = await startDockerd(BOX);
  const tar = join(d.dir, "busybox.tar");
  expect(Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", tar, "."]).exitCode).toBe(0);
  expect((await d.run(["import", tar, "busybox:box"])).code).toBe(0);
  expect((await importBusybox(s, "busybox:box")).code).toBe(0);
}, 60000);

afterAll(async () => {
  await d?.stop();
  if (s) removeStore(s);
  const after = snapshot();
  expect(after.mounts.filter((m) => !before.mounts.includes(m))).toEqual([]);
  expect(after.links.filter((l) => !before.links.includes(l))).toEqual([]);
  expect(after.cgroups.filter((c) => !before.cgroups.includes(c))).toEqual([]);
}, 60000);

/** `run --rm --network none FLAGS busybox:box sh -c SCRIPT` through both; their code and stdout. */
async function both(flags: string[], script: string): Promise<{ docker: string; box: string }> {
  const args = ["run", "--rm", "--network", "none", ...flags, "busybox:box", "sh", "-c", script];
  const [viaDocker, viaBox] = await Promise.all([d.run(args), box(s, args)]);
  const shown = (r: { code: number; stdout: string; stderr: string }) => `${r.code}\n${r.stdout}`;
  return { docker: shown(viaDocker), box: shown(viaBox) };
}

describe("docker run and box run, same flags, same container", () => {
  const cases: Array<[string, string[], string]> = [
    ["--tmpfs with options", ["--tmpfs", "/run:size=1m,mode=1770"], "grep ' /run ' /proc/mounts | cut -d' ' -f1-3; grep ' /run ' /proc/mounts | tr ',' '\\n' | grep -E '^(size|mode|nosuid|nodev|noexec)' | sort"],
    ["--tmpfs exec", ["--tmpfs", "/x:exec"], "grep ' /x ' /proc/mounts | tr ',' '\\n' | grep -cx noexec || true"],
    ["--mount type=tmpfs", ["--mount", "type=tmpfs,destination=/t,tmpfs-size=2097152,tmpfs-mode=700"], "grep ' /t ' /proc/mounts | tr ',' '\\n' | grep -E '^(size|mode)' | sort"],
    ["--shm-size", ["--shm-size", "16m"], "grep ' /dev/shm ' /proc/mounts | tr ',' '\\n' | grep ^size"],
    ["--group-add", ["--group-add", "1234", "--group-add", "audio", "-u", "1000"], "id -G | tr ' ' '\\n' | sort -n"],
    ["--domainname", ["--domainname", "example.org"], "cat /proc/sys/kernel/domainname"],
    ["--oom-score-adj", ["--oom-score-adj", "300"], "cat /proc/self/oom_score_adj"],
    ["--ipc none", ["--ipc", "none"], "grep -c ' /dev/shm ' /proc/mounts || true"],
    ["--ipc host", ["--ipc", "host"], "readlink /proc/self/ns/ipc"],
    ["--uts host", ["--uts", "host"], "hostname; readlink /proc/self/ns/uts"],
    ["--pid host", ["--pid", "host"], "readlink /proc/self/ns/pid; [ $$ -gt 1 ] && echo not-pid-1"],
    ["--read-only with a --tmpfs", ["--read-only", "--tmpfs", "/tmp"], "touch /x 2>/dev/null; echo $?; touch /tmp/y; echo $?"],
    ["-u and -w", ["-u", "1000:1000", "-w", "/home/alice"], "id; pwd"],
    ["--cap-drop ALL --cap-add", ["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"], "grep -E 'Cap(Eff|Bnd)' /proc/self/status"],
    ["--ulimit", ["--ulimit", "nofile=512:1024"], "ulimit -n; ulimit -Hn"],
    ["--memory-swappiness (v1)", ["--memory-swappiness", "7"], "cat /sys/fs/cgroup/memory/memory.swappiness 2>/dev/null || echo v2"],
    ["--entrypoint with arguments", ["--entrypoint", "echo"], "ignored"],
  ];
  for (const [name, flags, script] of cases) {
    test(name, async () => {
      const r = await both(flags, script);
      // Docker ran it (a failure on both sides would compare equal and prove nothing).
      expect(r.docker).toMatch(/^0\n./s);
      expect(r.box).toBe(r.docker);
    }, 30000);
  }

  test("refusals: both exit 125", async () => {
    for (const flags of [["--oom-score-adj", "1001"], ["--ipc", "container:nonexistent"], ["--pid", "bogus"], ["--tmpfs", "relative"], ["--mount", "type=bogus,dst=/x"], ["--shm-size", "lots"]]) {
      const r = await both(flags, "true");
      expect([flags.join(" "), r.box.split("\n")[0]]).toEqual([flags.join(" "), r.docker.split("\n")[0]]);
      expect(r.box.split("\n")[0]).toBe("125");
    }
  }, 60000);

  test("inspect shows the flags in Docker's fields", async () => {
    const labels = join(d.dir, "labels");
    writeFileSync(labels, "# labels\ntier=web\n");
    const flags = ["--shm-size", "16m", "--oom-score-adj", "300", "--group-add", "1234", "--domainname", "example.org", "--ipc", "shareable", "--stop-timeout", "7", "--label-file", labels, "--tmpfs", "/run:size=1m"];
    const template = "{{.HostConfig.ShmSize}} {{.HostConfig.OomScoreAdj}} {{json .HostConfig.GroupAdd}} {{.Config.Domainname}} {{.HostConfig.IpcMode}} {{.Config.StopTimeout}} {{json .Config.Labels}} {{json .HostConfig.Tmpfs}}";
    const create = ["create", "--network", "none", ...flags, "busybox:box", "true"];
    const [dockerId, boxId] = [(await d.run(create)).stdout.trim(), (await box(s, create)).stdout.trim()];
    const [viaDocker, viaBox] = [await d.run(["inspect", "-f", template, dockerId]), await box(s, ["inspect", "-f", template, boxId])];
    expect(viaDocker.stderr).toBe("");
    expect(viaBox.stdout).toBe(viaDocker.stdout);
    await d.run(["rm", dockerId]);
    await box(s, ["rm", boxId]);
  }, 30000);
});
