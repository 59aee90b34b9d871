// Services that last: a simulated reboot and `box system boot`, the systemd units of `box generate
// systemd`, and `run --replace` of one name by many at once.
import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, rmdirSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BOX, box, boxArgs, copyRootfs, eventually, ROOTFS, storeProcesses, storePerTest, type Store } from "./helpers/box.ts";

const t = storePerTest();

/** `box run -d` of the test rootfs: its id. */
async function runD(flags: string[], script: string): Promise<string> {
  const r = await box(t.s, ["run", "-d", "--rootfs", copyRootfs(t.s), ...flags, "/bin/sh", "-c", script]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

function rmdirWhenFree(dir: string): void {
  for (let i = 0; existsSync(dir); i++) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EBUSY" || i > 500) throw e;
      Bun.sleepSync(2);
    }
  }
}

/**
 * What a reboot leaves of the store: every process of its containers dies (SIGKILL), and the run
 * root, the containers' cgroups (with box's records of them in /run/box-cgroups, a tmpfs), the
 * store's bridges and box's nftables rules for them and its containers are gone. Only this
 * store's: other users of the machine keep theirs.
 */
async function simulateReboot(s: Store): Promise<void> {
  const ids = readdirSync(join(s.root, "containers"));
  // The inits by their recorded pids too: one in the middle of its exec into the watcher has no
  // environment to read for a moment.
  const inits = ids.flatMap((id) => {
    try {
      const state = JSON.parse(readFileSync(join(s.runroot, "containers", id, "state.json"), "utf8"));
      return state.status === "exited" ? [] : [{ pid: state.pid as number, start: state.pidStart as number }];
    } catch {
      return [];
    }
  });
  // Still that init: the same start time (a pid reused since is somebody else's), no zombie.
  const alive = (init: { pid: number; start: number }) => {
    try {
      const stat = readFileSync(`/proc/${init.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return stat[0] !== "Z" && Number(stat[19]) === init.start;
    } catch {
      return false;
    }
  };
  await eventually(() => {
    const left = [...storeProcesses(s), ...inits.filter(alive).map((i) => i.pid)];
    for (const pid of left) process.kill(pid, "SIGKILL");
    return left.length === 0;
  });
  const hierarchies = [...readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h)), "/sys/fs/cgroup"];
  const root = realpathSync(s.root);
  for (const id of ids) {
    for (const h of hierarchies) rmdirWhenFree(join(h, "box", id));
    const record = join("/run/box-cgroups", new Bun.CryptoHasher("sha256").update(`${root}\0${id}`).digest("hex").slice(0, 32));
    if (existsSync(record)) unlinkSync(record);
  }
  rmSync(s.runroot, { recursive: true, force: true });
  const nets = join(s.root, "networks");
  const bridges = readdirSync(nets).flatMap((n) => (existsSync(join(nets, n, "config.json")) ? [JSON.parse(readFileSync(join(nets, n, "config.json"), "utf8")).bridge as string] : []));
  for (const b of bridges) Bun.spawnSync(["ip", "link", "del", b]);
  // Rules by handle: each line of `nft -a list` ends with its handle, below its chain's line.
  let chain = "";
  const doomed: Array<[string, string]> = [];
  for (const line of Bun.spawnSync(["nft", "-a", "list", "table", "ip", "box"]).stdout.toString().split("\n")) {
    chain = /^\s*chain (\S+)/.exec(line)?.[1] ?? chain;
    const tag = /comment "([^"]*)"/.exec(line)?.[1];
    const handle = /# handle (\d+)$/.exec(line)?.[1];
    if (tag && handle && (ids.some((id) => tag.includes(id)) || bridges.some((b) => tag === `box network ${b}`))) doomed.push([chain, handle]);
  }
  for (const [c, h] of doomed) Bun.spawnSync(["nft", "delete", "rule", "ip", "box", c, "handle", h]);
  for (const b of bridges) expect(existsSync(`/sys/class/net/${b}`)).toBe(false);
}

/** NAME → STATUS of every container, as `ps -a` shows them. */
async function statuses(): Promise<Record<string, string>> {
  const r = await box(t.s, ["ps", "-a", "--format", "{{.Names}}\t{{.Status}}"]);
  expect(r.code).toBe(0);
  return Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split("\t") as [string, string]));
}

describe("a reboot", () => {
  test("box system boot brings back always, unless-stopped and running on-failure containers, with their ports and names; the others stay down", async () => {
    expect((await box(t.s, ["network", "create", "svc"])).code).toBe(0);
    const serve = "mkdir -p /www && echo served > /www/index.html && exec httpd -f -p 8080 -h /www";
    await runD(["--name", "web", "--restart", "always", "--network", "svc", "-p", "127.0.0.1::8080"], serve);
    await runD(["--name", "peer", "--restart", "unless-stopped", "--network", "svc"], "exec sleep 300");
    await runD(["--name", "kept", "--restart", "unless-stopped"], "exec sleep 300");
    await runD(["--name", "halted", "--restart", "unless-stopped"], "exec sleep 300");
    await runD(["--name", "flaky", "--restart", "on-failure"], "exec sleep 300");
    await runD(["--name", "done", "--restart", "on-failure"], "exit 0");
    await runD(["--name", "plain"], "exec sleep 300");
    expect((await box(t.s, ["create", "--name", "fresh", "--restart", "always", "--rootfs", copyRootfs(t.s), "sleep", "300"])).code).toBe(0);
    expect((await box(t.s, ["stop", "-t", "1", "halted"])).code).toBe(0);
    await eventually(async () => (await statuses()).done!.startsWith("Exited (0)"));
    const port = (await box(t.s, ["port", "web", "8080"])).stdout.trim().split(":").pop();

    await simulateReboot(t.s);

    // What ran when the power went is Exited (255), as Docker's daemon finds it; the rest as they were.
    const before = await statuses();
    for (const name of ["web", "peer", "kept", "flaky", "plain"]) expect(before[name]).toBe("Exited (255)");
    expect(before.done).toStartWith("Exited (0)");
    expect(before.halted).toStartWith("Exited (");
    expect(before.fresh).toBe("Created");

    const boot = await box(t.s, ["system", "boot"]);
    expect(boot.stderr).toBe("");
    expect(boot.code).toBe(0);
    expect(boot.stdout.trim().split("\n").sort()).toEqual(["flaky", "kept", "peer", "web"]);
    const after = await statuses();
    for (const name of ["web", "peer", "kept", "flaky"]) expect(after[name]).toStartWith("Up ");
    for (const name of ["halted", "done", "plain"]) expect(after[name]).toStartWith("Exited (");
    expect(after.fresh).toBe("Created");

    // The published port, from the host; the name, from a peer on the network.
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/index.html`).then((r) => r.text()).catch(() => "")) === "served\n", 10000);
    const byName = await box(t.s, ["exec", "peer", "sh", "-c", "for i in $(seq 50); do wget -qO- http://web:8080/index.html && break; sleep 0.1; done"]);
    expect(byName.stdout).toBe("served\n");

    // A second boot starts nothing that runs; box start brings back the others.
    expect((await box(t.s, ["system", "boot"])).stdout).toBe("");
    for (const name of ["halted", "done", "plain", "fresh"]) {
      const r = await box(t.s, ["start", name]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    expect((await box(t.s, ["rm", "-f", ...Object.keys(after)])).code).toBe(0);
  }, 60000);

  test("box start alone brings a container back after a reboot", async () => {
    await runD(["--name", "svc", "-p", "127.0.0.1::8080", "-m", "64m"], "exec sleep 300");
    await simulateReboot(t.s);
    const r = await box(t.s, ["start", "svc"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((await statuses()).svc).toStartWith("Up ");
    expect((await box(t.s, ["rm", "-f", "svc"])).code).toBe(0);
  });

  test("a failed start of one container is its own line; the others still start", async () => {
    const gone = join(t.s.dir, "gone");
    cpSync(ROOTFS, gone, { recursive: true, verbatimSymlinks: true });
    await runD(["--name", "good", "--restart", "always"], "exec sleep 300");
    expect((await box(t.s, ["run", "-d", "--name", "bad", "--restart", "always", "--rootfs", gone, "sleep", "300"])).code).toBe(0);
    await simulateReboot(t.s);
    // Its root directory is gone: its start fails as `box start` would.
    rmSync(gone, { recursive: true });
    const boot = await box(t.s, ["system", "boot"]);
    expect(boot.code).toBe(125);
    expect(boot.stderr).toStartWith("box: bad: ");
    expect(boot.stderr.trim().split("\n")).toHaveLength(1);
    expect(boot.stdout).toBe("good\n");
    expect((await statuses()).good).toStartWith("Up ");
    expect((await box(t.s, ["rm", "-f", "good", "bad"])).code).toBe(0);
  });
});

describe("stop and restart", () => {
  test("box restart sends the container's --stop-signal", async () => {
    await runD(["--name", "sig", "--stop-signal", "USR1"], "trap 'echo got-usr1; exit 0' USR1; while :; do sleep 0.1; done");
    const r = await box(t.s, ["restart", "-t", "5", "sig"]);
    expect(r.code).toBe(0);
    expect((await box(t.s, ["logs", "sig"])).stdout).toContain("got-usr1");
    expect((await box(t.s, ["rm", "-f", "sig"])).code).toBe(0);
  });
});

describe("box generate systemd", () => {
  const verify = (file: string) => {
    if (!Bun.which("systemd-analyze")) return;
    const r = Bun.spawnSync(["systemd-analyze", "verify", file], { stderr: "pipe" });
    // Only what is about this unit (the host's other units may have complaints of their own).
    expect(r.stderr.toString().split("\n").filter((l) => l.includes(file))).toEqual([]);
  };

  test("without a container: the boot unit, to stdout or with --files to a file", async () => {
    const r = await box(t.s, ["generate", "systemd"]);
    expect(r.code).toBe(0);
    for (const line of ["Type=oneshot", "RemainAfterExit=yes", "After=network-online.target", "WantedBy=default.target"]) expect(r.stdout).toContain(`\n${line}\n`);
    expect(r.stdout).toContain(`\nExecStart=${BOX.join(" ")} --root ${t.s.root} --runroot ${t.s.runroot} system boot\n`);
    const cwd = mkdtempSync(join(tmpdir(), "box-units-"));
    try {
      const f = Bun.spawnSync(boxArgs(t.s, ["generate", "systemd", "--files"]), { cwd, stderr: "pipe" });
      expect(f.stderr.toString()).toBe("");
      expect(f.stdout.toString()).toBe(`${join(cwd, "box-boot.service")}\n`);
      expect(readFileSync(join(cwd, "box-boot.service"), "utf8")).toBe(r.stdout);
      verify(join(cwd, "box-boot.service"));
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test("with a container: its policy as Restart=, box start with a PIDFile of its init, box stop with its timeout", async () => {
    const id = await runD(["--name", "db", "--restart", "unless-stopped", "--stop-timeout", "7"], "exec sleep 300");
    const cwd = mkdtempSync(join(tmpdir(), "box-units-"));
    try {
      const f = Bun.spawnSync(boxArgs(t.s, ["generate", "systemd", "--name", "--files", "db"]), { cwd, stderr: "pipe" });
      expect(f.stderr.toString()).toBe("");
      const file = join(cwd, "container-db.service");
      expect(f.stdout.toString()).toBe(`${file}\n`);
      const unit = readFileSync(file, "utf8");
      const pidFile = join(t.s.runroot, "containers", id, "init.pid");
      for (const line of ["Type=forking", "Restart=always", "TimeoutStopSec=67", `PIDFile=${pidFile}`, `ExecStart=${BOX.join(" ")} --root ${t.s.root} --runroot ${t.s.runroot} start db`, `ExecStop=${BOX.join(" ")} --root ${t.s.root} --runroot ${t.s.runroot} stop -t 7 db`]) {
        expect(unit).toContain(`\n${line}\n`);
      }
      verify(file);
      // By id without --name; --restart-policy overrides the container's.
      const byId = await box(t.s, ["generate", "systemd", "--restart-policy", "on-failure", "db"]);
      expect(byId.stdout).toContain(`# container-${id}.service\n`);
      expect(byId.stdout).toContain("\nRestart=on-failure\n");
      // What systemd reads: the pid of the container's init, written by box start.
      expect((await box(t.s, ["start", "db"])).code).toBe(0);
      const pid = (await box(t.s, ["inspect", "-f", "{{.State.Pid}}", "db"])).stdout.trim();
      expect(readFileSync(pidFile, "utf8")).toBe(`${pid}\n`);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
    expect((await box(t.s, ["rm", "-f", "db"])).code).toBe(0);
  });

  test("bad input is one line and 125", async () => {
    for (const args of [["--restart-policy", "sometimes", "x1"], ["--name"], ["no-such-container"]]) {
      const r = await box(t.s, ["generate", "systemd", ...args]);
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("run --replace at once", () => {
  for (const n of [2, 20]) {
    test(`${n} at once: each replaces or fails with one line; one container keeps the name`, async () => {
      const rootfs = copyRootfs(t.s);
      const procs = Array.from({ length: n }, () =>
        Bun.spawn(boxArgs(t.s, ["run", "-d", "--replace", "--name", "x1", "--rootfs", rootfs, "sleep", "300"]), { stdout: "pipe", stderr: "pipe" }),
      );
      const results = await Promise.all(procs.map(async (p) => ({ code: await p.exited, stderr: await new Response(p.stderr).text() })));
      for (const r of results) {
        if (r.code === 0) expect(r.stderr).toBe("");
        else {
          expect(r.code).toBe(125);
          expect(r.stderr.trim().split("\n")).toHaveLength(1);
        }
      }
      expect(results.some((r) => r.code === 0)).toBe(true);
      const ps = await box(t.s, ["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
      expect(ps.stdout).toBe("x1 running\n");
      expect(readdirSync(join(t.s.root, "name-locks"))).toEqual([]);
      expect((await box(t.s, ["rm", "-f", "x1"])).code).toBe(0);
    }, 120000);
  }
});
