// Detached containers and the commands that manage them, driven as a shell script would:
// run -d, ps, logs, stop, kill, wait, inspect, exec, rm, and recovery after a crash.
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, boxArgs, containerState, copyRootfs, eventually, runDetached, hostNamespace, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

/** `run -d` prints the full id, alone on its line. */
async function runD(flags: string[], script: string): Promise<string> {
  const id = await runDetached(t.s, flags, script);
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  return id;
}

async function logsOf(name: string, flags: string[] = []) {
  return box(t.s, ["logs", ...flags, name]);
}

function initPid(id: string): number {
  return containerState(t.s, id).pid;
}

describe("run -d", () => {
  test("prints the full id at once; the container runs on in its own session; output goes to the log", async () => {
    const started = Date.now();
    const id = await runD(["--name", "web"], "echo out; echo err >&2; exec sleep 30");
    expect(Date.now() - started).toBeLessThan(3000);
    const pid = initPid(id);
    // Its own session, no terminal of the caller's: nothing of `box run`'s stdio is held.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    expect(Number(fields[3])).toBe(pid); // session id (field 6) = its own pid
    for (const fd of ["0", "1", "2"]) expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).toBe("/dev/null");
    await eventually(async () => (await logsOf("web")).stdout === "out\n");
    const logs = await logsOf("web");
    expect(logs.stdout).toBe("out\n");
    expect(logs.stderr).toBe("err\n");
    expect((await box(t.s, ["rm", "-f", "web"])).code).toBe(0);
  });

  test("a name clash is exit 125 with a clear line; --replace removes the old one first", async () => {
    const first = await runD(["--name", "app"], "exec sleep 30");
    const clash = await box(t.s, ["run", "-d", "--name", "app", "--rootfs", copyRootfs(t.s), "true"]);
    expect(clash.code).toBe(125);
    expect(clash.stderr).toBe(`box: the container name "app" is already in use by container ${first.slice(0, 12)}\n`);
    const second = await runD(["--name", "app", "--replace"], "exec sleep 30");
    expect(second).not.toBe(first);
    const ps = await box(t.s, ["ps", "-a", "-q", "--no-trunc"]);
    expect(ps.stdout).toBe(`${second}\n`);
    await box(t.s, ["rm", "-f", "app"]);
  });

  test("20 parallel runs all succeed with unique ids and names", async () => {
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => box(t.s, ["run", "-d", "--name", `p${i}`, "--rootfs", copyRootfs(t.s), "sleep", "30"])),
    );
    expect(runs.map((r) => [r.code, r.stderr])).toEqual(Array(20).fill([0, ""]));
    expect(new Set(runs.map((r) => r.stdout)).size).toBe(20);
    const ps = await box(t.s, ["ps", "--format", "json"]);
    const rows = ps.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.map((r) => r.Names).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`).sort());
    expect(rows.every((r) => r.State === "running")).toBe(true);
    const rm = await box(t.s, ["rm", "-f", ...rows.map((r) => r.Names)]);
    expect(rm.code).toBe(0);
  }, 60000);
});

describe("ps", () => {
  test("running only by default; -a, -q, filters and json", async () => {
    await runD(["--name", "up", "-l", "tier=web"], "exec sleep 30");
    const done = await box(t.s, ["run", "--name", "done", "--rootfs", copyRootfs(t.s), "sh", "-c", "exit 3"]);
    expect(done.code).toBe(3);
    const table = await box(t.s, ["ps"]);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(lines.length).toBe(2);
    expect(lines[1]).toMatch(/ Up .* up$/);
    const all = await box(t.s, ["ps", "-a"]);
    expect(all.stdout).toMatch(/Exited \(3\) .* ago\s+done\n/);
    expect((await box(t.s, ["ps", "-a", "--filter", "status=exited", "--format", "json"])).stdout).toContain('"Names":"done"');
    const byLabel = await box(t.s, ["ps", "-a", "-q", "--filter", "label=tier=web"]);
    expect(byLabel.stdout.trim().split("\n")).toHaveLength(1);
    expect((await box(t.s, ["ps", "-a", "-q", "--filter", "name=nothing"])).stdout).toBe("");
    const bad = await box(t.s, ["ps", "--filter", "colour=red"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toStartWith("box: invalid filter");
    await box(t.s, ["rm", "-f", "up", "done"]);
  });
});

describe("logs", () => {
  test("--tail, -t timestamps, and -f follows a live container until it stops", async () => {
    // "late" comes once the test says so (a file): no sleep to race on a slow machine.
    await runD(["--name", "talk"], "for i in 1 2 3; do echo line$i; done; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo late; sleep 0.5");
    await eventually(async () => (await logsOf("talk")).stdout.includes("line3"));
    expect((await logsOf("talk", ["--tail", "2"])).stdout).toBe("line2\nline3\n");
    expect((await logsOf("talk", ["-t", "--tail", "1"])).stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line3\n$/);
    // --since: a duration, a time, or seconds since 1970.
    expect((await logsOf("talk", ["--since", "10m"])).stdout).toMatch(/^line1\nline2\nline3\n(late\n)?$/);
    expect((await logsOf("talk", ["--since", new Date(Date.now() + 60_000).toISOString()])).stdout).toBe("");
    expect((await logsOf("talk", ["--since", String(Math.floor(Date.now() / 1000) - 600)])).stdout).toMatch(/^line1\nline2\nline3\n(late\n)?$/);
    expect((await logsOf("talk", ["--since", "yesterday-ish"])).code).toBe(125);
    const following = logsOf("talk", ["-f"]);
    expect((await box(t.s, ["exec", "talk", "touch", "/tmp/go"])).code).toBe(0);
    const follow = await following;
    expect(follow.code).toBe(0);
    expect(follow.stdout).toBe("line1\nline2\nline3\nlate\n");
    // The log survives the container's exit and goes with rm.
    expect((await logsOf("talk")).stdout).toBe("line1\nline2\nline3\nlate\n");
    await box(t.s, ["rm", "talk"]);
    expect((await logsOf("talk")).code).toBe(125);
  });

  test("max-size rotates: only the newest lines are kept, in max-file files", async () => {
    await runD(["--name", "chatty", "--log-opt", "max-size=1k", "--log-opt", "max-file=2"], "i=0; while [ $i -lt 200 ]; do echo message-$i; i=$((i+1)); done");
    expect((await box(t.s, ["wait", "chatty"])).stdout).toBe("0\n");
    const dir = join(t.s.root, "containers", (await box(t.s, ["inspect", "-f", "{{.Id}}", "chatty"])).stdout.trim());
    // json.log, and the last rotation's json.log.N (N counts the rotations: 200 lines made several).
    const files = readdirSync(dir).filter((f) => f.startsWith("json.log")).sort();
    expect(files).toEqual(["json.log", expect.stringMatching(/^json\.log\.([2-9]|\d\d+)$/)]);
    for (const f of files) expect(readFileSync(join(dir, f)).length).toBeLessThanOrEqual(1024);
    const out = (await logsOf("chatty")).stdout.trim().split("\n");
    expect(out.at(-1)).toBe("message-199");
    expect(out.length).toBeLessThan(200);
    await box(t.s, ["rm", "chatty"]);
  });
});

describe("stop, kill, wait, inspect", () => {
  test("stop sends SIGTERM; a payload that ignores it is killed after -t seconds", async () => {
    await runD(["--name", "polite"], 'trap "echo bye; exit 7" TERM; while true; do sleep 0.1; done');
    await runD(["--name", "stubborn"], 'trap "" TERM; while true; do sleep 0.1; done');
    await Bun.sleep(200);
    expect((await box(t.s, ["stop", "polite"])).stdout).toBe("polite\n");
    const started = Date.now();
    expect((await box(t.s, ["stop", "-t", "1", "stubborn"])).code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect((await box(t.s, ["wait", "polite", "stubborn"])).stdout).toBe("7\n137\n");
    expect((await logsOf("polite")).stdout).toBe("bye\n");
    const f = await box(t.s, ["inspect", "-f", "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.Name}}", "polite", "stubborn"]);
    expect(f.stdout).toBe("exited false 7 /polite\nexited false 137 /stubborn\n");
    await box(t.s, ["rm", "polite", "stubborn"]);
  });

  test("stop sends the container's --stop-signal first", async () => {
    await runD(["--name", "usr", "--stop-signal", "USR1"], 'trap "echo usr1; exit 3" USR1; while true; do sleep 0.1; done');
    await Bun.sleep(200);
    expect((await box(t.s, ["stop", "-t", "5", "usr"])).code).toBe(0);
    expect((await box(t.s, ["wait", "usr"])).stdout).toBe("3\n");
    expect((await box(t.s, ["inspect", "-f", "{{.Config.StopSignal}}", "usr"])).stdout).toBe("USR1\n");
    const bad = await box(t.s, ["run", "-d", "--stop-signal", "SIGNOPE", "--rootfs", copyRootfs(t.s), "true"]);
    expect([bad.code, bad.stderr]).toEqual([125, 'box: invalid signal "SIGNOPE" for --stop-signal\n']);
    await box(t.s, ["rm", "usr"]);
  });

  test("kill -s delivers the signal to the payload; kill on a stopped container is an error", async () => {
    await runD(["--name", "kk"], 'trap "echo usr1; exit 0" USR1; while true; do sleep 0.1; done');
    await Bun.sleep(200);
    expect((await box(t.s, ["kill", "-s", "USR1", "kk"])).code).toBe(0);
    expect((await box(t.s, ["wait", "kk"])).stdout).toBe("0\n");
    const again = await box(t.s, ["kill", "kk"]);
    expect(again.code).toBe(125);
    expect(again.stderr).toBe("box: container kk is not running\n");
    expect((await box(t.s, ["kill", "-s", "NOPE", "kk"])).stderr).toBe('box: invalid signal "NOPE"\n');
    await box(t.s, ["rm", "kk"]);
  });

  test("inspect: docker's shape, -f with json and index", async () => {
    const id = await runD(["--name", "ins", "-l", "team=ops", "-e", "A=1", "--hostname", "h1"], "exec sleep 30");
    const r = await box(t.s, ["inspect", "ins"]);
    const [c] = JSON.parse(r.stdout);
    expect(c.Id).toBe(id);
    expect(c.Name).toBe("/ins");
    expect(c.State.Status).toBe("running");
    expect(c.State.Running).toBe(true);
    expect(c.State.Pid).toBe(initPid(id));
    expect(c.Config.Hostname).toBe("h1");
    expect(c.Config.Env).toContain("A=1");
    expect(c.Config.Labels).toEqual({ team: "ops" });
    expect((await box(t.s, ["inspect", "-f", '{{index .Config.Labels "team"}} {{json .Config.Cmd}}', "ins"])).stdout).toBe('ops ["/bin/sh","-c","exec sleep 30"]\n');
    const missing = await box(t.s, ["inspect", "ins", "nope"]);
    expect(missing.code).toBe(125);
    expect(JSON.parse(missing.stdout)).toHaveLength(1);
    expect((await box(t.s, ["inspect", "-f", "{{.Nope}}", "ins"])).code).toBe(125);
    await box(t.s, ["rm", "-f", "ins"]);
  });
});

describe("exec", () => {
  test("joins the container's namespaces and cgroup, not as PID 1, and its exit code comes back", async () => {
    const id = await runD(["--name", "ex", "-e", "FROM_RUN=1", "--hostname", "inside"], "exec sleep 30");
    const r = await box(t.s, ["exec", "-e", "EXTRA=2", "ex", "sh", "-c", 'echo $$ $FROM_RUN $EXTRA $(hostname); for n in net mnt pid; do readlink /proc/self/ns/$n; done; cat /proc/1/cmdline | tr "\\0" " "; echo; cat /proc/self/cgroup; exit 9']);
    expect(r.code).toBe(9);
    const [first, net, mnt, pid, init, ...cgroup] = r.stdout.trim().split("\n");
    const [selfPid, fromRun, extra, hostname] = first!.split(" ");
    expect(Number(selfPid)).toBeGreaterThan(1);
    expect([fromRun, extra, hostname]).toEqual(["1", "2", "inside"]);
    const init1 = initPid(id);
    for (const [kind, seen] of [["net", net], ["mnt", mnt], ["pid", pid]] as const) {
      expect(seen).toBe(readlinkSync(`/proc/${init1}/ns/${kind}`));
      expect(seen).not.toBe(hostNamespace(kind));
    }
    expect(init).toBe("box __init ");
    // Its own cgroup namespace, rooted at the container's cgroup: every line says "/".
    expect(cgroup.every((l) => l.endsWith(":/"))).toBe(true);
    // And on the host it is in the container's cgroup.
    await box(t.s, ["rm", "-f", "ex"]);
  });

  test("-u, -w, the container's user and capabilities; 127/126 like run; -d returns at once", async () => {
    await runD(["--name", "uu"], "exec sleep 30");
    const who = await box(t.s, ["exec", "-u", "nobody", "-w", "/tmp", "uu", "sh", "-c", "id -u; pwd; grep CapEff /proc/self/status"]);
    expect(who.stdout).toBe("65534\n/tmp\nCapEff:\t0000000000000000\n");
    const root = await box(t.s, ["exec", "uu", "grep", "CapEff", "/proc/self/status"]);
    expect(root.stdout).not.toBe("CapEff:\t0000000000000000\n");
    const missing = await box(t.s, ["exec", "uu", "no-such-command"]);
    expect([missing.code, missing.stderr]).toEqual([127, 'box: exec: "no-such-command": executable file not found in $PATH\n']);
    expect((await box(t.s, ["exec", "uu", "/etc/passwd"])).code).toBe(126);
    const detached = await box(t.s, ["exec", "-d", "uu", "sh", "-c", "sleep 0.3; touch /tmp/done"]);
    expect([detached.code, detached.stdout]).toEqual([0, ""]);
    await eventually(async () => (await box(t.s, ["exec", "uu", "test", "-e", "/tmp/done"])).code === 0);
    await box(t.s, ["rm", "-f", "uu"]);
  });

  test("runs as the container's user unless -u says otherwise", async () => {
    await runD(["--name", "asnobody", "-u", "nobody"], "exec sleep 30");
    expect((await box(t.s, ["exec", "asnobody", "id", "-u"])).stdout).toBe("65534\n");
    expect((await box(t.s, ["exec", "-u", "0", "asnobody", "id", "-u"])).stdout).toBe("0\n");
    await box(t.s, ["rm", "-f", "asnobody"]);
  });

  test("-t gets a pty of the container's devpts with the caller's window size", async () => {
    await runD(["--name", "tt"], "exec sleep 30");
    const cmd = [...boxArgs(t.s, ["exec", "-t", "tt", "sh", "-c", "tty; stty size"])].map((a) => `'${a}'`).join(" ");
    const r = Bun.spawnSync(["script", "-qec", `stty rows 21 cols 77; ${cmd}`, "/dev/null"], { stdout: "pipe" });
    expect(r.stdout.toString()).toMatch(/^\/dev\/pts\/\d+\r\n21 77\r\n/);
    await box(t.s, ["rm", "-f", "tt"]);
  });

  test("into a container that is not running: a clear error", async () => {
    await box(t.s, ["run", "--name", "gone", "--rootfs", copyRootfs(t.s), "true"]);
    const r = await box(t.s, ["exec", "gone", "true"]);
    expect([r.code, r.stderr]).toEqual([125, "box: container gone is not running\n"]);
    await box(t.s, ["rm", "gone"]);
  });
});

describe("crash recovery", () => {
  test("after SIGKILL of the init, ps tells the truth and rm cleans everything", async () => {
    const id = await runD(["--name", "crash", "-m", "64m"], "exec sleep 30");
    process.kill(initPid(id), "SIGKILL");
    await eventually(async () => (await box(t.s, ["ps", "-a", "--format", "json"])).stdout.includes('"State":"exited"'));
    const ps = JSON.parse((await box(t.s, ["ps", "-a", "--format", "json"])).stdout);
    expect(ps.Status).toMatch(/^Exited \(137\)/);
    expect((await box(t.s, ["wait", "crash"])).stdout).toBe("137\n");
    // The leak check after this test asserts that cgroups, mounts and state are gone.
    expect((await box(t.s, ["rm", "crash"])).code).toBe(0);
  });

  test("a recorded pid that now belongs to another process is not trusted", async () => {
    const id = await runD(["--name", "dead"], "exec sleep 30");
    const other = await runD(["--name", "bystander"], "exec sleep 30");
    const stateFile = join(t.s.runroot, "containers", id, "state.json");
    const state = JSON.parse(readFileSync(stateFile, "utf8"));
    process.kill(state.pid, "SIGKILL");
    await eventually(() => !existsSync(`/proc/${state.pid}`));
    // As if the dead init's pid had been reused, by the worst candidate: another init of this
    // store. Only its start time differs.
    writeFileSync(stateFile, JSON.stringify({ ...state, pid: initPid(other) }));
    expect((await box(t.s, ["inspect", "-f", "{{.State.Running}}", "dead"])).stdout).toBe("false\n");
    expect((await box(t.s, ["kill", "dead"])).code).toBe(125);
    expect((await box(t.s, ["rm", "-f", "dead"])).code).toBe(0);
    expect((await box(t.s, ["inspect", "-f", "{{.State.Status}}", "bystander"])).stdout).toBe("running\n");
    await box(t.s, ["rm", "-f", "bystander"]);
  });
});

describe("create, start, restart", () => {
  test("create makes a container that start -a runs attached; start runs it again detached, keeping its files", async () => {
    const created = await box(t.s, ["create", "--name", "job", "--rootfs", copyRootfs(t.s), "sh", "-c", "echo run >> /count; wc -l < /count; exit 3"]);
    expect(created.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect((await box(t.s, ["ps", "-a", "--format", "json"])).stdout).toContain('"Status":"Created"');
    const first = await box(t.s, ["start", "-a", "job"]);
    expect([first.code, first.stdout]).toEqual([3, "1\n"]);
    expect((await box(t.s, ["start", "job"])).stdout).toBe("job\n");
    expect((await box(t.s, ["wait", "job"])).stdout).toBe("3\n");
    expect((await logsOf("job")).stdout).toBe("2\n");
    expect((await box(t.s, ["restart", "job"])).stdout).toBe("job\n");
    expect((await box(t.s, ["wait", "job"])).stdout).toBe("3\n");
    expect((await logsOf("job")).stdout).toBe("2\n3\n");
    await box(t.s, ["rm", "job"]);
  });

  test("two starts at once start one init; two rm -f at once both end with the container gone", async () => {
    await box(t.s, ["create", "--name", "once", "--rootfs", copyRootfs(t.s), "sh", "-c", "echo started; exec sleep 30"]);
    const starts = await Promise.all([box(t.s, ["start", "once"]), box(t.s, ["start", "once"])]);
    expect(starts.map((r) => r.code)).toEqual([0, 0]);
    await eventually(async () => (await logsOf("once")).stdout === "started\n");
    await Bun.sleep(200);
    expect((await logsOf("once")).stdout).toBe("started\n");
    // The second finds it gone: for rm -f that is done, as in Docker 20.10+ (exit 0, nothing printed).
    const removals = await Promise.all([box(t.s, ["rm", "-f", "once"]), box(t.s, ["rm", "-f", "once"])]);
    expect(removals.map((r) => [r.code, r.stderr])).toEqual([[0, ""], [0, ""]]);
    expect(removals.map((r) => r.stdout).sort()).toEqual(["", "once\n"]);
  });
});

describe("--restart", () => {
  test("on-failure:N restarts a failing payload N times, then it stays exited", async () => {
    await runD(["--name", "flaky", "--restart", "on-failure:2"], "echo try; exit 1");
    expect((await box(t.s, ["wait", "flaky"])).stdout).toBe("1\n");
    expect((await box(t.s, ["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "flaky"])).stdout).toBe("2 exited\n");
    expect((await logsOf("flaky")).stdout).toBe("try\ntry\ntry\n");
    // A payload that succeeds is not restarted by on-failure.
    await runD(["--name", "fine", "--restart", "on-failure"], "exit 0");
    expect((await box(t.s, ["wait", "fine"])).stdout).toBe("0\n");
    expect((await box(t.s, ["inspect", "-f", "{{.RestartCount}}", "fine"])).stdout).toBe("0\n");
    await box(t.s, ["rm", "flaky", "fine"]);
  });

  test("always restarts after a clean exit too; box stop ends it for good", async () => {
    await runD(["--name", "loop", "--restart", "always"], "echo up; sleep 0.2");
    await eventually(async () => Number((await box(t.s, ["inspect", "-f", "{{.RestartCount}}", "loop"])).stdout) >= 2);
    expect((await box(t.s, ["stop", "loop"])).code).toBe(0);
    expect((await box(t.s, ["inspect", "-f", "{{.State.Status}}", "loop"])).stdout).toBe("exited\n");
    const count = (await box(t.s, ["inspect", "-f", "{{.RestartCount}}", "loop"])).stdout;
    await Bun.sleep(600);
    expect((await box(t.s, ["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "loop"])).stdout).toBe(`${count.trim()} exited\n`);
    const bad = await box(t.s, ["run", "--rm", "--restart", "always", "--rootfs", copyRootfs(t.s), "true"]);
    expect([bad.code, bad.stderr]).toEqual([125, "box: conflicting options: --restart and --rm\n"]);
    const rm = await box(t.s, ["rm", "loop"]);
    expect(rm.stderr).toBe("");
  });
});

describe("top, rename, container prune", () => {
  test("top lists the init and every process of the container, with host and container pids", async () => {
    const id = await runD(["--name", "busy"], "sleep 30 & exec sleep 31");
    await box(t.s, ["exec", "-d", "busy", "sleep", "32"]);
    await eventually(async () => (await box(t.s, ["top", "--format", "json", "busy"])).stdout.includes("sleep 32"));
    const rows = JSON.parse((await box(t.s, ["top", "--format", "json", "busy"])).stdout) as { pid: number; containerPid: number; command: string }[];
    expect(rows[0]).toMatchObject({ pid: initPid(id), containerPid: 1, command: "box __init" });
    expect(rows.map((r) => r.command).sort()).toEqual(["box __init", "sleep 30", "sleep 31", "sleep 32"]);
    for (const r of rows) expect(readFileSync(`/proc/${r.pid}/status`, "utf8")).toMatch(new RegExp(`^NSpid:\\s+${r.pid}\\s+${r.containerPid}$`, "m"));
    expect((await box(t.s, ["top", "busy"])).stdout).toMatch(/^PID\s+CONTAINER PID\s+UID\s+COMMAND\n/);
    await box(t.s, ["rm", "-f", "busy"]);
  });

  test("rename moves the name; a taken or invalid name is refused", async () => {
    await runD(["--name", "old"], "exec sleep 30");
    await runD(["--name", "taken"], "exec sleep 30");
    expect((await box(t.s, ["rename", "old", "new"])).code).toBe(0);
    expect((await box(t.s, ["inspect", "-f", "{{.Name}}", "new"])).stdout).toBe("/new\n");
    expect((await box(t.s, ["inspect", "old"])).code).toBe(125);
    expect((await box(t.s, ["rename", "new", "taken"])).stderr).toMatch(/^box: the container name "taken" is already in use/);
    expect((await box(t.s, ["rename", "new", "a/b"])).stderr).toMatch(/^box: invalid container name "a\/b"/);
    await box(t.s, ["rm", "-f", "new", "taken"]);
  });

  test("container prune removes what is not running, asks for -f without a terminal", async () => {
    await runD(["--name", "alive"], "exec sleep 30");
    await box(t.s, ["run", "--name", "ended", "--rootfs", copyRootfs(t.s), "true"]);
    await box(t.s, ["create", "--name", "unstarted", "--rootfs", copyRootfs(t.s), "true"]);
    const refused = await box(t.s, ["container", "prune"]);
    expect([refused.code, refused.stderr]).toEqual([125, "box: box container prune removes every stopped container: confirm with -f\n"]);
    const pruned = await box(t.s, ["container", "prune", "-f"]);
    expect(pruned.stdout.trim().split("\n")).toHaveLength(3);
    expect((await box(t.s, ["ps", "-a", "--format", "json"])).stdout).toContain('"Names":"alive"');
    expect((await box(t.s, ["ps", "-a", "-q"])).stdout.trim().split("\n")).toHaveLength(1);
    await box(t.s, ["rm", "-f", "alive"]);
  });
});

describe("cp", () => {
  test("host → container and back, files and trees; links are copied as links", async () => {
    const src = join(t.s.dir, "src");
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "a.txt"), "hello\n");
    writeFileSync(join(src, "sub", "b.txt"), "deep\n", { mode: 0o640 });
    symlinkSync("a.txt", join(src, "link"));
    await runD(["--name", "cpy"], "exec sleep 30");
    expect((await box(t.s, ["cp", src, "cpy:/tmp/"])).code).toBe(0);
    const inside = await box(t.s, ["exec", "cpy", "sh", "-c", "cat /tmp/src/a.txt /tmp/src/sub/b.txt; readlink /tmp/src/link; stat -c %a /tmp/src/sub/b.txt"]);
    expect(inside.stdout).toBe("hello\ndeep\na.txt\n640\n");
    await box(t.s, ["exec", "cpy", "sh", "-c", "mkdir /out && echo made > /out/f"]);
    const back = join(t.s.dir, "back");
    expect((await box(t.s, ["cp", "cpy:/out", back])).code).toBe(0);
    expect(readFileSync(join(back, "f"), "utf8")).toBe("made\n");
    expect((await box(t.s, ["cp", "cpy:/out/f", join(t.s.dir, "single")])).code).toBe(0);
    expect(readFileSync(join(t.s.dir, "single"), "utf8")).toBe("made\n");
    const missing = await box(t.s, ["cp", "cpy:/nope", back]);
    expect([missing.code, missing.stderr]).toEqual([125, "box: cannot copy cpy:/nope: no such file or directory\n"]);
    expect((await box(t.s, ["cp", src, back])).stderr).toBe("box: box cp copies between a container and the host: exactly one of SRC and DEST must be CONTAINER:PATH\n");
    await box(t.s, ["rm", "-f", "cpy"]);
  });

  test("symlinks in the container never lead to the host's files, either way", async () => {
    const rootfs = copyRootfs(t.s);
    symlinkSync("/", join(rootfs, "etc", "toroot"));
    symlinkSync("/etc/shadow", join(rootfs, "tmp", "shadow"));
    const id = await runD(["--name", "trap"], "exec sleep 30");
    const file = join(t.s.dir, "payload.txt");
    writeFileSync(file, "x\n");
    const marker = `box-cp-escape-${id.slice(0, 12)}`;
    // Into the container through a link to "/": it lands in the container's /tmp, not the host's.
    expect((await box(t.s, ["cp", file, `trap:/etc/toroot/tmp/${marker}`])).code).toBe(0);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
    expect(readFileSync(join(rootfs, "tmp", marker), "utf8")).toBe("x\n");
    // Out of the container: the link is copied, not the host's /etc/shadow behind it.
    const out = join(t.s.dir, "shadow-out");
    expect((await box(t.s, ["cp", "trap:/tmp/shadow", out])).code).toBe(0);
    expect(lstatSync(out).isSymbolicLink()).toBe(true);
    // A file copied onto an existing link replaces the link; nothing is written through it.
    const shadow = readFileSync("/etc/shadow");
    expect((await box(t.s, ["cp", file, "trap:/tmp/shadow"])).code).toBe(0);
    expect(lstatSync(join(rootfs, "tmp", "shadow")).isFile()).toBe(true);
    expect(readFileSync("/etc/shadow")).toEqual(shadow);
    await box(t.s, ["rm", "-f", "trap"]);
  });
});

describe("found by trying it out", () => {
  test("a paused container whose init was killed is still removed completely by rm -f", async () => {
    const id = await runD(["--name", "iced"], "exec sleep 30");
    expect((await box(t.s, ["pause", "iced"])).code).toBe(0);
    process.kill(initPid(id), "SIGKILL");
    const rm = await box(t.s, ["rm", "-f", "iced"]);
    expect([rm.code, rm.stderr]).toEqual([0, ""]);
    // The leak check after the test: no process, no cgroup, no state left.
  });

  test("exec into a paused container fails at once", async () => {
    await runD(["--name", "cold"], "exec sleep 30");
    await box(t.s, ["pause", "cold"]);
    const r = await box(t.s, ["exec", "cold", "true"]);
    expect([r.code, r.stderr]).toEqual([125, "box: container cold is paused, unpause the container before exec\n"]);
    await box(t.s, ["rm", "-f", "cold"]);
  });

  test("logs -f loses no line across rotations", async () => {
    // ~14 KB of log in 4 KB files: 3 rotations, and room for all of it (a slow machine may start
    // following only after the payload has finished).
    await runD(["--name", "rot", "--log-opt", "max-size=4k", "--log-opt", "max-file=8"], 'i=0; while [ $i -lt 150 ]; do echo "line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); usleep 5000; done');
    const follow = await logsOf("rot", ["-f"]);
    const lines = follow.stdout.trim().split("\n");
    expect(lines).toEqual(Array.from({ length: 150 }, (_, i) => `line ${i} xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`));
    await box(t.s, ["rm", "rot"]);
  });

  test("logs -f, several at once, loses no line when rotations come faster than it reads", async () => {
    // ~400 KB in 4 KB files, in bursts as fast as the payload can write for ~1.5 s: a rotation
    // every ~30 lines, many while a follower is between opening and reading, or while the log is
    // between its rename and its new file.
    const lines = 3000;
    await runD(["--name", "churn", "--log-opt", "max-size=4k", "--log-opt", "max-file=200"], `i=0; while [ $i -lt ${lines} ]; do echo "line $i yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"; i=$((i+1)); [ $((i % 100)) = 0 ] && usleep 50000; done`);
    const followers = await Promise.all([1, 2, 3].map(() => logsOf("churn", ["-f"])));
    const want = Array.from({ length: lines }, (_, i) => `line ${i} yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy`);
    for (const follow of followers) {
      const got = follow.stdout.trim().split("\n");
      // The first line that differs, not 3000 lines of diff.
      const wrong = got.findIndex((line, i) => line !== want[i]);
      expect([got.length, wrong, wrong < 0 ? "" : got[wrong]]).toEqual([lines, -1, ""]);
    }
    await box(t.s, ["rm", "churn"]);
  });

  test("ps: name filters are regular expressions, --format takes a template; logs into a closed pipe is quiet", async () => {
    await runD(["--name", "fl"], "echo a; echo b; exec sleep 30");
    await runD(["--name", "flx"], "exec sleep 30");
    expect((await box(t.s, ["ps", "--filter", "name=^fl$", "--format", "{{.Names}} {{.State}}"])).stdout).toBe("fl running\n");
    expect((await box(t.s, ["container", "ls", "-q", "--filter", "name=flx"])).stdout.trim()).toHaveLength(12);
    expect((await box(t.s, ["rename", "fl", "fl"])).code).toBe(125);
    await eventually(async () => (await logsOf("fl")).stdout === "a\nb\n");
    const piped = Bun.spawnSync(["sh", "-c", `${boxArgs(t.s, ["logs", "fl"]).map((a) => `'${a}'`).join(" ")} | head -1`], { stdout: "pipe", stderr: "pipe" });
    expect(piped.stdout.toString()).toBe("a\n");
    expect(piped.stderr.toString()).toBe("");
    await box(t.s, ["rm", "-f", "fl", "flx"]);
  });
});

describe("the watcher (what a detached init becomes)", () => {
  function rssKiB(pid: number): number {
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  }

  test("an idle detached container costs its watcher well under a megabyte; ps and top still see box __init", async () => {
    const id = await runD(["--name", "idle"], "echo up; exec sleep 30");
    await eventually(async () => (await logsOf("idle")).stdout === "up\n");
    const pid = initPid(id);
    expect(rssKiB(pid)).toBeLessThan(1024);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("box\0__init\0");
    // Signals still reach the payload, exec still joins the namespaces.
    expect((await box(t.s, ["exec", "idle", "true"])).code).toBe(0);
    expect((await box(t.s, ["stop", "idle"])).code).toBe(0);
    expect((await box(t.s, ["inspect", "-f", "{{.State.ExitCode}} {{.State.FinishedAt}}", "idle"])).stdout).toMatch(/^143 \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    await box(t.s, ["rm", "idle"]);
  });

  test("it records an OOM kill, and an --rm container goes completely when its payload ends", async () => {
    await runD(["--name", "hogd", "-m", "16m"], "head -c 200m /dev/zero | tail > /dev/null");
    expect((await box(t.s, ["wait", "hogd"])).stdout).toBe("137\n");
    expect((await box(t.s, ["inspect", "-f", "{{.State.OOMKilled}}", "hogd"])).stdout).toBe("true\n");
    await box(t.s, ["rm", "hogd"]);
    const id = await runD(["--rm", "--name", "brief"], "echo bye; sleep 0.3");
    await eventually(() => !existsSync(join(t.s.root, "containers", id)));
    // The leak check after the test: no cgroup, no state, no name left behind.
  });

  test("a payload that ends before the hand-over loses no output; -di keeps stdin open", async () => {
    await runD(["--name", "quick"], "echo fast; exit 4");
    expect((await box(t.s, ["wait", "quick"])).stdout).toBe("4\n");
    expect((await logsOf("quick")).stdout).toBe("fast\n");
    await box(t.s, ["run", "-di", "--name", "reader", "--rootfs", copyRootfs(t.s), "sh"]);
    await Bun.sleep(500);
    expect((await box(t.s, ["inspect", "-f", "{{.State.Running}}", "reader"])).stdout).toBe("true\n");
    await box(t.s, ["rm", "-f", "quick", "reader"]);
  });
});

describe("generated names", () => {
  test("a container without --name is box_<12 hex>, found by it without a name file; the pattern is reserved", async () => {
    const id = await runD([], "exec sleep 30");
    const name = `box_${id.slice(0, 12)}`;
    expect((await box(t.s, ["ps", "--format", "{{.Names}}"])).stdout).toBe(`${name}\n`);
    expect(existsSync(join(t.s.root, "names", name))).toBe(false);
    expect((await box(t.s, ["exec", name, "true"])).code).toBe(0);
    const taken = await box(t.s, ["run", "--name", name, "--rootfs", copyRootfs(t.s), "true"]);
    expect([taken.code, taken.stderr]).toEqual([125, `box: invalid container name "${name}": box_ and 12 hex digits name containers started without --name\n`]);
    expect((await box(t.s, ["rename", name, "named"])).code).toBe(0);
    expect((await box(t.s, ["inspect", name])).code).toBe(125);
    await box(t.s, ["rm", "-f", "named"]);
  });
});

describe("hostile containers against box's own commands", () => {
  test("cp never opens a device node or FIFO of the container, and drops setuid bits on the way out", async () => {
    const rootfs = copyRootfs(t.s);
    await runD(["--name", "nodes"], "mknod /tmp/disk b 7 0; mkfifo /tmp/fifo; cp /bin/busybox /tmp/suid; chmod 4755 /tmp/suid; exec sleep 30");
    await eventually(() => existsSync(join(rootfs, "tmp", "suid")) && (statSync(join(rootfs, "tmp", "suid")).mode & 0o4000) !== 0);
    // Out of the container: a FIFO or device is skipped (no hang, no read of the device).
    const fifo = await box(t.s, ["cp", "nodes:/tmp/fifo", join(t.s.dir, "fifo-out")]);
    expect(fifo.stderr).toContain("skipped");
    expect(existsSync(join(t.s.dir, "fifo-out"))).toBe(false);
    // Into the container, onto a block device node: the node is replaced, never opened.
    const file = join(t.s.dir, "data");
    writeFileSync(file, "data\n");
    expect((await box(t.s, ["cp", file, "nodes:/tmp/disk"])).code).toBe(0);
    expect(lstatSync(join(rootfs, "tmp", "disk")).isFile()).toBe(true);
    // setuid out of a container: gone.
    expect((await box(t.s, ["cp", "nodes:/tmp/suid", join(t.s.dir, "suid-out")])).code).toBe(0);
    expect(statSync(join(t.s.dir, "suid-out")).mode & 0o7777).toBe(0o755);
    await box(t.s, ["rm", "-f", "nodes"]);
  });

  test("exec does not read a container's /etc/passwd that is no regular file (it would hang on a FIFO)", async () => {
    await runD(["--name", "fifo"], "rm /etc/passwd; mkfifo /etc/passwd; exec sleep 30");
    // (Between the rm and the mkfifo there is no file at all.)
    await eventually(() => lstatSync(join(copyRootfs(t.s), "etc/passwd"), { throwIfNoEntry: false })?.isFIFO() === true);
    const started = Date.now();
    const r = await box(t.s, ["exec", "fifo", "true"]);
    expect(Date.now() - started).toBeLessThan(5000);
    // Not read at all: box runs as uid 0 (Docker's default), as if the file were missing.
    expect(r.code).toBe(0);
    await box(t.s, ["rm", "-f", "fifo"]);
  });
});
