// box build as a Docker user drives it: a Dockerfile and a context directory into an image that
// runs, with the config, files and history the instructions say; the cache; stages; and the
// failures, each one line, exit 1, nothing half-built left.
import { describe, expect, test } from "bun:test";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, boxArgs, boxOk, importBusybox, ROOTFS, storePerTest } from "./helpers/box.ts";

const t = storePerTest();
const ok = (args: string[]) => boxOk(t.s, args);

/** A context directory of the test's with these files (path → content). */
function context(files: Record<string, string>): string {
  const dir = join(t.s.dir, `ctx-${Math.random().toString(36).slice(2, 8)}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

async function withBase(): Promise<void> {
  expect((await importBusybox(t.s, "busybox")).code).toBe(0);
}

const build = (dir: string, flags: string[] = []) => box(t.s, ["build", "--network", "none", ...flags, dir]);
const inspect = async (ref: string, format: string) => (await ok(["image", "inspect", "-f", format, ref])).trim();
const runIn = async (image: string, script: string) => (await ok(["run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", script])).trim();

/** What the store holds besides images and containers a test made (build's temporaries must go). */
function temporaries(): string[] {
  try {
    return readdirSync(join(t.s.root, "tmp"));
  } catch {
    return [];
  }
}

describe("box build", () => {
  test("instructions set the config and files a container of the image sees", async () => {
    await withBase();
    const dir = context({
      Dockerfile: [
        "ARG BASE=busybox",
        "FROM ${BASE}",
        "ARG GREETING=hello",
        "ENV APP_HOME=/srv/app MODE=\"two words\"",
        "WORKDIR $APP_HOME",
        "RUN echo \"$GREETING from RUN\" > greeting && mkdir -p /data && echo made > /data/file",
        "COPY app.txt conf/ ./",
        "COPY --chown=1000:1000 --chmod=0600 secret.txt /etc/secret",
        "LABEL org.example.name=\"app\" version=1",
        "EXPOSE 8080 53/udp",
        "VOLUME /data",
        "USER 1000",
        "STOPSIGNAL SIGINT",
        "ENTRYPOINT [\"/bin/sh\", \"-c\"]",
        "CMD [\"cat greeting\"]",
      ].join("\n"),
      "app.txt": "app\n",
      "conf/settings": "a=1\n",
      "secret.txt": "s3cret\n",
      "ignored.log": "no\n",
      ".dockerignore": "*.log\n",
    });
    const r = await build(dir, ["-t", "app", "--build-arg", "GREETING=hi"]);
    expect(r.code).toBe(0);
    // BuildKit's plain progress: the steps that do work, numbered in their stage.
    expect(r.stderr).toContain("[5/14] RUN echo \"$GREETING from RUN\"");
    expect(r.stderr).not.toContain("] ENV");
    // A base without PATH gets BuildKit's.
    expect(JSON.parse(await inspect("app", "{{json .Config.Env}}"))).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_HOME=/srv/app", "MODE=two words"]);
    expect(await inspect("app", "{{.Config.WorkingDir}} {{.Config.User}} {{.Config.StopSignal}}")).toBe("/srv/app 1000 SIGINT");
    expect(await inspect("app", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}")).toBe('["/bin/sh","-c"] ["cat greeting"]');
    expect(await inspect("app", "{{json .Config.Labels}}")).toBe('{"org.example.name":"app","version":"1"}');
    expect(await inspect("app", "{{json .Config.ExposedPorts}} {{json .Config.Volumes}}")).toBe('{"53/udp":{},"8080/tcp":{}} {"/data":{}}');
    // The default command: the RUN's file, with the build arg given.
    expect((await ok(["run", "--rm", "--network", "none", "app"])).trim()).toBe("hi from RUN");
    const files = await runIn("app", "ls -A /srv/app | tr '\\n' ' '; cat /srv/app/app.txt /srv/app/settings; stat -c '%u:%g %a' /etc/secret; cat /etc/secret");
    expect(files).toBe("app.txt greeting settings app\na=1\n1000:1000 600\ns3cret");
    // ARGs are no part of the image.
    expect(await runIn("app", "echo ${GREETING:-unset}")).toBe("unset");
    // History: one entry per instruction, empty layers for the config-only ones.
    const history = (await ok(["history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}", "app"])).trim().split("\n");
    expect(history.filter((h) => h.includes("#(nop)")).length).toBeGreaterThanOrEqual(10);
    expect(history.some((h) => h.includes("echo \"$GREETING from RUN\""))).toBe(true);
    expect(temporaries()).toEqual([]);
    await ok(["rmi", "app"]);
  }, 60000);

  test("the cache: an unchanged rebuild is all CACHED and gives the same image; a changed source rebuilds from its COPY on", async () => {
    await withBase();
    const dir = context({ Dockerfile: "FROM busybox\nRUN echo one > /one\nCOPY file /file\nRUN cat /file > /copy\n", file: "v1\n" });
    const first = await build(dir, ["-q", "-t", "cached"]);
    expect(first.code).toBe(0);
    const again = await build(dir, ["-t", "cached"]);
    expect(again.code).toBe(0);
    expect(again.stderr.match(/CACHED/g)?.length).toBe(3);
    expect(await inspect("cached", "{{.Id}}")).toBe(first.stdout.trim());
    writeFileSync(join(dir, "file"), "v2\n");
    const changed = await build(dir, ["-t", "cached"]);
    expect(changed.stderr.match(/CACHED/g)?.length).toBe(1);
    expect(await runIn("cached", "cat /copy")).toBe("v2");
    const fresh = await build(dir, ["--no-cache", "-t", "cached"]);
    expect(fresh.stderr).not.toContain("CACHED");
    expect((await ok(["builder", "prune", "-f"])).trim()).toMatch(/^Deleted build cache objects: \d+$/);
    expect((await build(dir, ["-t", "cached"])).stderr).not.toContain("CACHED");
    // system prune takes the build cache too (Docker's).
    expect(await ok(["system", "prune", "-f"])).toMatch(/Deleted build cache objects: \d+/);
    expect((await build(dir, ["-t", "cached"])).stderr).not.toContain("CACHED");
    await ok(["rmi", "cached"]);
  }, 60000);

  test("stages: COPY --from a stage, --target stops at it, a stage the target does not need is not built", async () => {
    await withBase();
    const dir = context({
      Dockerfile: [
        "FROM busybox AS compile",
        "RUN mkdir /out && echo '#!/bin/sh' > /out/tool && echo 'echo tool ran' >> /out/tool && chmod 755 /out/tool",
        "FROM busybox AS unused",
        "RUN echo never > /never",
        "FROM busybox",
        "COPY --from=compile /out/tool /usr/local/bin/tool",
        "CMD [\"tool\"]",
      ].join("\n"),
    });
    const r = await build(dir, ["-t", "staged"]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("echo never");
    expect((await ok(["run", "--rm", "--network", "none", "staged"])).trim()).toBe("tool ran");
    const target = await build(dir, ["--target", "compile", "-t", "compiled"]);
    expect(target.code).toBe(0);
    expect(await runIn("compiled", "ls /out")).toBe("tool");
    expectBuildFailed(await build(dir, ["--target", "nosuch"]), /target stage "nosuch" could not be found/);
    await ok(["rmi", "staged", "compiled"]);
  }, 60000);

  test("variables as Docker's: ${V:-x}, ${V:+x}, quotes and escapes; a global ARG reaches a stage only when declared there", async () => {
    await withBase();
    const dir = context({
      Dockerfile: [
        "ARG GLOBAL=g",
        "FROM busybox",
        "ARG GLOBAL",
        "ARG UNSET",
        "ENV A=${GLOBAL:-none} B=${UNSET:-default} C=${GLOBAL:+set} D=${UNSET:+set}",
        "ENV E='$A kept' F=\"$A expanded\" G=\\$A",
        "LABEL from.global=$GLOBAL",
      ].join("\n"),
    });
    expect((await build(dir, ["-t", "vars"])).code).toBe(0);
    const env = JSON.parse(await inspect("vars", "{{json .Config.Env}}")).slice(1);
    expect(env).toEqual(["A=g", "B=default", "C=set", "D=", "E=$A kept", "F=g expanded", "G=$A"]);
    expect(await inspect("vars", "{{json .Config.Labels}}")).toBe('{"from.global":"g"}');
    await ok(["rmi", "vars"]);
  }, 60000);

  test("heredocs: RUN <<EOF runs a script, COPY <<EOF writes a file", async () => {
    await withBase();
    const dir = context({ Dockerfile: "FROM busybox\nRUN <<EOF\necho first > /a\necho second >> /a\nEOF\nCOPY <<EOF /etc/note\nnoted\nEOF\n" });
    expect((await build(dir, ["-t", "here"])).code).toBe(0);
    expect(await runIn("here", "cat /a /etc/note")).toBe("first\nsecond\nnoted");
    await ok(["rmi", "here"]);
  }, 60000);

  test("ADD unpacks a local tar archive (gzip too) into the destination; another file is copied as it is", async () => {
    await withBase();
    const dir = context({ Dockerfile: "FROM busybox\nADD tree.tar.gz /opt/\nADD plain.txt /opt/plain.txt\n", "plain.txt": "plain\n", "tree/a/b": "in the archive\n" });
    expect(Bun.spawnSync(["tar", "-C", join(dir, "tree"), "-czf", join(dir, "tree.tar.gz"), "."]).exitCode).toBe(0);
    expect((await build(dir, ["-t", "added"])).code).toBe(0);
    expect(await runIn("added", "cat /opt/a/b /opt/plain.txt; ls /opt")).toBe("in the archive\nplain\na\nplain.txt");
    await ok(["rmi", "added"]);
  }, 60000);

  test("ADD of a URL (0600, --checksum checked); COPY --exclude and --parents", async () => {
    await withBase();
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => (new URL(req.url).pathname === "/files/tool.sh" ? new Response("#!/bin/sh\necho tool\n") : new Response("no", { status: 404 })) });
    try {
      const url = `http://127.0.0.1:${server.port}/files/tool.sh`;
      const sum = `sha256:${new Bun.CryptoHasher("sha256").update("#!/bin/sh\necho tool\n").digest("hex")}`;
      const dir = context({
        // *.log below the source: drop.log, not sub/deep.log (that takes **/*.log), as BuildKit's.
        Dockerfile: `FROM busybox\nADD --checksum=${sum} ${url} /opt/\nCOPY --exclude=*.log src/ /src/\nCOPY --parents a/x.txt b/y.txt /kept/\n`,
        "src/keep.txt": "keep\n",
        "src/drop.log": "drop\n",
        "src/sub/deep.log": "deep\n",
        "a/x.txt": "x\n",
        "b/y.txt": "y\n",
      });
      expect((await build(dir, ["-t", "fetched"])).code).toBe(0);
      expect(await runIn("fetched", "stat -c '%a %u' /opt/tool.sh; cat /opt/tool.sh; find /src /kept -type f | sort")).toBe("600 0\n#!/bin/sh\necho tool\n/kept/a/x.txt\n/kept/b/y.txt\n/src/keep.txt\n/src/sub/deep.log");
      expectBuildFailed(await build(context({ Dockerfile: `FROM busybox\nADD --checksum=sha256:${"0".repeat(64)} ${url} /opt/\n` })), /digest mismatch/);
      expectBuildFailed(await build(context({ Dockerfile: `FROM busybox\nADD http://127.0.0.1:${server.port}/nosuch /opt/\n` })), /failed to load .*404/);
    } finally {
      server.stop(true);
    }
    expect(temporaries()).toEqual([]);
    await ok(["rmi", "fetched"]);
  }, 60000);

  test("RUN --mount: a cache kept between builds, a tmpfs, a bind of the context or of a stage (rw: writes thrown away), a secret (file and env); none of them in the image; COPY --from with wildcards", async () => {
    await withBase();
    const dir = context({
      Dockerfile: [
        "FROM busybox AS tools",
        "RUN mkdir /out && echo from-stage > /out/note && echo a > /out/a.txt && echo b > /out/b.txt",
        "FROM busybox",
        "RUN --mount=type=bind,from=tools,source=/out,target=/mnt/tools cat /mnt/tools/note > /from-stage",
        "RUN --mount=type=cache,target=/var/cache/app echo run >> /var/cache/app/runs && wc -l < /var/cache/app/runs > /runs",
        "RUN --mount=type=tmpfs,target=/scratch echo x > /scratch/x && grep -q ' /scratch tmpfs' /proc/mounts && echo tmpfs > /tmpfs-seen",
        "RUN --mount=type=bind,source=conf,target=/mnt/conf cat /mnt/conf/a > /bound",
        "RUN --mount=type=bind,source=conf,target=/mnt/conf,rw echo written > /mnt/conf/a && cat /mnt/conf/a > /rw-seen",
        "COPY --from=tools /out/*.txt /txt/",
        "RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /secret-size",
        "RUN --mount=type=secret,id=token,env=TOKEN test \"$TOKEN\" = s3cret && echo env-ok > /secret-env",
      ].join("\n"),
      "conf/a": "bound\n",
      "token.txt": "s3cret",
    });
    const secret = ["--secret", `id=token,src=${join(dir, "token.txt")}`];
    expect((await build(dir, ["-t", "mounted", ...secret])).code).toBe(0);
    expect(await runIn("mounted", "cat /runs /tmpfs-seen /bound /secret-size /secret-env /from-stage /rw-seen; ls /txt")).toBe("1\ntmpfs\nbound\n6\nenv-ok\nfrom-stage\nwritten\na.txt\nb.txt");
    // The rw bind wrote to its copy: the context is as it was.
    expect(readFileSync(join(dir, "conf/a"), "utf8")).toBe("bound\n");
    // The mount points are no part of the image.
    expect(await runIn("mounted", "ls -d /var/cache/app /scratch /mnt/conf /mnt/tools /run/secrets 2>/dev/null; true")).toBe("");
    // The cache directory outlives the build: a rebuild without the step cache sees the first run's line.
    expect((await build(dir, ["--no-cache", "-t", "mounted", ...secret])).code).toBe(0);
    expect(await runIn("mounted", "cat /runs")).toBe("2");
    // A required secret not given is one line.
    expectBuildFailed(await build(context({ Dockerfile: "FROM busybox\nRUN --mount=type=secret,id=x,required=true true\n" })), /secret x not found/);
    await ok(["rmi", "mounted"]);
  }, 60000);

  test("standard input: a Dockerfile alone, or a context tar; -o writes the image's files as a tar or into a directory", async () => {
    await withBase();
    const alone = await box(t.s, ["build", "--network", "none", "-q", "-"], { stdin: "FROM busybox\nRUN echo from-stdin > /f\n" });
    expect(alone.code).toBe(0);
    expect(await runIn(alone.stdout.trim(), "cat /f")).toBe("from-stdin");
    const dir = context({ Dockerfile: "FROM busybox\nCOPY f /f\n", f: "from-tar\n" });
    const tar = join(t.s.dir, "ctx.tar");
    expect(Bun.spawnSync(["tar", "-C", dir, "-cf", tar, "."]).exitCode).toBe(0);
    const viaTar = Bun.spawnSync([...boxArgs(t.s, ["build", "--network", "none", "-q", "-t", "from-tar", "-"])], { stdin: Bun.file(tar), stderr: "pipe" });
    expect([viaTar.exitCode, viaTar.stderr.toString()]).toEqual([0, ""]);
    expect(await runIn("from-tar", "cat /f")).toBe("from-tar");
    const out = join(t.s.dir, "out.tar");
    expect((await build(dir, ["-o", `type=tar,dest=${out}`])).code).toBe(0);
    expect(Bun.spawnSync(["tar", "-xOf", out, "f"]).stdout.toString()).toBe("from-tar\n");
    const local = join(t.s.dir, "local");
    expect((await build(dir, ["-o", `type=local,dest=${local}`])).code).toBe(0);
    expect(readFileSync(join(local, "f"), "utf8")).toBe("from-tar\n");
    expect(existsSync(join(local, "bin/busybox"))).toBe(true);
    expect(temporaries()).toEqual([]);
    await ok(["rmi", "from-tar", alone.stdout.trim()]);
  }, 60000);

  test("ONBUILD triggers run in the child's build; box image build and box buildx build are box build", async () => {
    await withBase();
    const parent = context({ Dockerfile: "FROM busybox\nONBUILD RUN echo from-parent > /onbuild\n" });
    expect((await box(t.s, ["image", "build", "--network", "none", "-t", "parent", parent])).code).toBe(0);
    const child = context({ Dockerfile: "FROM parent\nRUN cat /onbuild > /seen\n" });
    expect((await box(t.s, ["buildx", "build", "--network", "none", "-t", "child", child])).code).toBe(0);
    expect(await runIn("child", "cat /seen")).toBe("from-parent");
    // Triggers run once: the child's own config has none.
    expect(await inspect("child", "{{json .Config.OnBuild}}")).toBe("null");
    await ok(["rmi", "child", "parent"]);
  }, 60000);

  test("rootless: a user's box builds with its own store; its files are the user's (the container's root)", async () => {
    const USER = 65534;
    chownSync(t.s.dir, USER, USER);
    const asUser = (args: string[]) => box(t.s, args, { as: USER });
    const tar = join(t.s.dir, "rootfs.tar");
    expect(Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", tar, "."]).exitCode).toBe(0);
    chownSync(tar, USER, USER);
    expect((await asUser(["import", tar, "busybox"])).code).toBe(0);
    const dir = context({ Dockerfile: "FROM busybox\nRUN echo built > /built\nCOPY f /f\n", f: "copied\n" });
    Bun.spawnSync(["chown", "-R", `${USER}:${USER}`, dir]);
    const r = await asUser(["build", "-t", "mine", dir]);
    // Without network: a rootless box's containers have their own lo only.
    expect(r.code).toBe(0);
    const seen = await asUser(["run", "--rm", "mine", "sh", "-c", "cat /built /f; stat -c %u /f"]);
    expect(seen.stdout).toBe("built\ncopied\n0\n");
    expectBuildFailed(await asUser(["build", context({ Dockerfile: "FROM busybox\nCOPY --chown=1000 f /f\n", f: "" })]), /rootless: --chown to another user than root needs root/);
    expect((await asUser(["rmi", "mine", "busybox"])).code).toBe(0);
  }, 60000);

  test("on a terminal: RUN's output in a window under its step, folded away when done", async () => {
    await withBase();
    const dir = context({ Dockerfile: "FROM busybox\nRUN for i in 1 2 3 4 5 6 7 8; do echo line-$i; done\n" });
    // `script` gives box a terminal; its output is what the terminal got.
    const r = Bun.spawnSync(["script", "-qefc", boxArgs(t.s, ["build", "--network", "none", "-t", "tty", dir]).map((a) => `'${a}'`).join(" "), "/dev/null"], { stdout: "pipe", stderr: "pipe" });
    const out = r.stdout.toString();
    expect(r.exitCode).toBe(0);
    expect(out).toContain("\x1b[2mline-8\x1b[0m");
    // Redrawn in place (up, clear), and erased at the end: no line-1 .. line-8 left as plain lines.
    expect(out).toMatch(/\x1b\[\d+A\x1b\[J/);
    expect(out).not.toMatch(/#\d+ [\d.]+ line-/);
    expect(out).toMatch(/#\d+ DONE/);
    await ok(["rmi", "tty"]);
  }, 60000);

  test("a hostile context: its links lead nowhere outside it, for COPY, ADD and RUN --mount=type=bind", async () => {
    await withBase();
    // A host directory the context links to, by an absolute and by a relative link.
    const outside = join(t.s.dir, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "secret"), "host-secret\n");
    const dir = context({ Dockerfile: "FROM busybox\n" });
    symlinkSync(outside, join(dir, "abs"));
    symlinkSync("../outside", join(dir, "rel"));
    for (const line of ["COPY abs/secret /x", "COPY rel/secret /x", "ADD rel/secret /x", "COPY abs /x/", "RUN --mount=type=bind,source=abs/secret,target=/m cat /m"]) {
      writeFileSync(join(dir, "Dockerfile"), `FROM busybox\n${line}\n`);
      const r = await build(dir, ["-t", "hostile"]);
      // Refused (the path inside the context does not exist), or built without the host's file.
      if (r.code === 0) expect(await runIn("hostile", "grep -r host-secret /x 2>/dev/null; true")).toBe("");
      else expectBuildFailed(r, /not found/);
    }
    // A link the stage has on the destination's way is followed inside the image, and stays a link.
    writeFileSync(join(dir, "Dockerfile"), "FROM busybox\nRUN mkdir -p /usr/merged && ln -s usr/merged /m\nCOPY f /m/f\n");
    writeFileSync(join(dir, "f"), "through the link\n");
    expect((await build(dir, ["-t", "linked"])).code).toBe(0);
    expect(await runIn("linked", "readlink /m; cat /usr/merged/f")).toBe("usr/merged\nthrough the link");
    await box(t.s, ["rmi", "hostile"]);
    await ok(["rmi", "linked"]);
  }, 60000);

  test("COPY --exclude: an excluded file's change is no change; another pattern is", async () => {
    await withBase();
    const dir = context({ Dockerfile: "FROM busybox\nCOPY --exclude=*.log src/ /src/\n", "src/a": "a\n", "src/b.log": "1\n" });
    expect((await build(dir, ["-t", "excl"])).code).toBe(0);
    writeFileSync(join(dir, "src/b.log"), "2\n");
    expect((await build(dir, ["-t", "excl"])).stderr).toContain("CACHED");
    writeFileSync(join(dir, "Dockerfile"), "FROM busybox\nCOPY --exclude=a src/ /src/\n");
    const changed = await build(dir, ["-t", "excl"]);
    expect(changed.stderr).not.toContain("CACHED");
    expect(await runIn("excl", "ls /src")).toBe("b.log");
    await ok(["rmi", "excl"]);
  }, 60000);

  test("failures: one line naming what is wrong, exit 1, nothing half-built left", async () => {
    await withBase();
    const images = await ok(["images", "-q"]);
    const cases: [Record<string, string>, RegExp][] = [
      [{ Dockerfile: "FROM busybox\nRUNN echo hi\n" }, /dockerfile parse error on line 2: unknown instruction: RUNN/],
      [{ Dockerfile: "FROM busybox\nCOPY missing /x\n" }, /"\/missing": not found/],
      [{ Dockerfile: "FROM busybox\nRUN echo about to fail; exit 3\n" }, /process "\/bin\/sh -c echo about to fail; exit 3" did not complete successfully: exit code: 3/],
      [{ Dockerfile: "FROM busybox AS a\nCOPY --from=a /x /y\n" }, /circular dependency detected on stage: a/],
      [{ Dockerfile: "RUN echo no from\n" }, /no build stage in current context/],
      [{ Dockerfile: "FROM busybox\nCOPY a b /notadir\n", a: "", b: "" }, /the destination must be a directory and end with a \//],
      // A base image that cannot be pulled is a failed build too (exit 1).
      [{ Dockerfile: "FROM 127.0.0.1:1/nosuch\n" }, /127\.0\.0\.1:1/],
    ];
    for (const [files, message] of cases) expectBuildFailed(await build(context(files), ["-t", "broken"]), message);
    // The failing RUN's output was shown under its step.
    const run = await build(context({ Dockerfile: "FROM busybox\nRUN echo about to fail; exit 3\n" }));
    expect(run.stderr).toMatch(/#\d+ [\d.]+ about to fail/);
    expect(await ok(["images", "-q"])).toBe(images);
    expect(temporaries()).toEqual([]);
    // box's own errors stay 125.
    const bad = await box(t.s, ["build", "--progress", "fancy", "."]);
    expect([bad.code, bad.stderr.trim().split("\n").length]).toEqual([125, 1]);
    expect((await box(t.s, ["build", join(t.s.dir, "nowhere")])).code).toBe(125);
  }, 60000);
});

/** A failed build: exit 1, its last line says why. */
function expectBuildFailed(r: { code: number; stderr: string }, message: RegExp): void {
  expect(r.code).toBe(1);
  const last = r.stderr.trim().split("\n").at(-1)!;
  expect(last).toMatch(message);
  expect(last).toStartWith("box: ");
}
