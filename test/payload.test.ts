// How the payload is started: credentials, capabilities, environment, volumes, stdio.
import { describe, expect, test } from "bun:test";
import { deviceRulesEnforced } from "../src/cgroup/devices.ts";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { boxArgs, copyRootfs, run, sh, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

// Docker's 14; where box cannot enforce a device allow-list (cgroup v2 for now) without MKNOD.
const DOCKER_DEFAULT_CAPS = deviceRulesEnforced() ? "00000000a80425fb" : "00000000a00425fb";

function caps(status: string): Record<string, string> {
  return Object.fromEntries([...status.matchAll(/^(Cap\w+):\s+(\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

describe("capabilities", () => {
  test("root gets Docker's default set, nothing else", async () => {
    const r = await sh(t.s, "grep Cap /proc/self/status");
    expect(caps(r.stdout)).toEqual({
      CapInh: "0000000000000000",
      CapPrm: DOCKER_DEFAULT_CAPS,
      CapEff: DOCKER_DEFAULT_CAPS,
      CapBnd: DOCKER_DEFAULT_CAPS,
      CapAmb: "0000000000000000",
    });
  });

  test("a non-root user gets none", async () => {
    const r = await sh(t.s, "grep Cap /proc/self/status", ["-u", "alice"]);
    const c = caps(r.stdout);
    expect([c.CapPrm, c.CapEff, c.CapInh, c.CapAmb]).toEqual(Array(4).fill("0000000000000000"));
    expect(c.CapBnd).toBe(DOCKER_DEFAULT_CAPS);
  });

  test("what the default set allows and denies, seen from inside", async () => {
    const r = await sh(t.s, "chown 1000 /tmp && echo chown-ok; hostname other 2>/dev/null || echo sethostname-denied");
    expect(r.stdout.trim().split("\n")).toEqual(["chown-ok", "sethostname-denied"]);
  });
});

describe("user", () => {
  test("a name is resolved from the container's /etc/passwd with its groups and HOME", async () => {
    const r = await sh(t.s, "id; echo $HOME; cat /etc/hostname", ["-u", "alice", "--hostname", "h2"]);
    expect(r.stdout).toBe("uid=1000(alice) gid=1000(alice) groups=10(wheel),29(audio),1000(alice)\n/home/alice\nh2\n");
  });

  test("uid:gid numbers need no passwd entry", async () => {
    const r = await sh(t.s, "id -u; id -g; id -G; echo $HOME", ["-u", "4242:4343"]);
    expect(r.stdout).toBe("4242\n4343\n4343\n/\n");
  });

  test("name:group takes the group from /etc/group", async () => {
    const r = await sh(t.s, "id -u; id -g; id -G", ["-u", "alice:audio"]);
    expect(r.stdout).toBe("1000\n29\n29\n");
  });

  test("an unknown user is box's error", async () => {
    const r = await sh(t.s, "true", ["-u", "mallory"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("box: unable to find user mallory: no matching entries in passwd file\n");
  });

  test("a non-root payload cannot write root's files", async () => {
    const r = await sh(t.s, "echo x >> /etc/passwd || echo denied", ["-u", "alice"]);
    expect(r.stdout.trim()).toBe("denied");
  });
});

describe("environment, workdir, entrypoint", () => {
  test("Docker's default environment plus -e and --env-file, later wins", async () => {
    const envFile = join(t.s.dir, "env");
    writeFileSync(envFile, "# comment\nFROM_FILE=1\nOVERRIDDEN=file\n\nPASSED\n");
    const r = await Bun.spawn(
      boxArgs(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "--hostname", "h1",
        "--env-file", envFile, "-e", "OVERRIDDEN=flag", "-e", "PASSED", "-e", "UNSET_ON_HOST", "/bin/env"]),
      { env: { ...process.env, PASSED: "from-host" }, stdout: "pipe" },
    );
    const out = (await new Response(r.stdout).text()).trim().split("\n").sort();
    expect(out).toEqual(
      ["FROM_FILE=1", "HOME=/root", "HOSTNAME=h1", "OVERRIDDEN=flag", "PASSED=from-host",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"].sort(),
    );
  });

  test("-w sets the working directory, creating it", async () => {
    const r = await sh(t.s, "pwd", ["-w", "/srv/app"]);
    expect(r.stdout).toBe("/srv/app\n");
  });

  test("--entrypoint replaces the command's first word", async () => {
    const r = await run(t.s, ["--entrypoint", "/bin/echo"], ["hello", "world"]);
    expect(r.stdout).toBe("hello world\n");
  });

  test("a relative workdir is refused", async () => {
    const r = await sh(t.s, "pwd", ["-w", "srv"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("needs to be an absolute path");
  });
});

describe("volumes", () => {
  test("a read-write bind is shared with the host, :ro is read-only", async () => {
    const rw = join(t.s.dir, "rw");
    const ro = join(t.s.dir, "ro");
    mkdirSync(rw);
    mkdirSync(ro);
    writeFileSync(join(ro, "data"), "from-host");
    const r = await sh(t.s, "echo from-container > /rw/out; cat /ro/data; echo; echo x > /ro/new || echo ro-refused", [
      "-v", `${rw}:/rw`, "-v", `${ro}:/ro:ro`,
    ]);
    expect(r.stdout.trim().split("\n")).toEqual(["from-host", "ro-refused"]);
    expect(r.stderr).toContain("Read-only file system");
    expect(readFileSync(join(rw, "out"), "utf8")).toBe("from-container\n");
    expect(existsSync(join(ro, "new"))).toBe(false);
  });

  test("a single file can be bind-mounted", async () => {
    const f = join(t.s.dir, "conf");
    writeFileSync(f, "setting=1\n");
    const r = await sh(t.s, "cat /etc/app.conf", ["-v", `${f}:/etc/app.conf:ro`]);
    expect(r.stdout).toBe("setting=1\n");
  });

  test("a volume target that is a symlink out of the rootfs stays inside it", async () => {
    const rootfs = copyRootfs(t.s);
    const outsideAbs = join(t.s.dir, "outside-abs");
    const outsideRel = join(t.s.dir, "outside-rel");
    mkdirSync(outsideAbs);
    mkdirSync(outsideRel);
    // Links in the image that point at host directories, absolutely and by climbing.
    symlinkSync(outsideAbs, join(rootfs, "abs-escape"));
    symlinkSync(`../../../../../../../..${outsideRel}`, join(rootfs, "rel-escape"));
    const vol = join(t.s.dir, "vol");
    mkdirSync(vol);
    writeFileSync(join(vol, "marker"), "volume");
    const r = await run(t.s, ["-v", `${vol}:/abs-escape`, "-v", `${vol}:/rel-escape/sub`], ["/bin/sh", "-c", `ls ${outsideAbs} ${outsideRel}/sub`], { rootfs });
    expect(r.code).toBe(0);
    // Inside, both links resolved within the rootfs and the volume is there ...
    expect(r.stdout.split("\n").filter((l) => l === "marker")).toHaveLength(2);
    // ... while on the host nothing was created at the links' targets, only inside the rootfs.
    expect(readdirSync(outsideAbs)).toEqual([]);
    expect(readdirSync(outsideRel)).toEqual([]);
    expect(existsSync(join(rootfs, outsideAbs.slice(1)))).toBe(true);
    expect(existsSync(join(rootfs, outsideRel.slice(1), "sub"))).toBe(true);
  });

  test("bad volume specs are refused before anything is created", async () => {
    for (const [spec, msg] of [
      ["bad name:/x", "is neither a host path"],
      [`${t.s.dir}:x`, "container path must be absolute"],
      [`${t.s.dir}/missing:/x`, "does not exist"],
      [`${t.s.dir}:/x:rx`, 'unknown mode "rx"'],
      [`${t.s.dir}:/`, "cannot mount over /"],
    ] as const) {
      const r = await sh(t.s, "true", ["-v", spec]);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(msg);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("stdio", () => {
  test("without -i stdin is /dev/null, with -i it is passed", async () => {
    expect((await run(t.s, [], ["/bin/cat"], { stdin: "hello" })).stdout).toBe("");
    expect((await run(t.s, ["-i"], ["/bin/cat"], { stdin: "hello" })).stdout).toBe("hello");
  });

  test("stdout and stderr stay apart", async () => {
    const r = await sh(t.s, "echo out; echo err >&2");
    expect([r.stdout, r.stderr]).toEqual(["out\n", "err\n"]);
  });
});

describe("stdio to slow readers", () => {
  const shellQuote = (args: string[]) => args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");

  test("a pipe that is read slowly loses nothing", async () => {
    const cmd = shellQuote(boxArgs(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "head", "-c", "10000000", "/dev/zero"]));
    const r = Bun.spawnSync(["bash", "-c", `${cmd} | (sleep 1; wc -c); echo "status=\${PIPESTATUS[0]}"`]);
    expect(r.stdout.toString().trim().split(/\s+/)).toEqual(["10000000", "status=0"]);
  });

  test("with -t too: the relay waits for the reader", async () => {
    const cmd = shellQuote(boxArgs(t.s, ["run", "--rm", "-t", "--rootfs", copyRootfs(t.s), "sh", "-c", "head -c 1000000 /dev/zero | od -v | wc -l; head -c 3000000 /dev/zero"]));
    const r = Bun.spawnSync(["bash", "-c", `${cmd} | (sleep 1; wc -c); echo "status=\${PIPESTATUS[0]}"`], { timeout: 20000 });
    const [count, status] = r.stdout.toString().trim().split(/\s+/);
    expect(Number(count)).toBeGreaterThan(3000000);
    expect(status).toBe("status=0");
  });

  test("the payload's stdout and stderr are write-only: no reading the user's keystrokes", async () => {
    const cmd = shellQuote(boxArgs(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "sh", "-c", "read x <&2 && echo got:$x || echo refused"]));
    const r = Bun.spawnSync(["script", "-qec", cmd, "/dev/null"], { stdin: new Blob(["secret\n"]) });
    expect(r.stdout.toString()).toContain("refused");
    expect(r.stdout.toString()).not.toContain("got:secret");
  });

  test("-it needs a terminal on stdin", async () => {
    const r = await run(t.s, ["-it"], ["cat"], { stdin: "x" });
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("box: the input device is not a TTY\n");
  });
});

describe("volumes, more", () => {
  test(":ro is recursive: a mount below the source is read-only too", async () => {
    const src = join(t.s.dir, "rosrc");
    mkdirSync(join(src, "inner"), { recursive: true });
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "none", join(src, "inner")]).exitCode).toBe(0);
    try {
      const r = await sh(t.s, "touch /ro/inner/x && echo written || echo refused", ["-v", `${src}:/ro:ro`]);
      expect(r.stdout.trim()).toBe("refused");
      expect(existsSync(join(src, "inner", "x"))).toBe(false);
    } finally {
      Bun.spawnSync(["umount", join(src, "inner")]);
    }
  });

  test("targets that name / in disguise are refused", async () => {
    for (const target of ["/..", "/.", "//", "/a/.."]) {
      const r = await sh(t.s, "true", ["-v", `${t.s.dir}:${target}`]);
      expect({ target, code: r.code, err: r.stderr }).toEqual({ target, code: 125, err: expect.stringContaining("cannot mount over /") });
    }
  });

  test("-w is created before a --read-only rootfs is locked; a file there is named", async () => {
    expect((await sh(t.s, "pwd", ["--read-only", "-w", "/newdir"])).stdout).toBe("/newdir\n");
    const r = await sh(t.s, "pwd", ["-w", "/etc/passwd"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("box: the working directory /etc/passwd is not a directory in the container\n");
  });
});
