// The same `run` lines through Docker itself (a private dockerd 20.10 with its default runtime,
// runc) and through box, on the same busybox image: what the container sees must be the same.
// Docker is the reference here, not box's reading of Docker's documentation.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { box } from "./helpers/box.ts";
import { dockerAndBox } from "./helpers/docker-pair.ts";

const pair = dockerAndBox([]);

/** `run --rm --network none FLAGS busybox:box sh -c SCRIPT` through both; their code and stdout. */
async function both(flags: string[], script: string): Promise<{ docker: string; box: string }> {
  const args = ["run", "--rm", "--network", "none", ...flags, "busybox:box", "sh", "-c", script];
  const [viaDocker, viaBox] = await Promise.all([pair.d.run(args), box(pair.s, args)]);
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
    const labels = join(pair.d.dir, "labels");
    writeFileSync(labels, "# labels\ntier=web\n");
    const flags = ["--shm-size", "16m", "--oom-score-adj", "300", "--group-add", "1234", "--domainname", "example.org", "--ipc", "shareable", "--stop-timeout", "7", "--label-file", labels, "--tmpfs", "/run:size=1m"];
    const template = "{{.HostConfig.ShmSize}} {{.HostConfig.OomScoreAdj}} {{json .HostConfig.GroupAdd}} {{.Config.Domainname}} {{.HostConfig.IpcMode}} {{.Config.StopTimeout}} {{json .Config.Labels}} {{json .HostConfig.Tmpfs}}";
    const create = ["create", "--network", "none", ...flags, "busybox:box", "true"];
    const [dockerId, boxId] = [(await pair.d.run(create)).stdout.trim(), (await box(pair.s, create)).stdout.trim()];
    const [viaDocker, viaBox] = [await pair.d.run(["inspect", "-f", template, dockerId]), await box(pair.s, ["inspect", "-f", template, boxId])];
    expect(viaDocker.stderr).toBe("");
    expect(viaBox.stdout).toBe(viaDocker.stdout);
    await pair.d.run(["rm", dockerId]);
    await box(pair.s, ["rm", boxId]);
  }, 30000);
});
