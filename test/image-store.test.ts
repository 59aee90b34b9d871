// The layered image store through box's own commands: layers stacked by overlayfs (whiteouts,
// opaque directories, more layers than one mount option holds), images shared by containers,
// load/save/commit/export/tag/rmi/prune, the image config, and hostile archives.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { close, holdLock } from "../src/sys/fs.ts";
import { join } from "node:path";
import { box, boxArgs, importBusybox, ROOTFS, storePerTest, type Store } from "./helpers/box.ts";
import { dockerSaveDir, layerTar } from "./helpers/layers.ts";
import { ociLayout } from "./helpers/registry.ts";

const ctx = storePerTest();

/** What the store holds: images, names, layers, blobs, and any temp file left behind. */
function storeContents(s: Store): { images: string[]; tags: string[]; layers: string[]; blobs: string[]; blobTemps: string[]; tmp: string[] } {
  const list = (dir: string) => (existsSync(join(s.root, dir)) ? readdirSync(join(s.root, dir)).sort() : []);
  return { images: list("images"), tags: list("tags"), layers: list("layers"), blobs: list("blobs/sha256"), blobTemps: list("blobs").filter((n) => n !== "sha256"), tmp: list("tmp") };
}

async function ok(s: Store, args: string[], opts: { env?: Record<string, string> } = {}): Promise<string> {
  const r = await box(s, args, opts);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

/** The busybox test image plus layers of `files` on top, loaded as NAME. */
async function stacked(s: Store, name: string, layers: Record<string, string>[], config: Record<string, unknown> = {}): Promise<string> {
  const busybox = join(s.dir, "busybox.tar");
  if (!existsSync(busybox)) Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", busybox, "."]);
  const tars = layers.map((files, i) => layerTar(join(s.dir, `${name}-${i}.tar`), files));
  const [id] = dockerSaveDir(join(s.dir, `${name}-save`), [{ layers: [busybox, ...tars], config, tags: [name] }]);
  expect(await ok(s, ["load", "-i", join(s.dir, `${name}-save`)])).toBe(`Loaded image: ${name}:latest\n`);
  return id!;
}

describe("layers", () => {
  test("upper layers add files, delete lower ones (whiteouts) and replace directories (opaque)", async () => {
    const { s } = ctx;
    await stacked(s, "layered", [
      { "a/1": "one", "a/2": "two", "b/x": "x", "keep": "kept" },
      { "a/.wh.1": "", "b/.wh..wh..opq": "", "b/y": "y", ".wh.keep": "" },
      { "keep": "back again\n" },
    ]);
    const out = await ok(s, ["run", "--rm", "--network", "none", "layered", "sh", "-c", "ls /a; ls /b; cat /keep; ls /bin/sh >/dev/null && echo base"]);
    expect(out).toBe("2\ny\nback again\nbase\n");
    // Inside, the whiteout works on the image's own files too, and the image does not change.
    expect(await ok(s, ["run", "--rm", "--network", "none", "layered", "sh", "-c", "rm /a/2 && ls /a | wc -l"])).toBe("0\n");
    expect(await ok(s, ["run", "--rm", "--network", "none", "layered", "ls", "/a"])).toBe("2\n");
    // box export merges the layers as overlayfs does: an opaque or deleted name in a middle layer
    // hides what is below it there too.
    await ok(s, ["run", "--name", "layered-c", "--network", "none", "layered", "sh", "-c", "echo z > /b/z; rm /a/2"]);
    const archive = join(s.dir, "layered.tar");
    await ok(s, ["export", "-o", archive, "layered-c"]);
    const listing = Bun.spawnSync(["tar", "-tf", archive]).stdout.toString().split("\n").filter((n) => /^(a|b|keep)(\/|$)/.test(n)).sort();
    expect(listing).toEqual(["a/", "b/", "b/y", "b/z", "keep"]);
    await ok(s, ["rm", "layered-c"]);
  });

  test("an image of 130 layers runs (more than one mount option holds by path)", async () => {
    const { s } = ctx;
    const layers = Array.from({ length: 129 }, (_, i) => ({ [`layers/l${i}`]: String(i) }));
    await stacked(s, "tall", layers);
    expect(await ok(s, ["run", "--rm", "--network", "none", "tall", "sh", "-c", "ls /layers | wc -l; cat /layers/l0 /layers/l128"])).toBe("129\n0128");
    const inspect = JSON.parse(await ok(s, ["image", "inspect", "tall"]))[0];
    expect(inspect.RootFS.Layers).toHaveLength(130);
  }, 60000);

  test("two containers of one image share its layers, not their writes", async () => {
    const { s } = ctx;
    await importBusybox(s, "bb");
    const a = (await ok(s, ["run", "-d", "--network", "none", "bb", "sh", "-c", "echo a > /f; touch /ready; sleep 30"])).trim();
    const b = (await ok(s, ["run", "-d", "--network", "none", "bb", "sh", "-c", "echo b > /f; touch /ready; sleep 30"])).trim();
    for (const id of [a, b]) {
      for (let i = 0; i < 100 && !existsSync(join(s.root, "containers", id, "upper", "ready")); i++) await Bun.sleep(20);
    }
    expect(await ok(s, ["exec", a, "cat", "/f"])).toBe("a\n");
    expect(await ok(s, ["exec", b, "cat", "/f"])).toBe("b\n");
    // One layer on disk, read-only to both; each write is in its container's own upper dir.
    expect(storeContents(s).layers).toHaveLength(1);
    expect(readFileSync(join(s.root, "containers", a, "upper", "f"), "utf8")).toBe("a\n");
    const layer = join(s.root, "layers", storeContents(s).layers[0]!);
    expect(existsSync(join(layer, "f"))).toBe(false);
    await ok(s, ["rm", "-f", a, b]);
  });
});

describe("images in and out", () => {
  test("save and load keep the image's id; podman loads box's archive", async () => {
    const { s } = ctx;
    const id = await stacked(s, "app", [{ "app/run": "#!/bin/sh\necho app\n" }], { Cmd: ["cat", "/app/run"], Env: ["A=1"] });
    await ok(s, ["tag", "app", "app:v2"]);
    const archive = join(s.dir, "app.tar");
    await ok(s, ["save", "-o", archive, "app:v2"]);
    const names = Bun.spawnSync(["tar", "-tf", archive]).stdout.toString().split("\n");
    expect(names).toEqual(expect.arrayContaining(["manifest.json", "index.json", "oci-layout", `blobs/sha256/${id}`]));
    // Two images that share a layer, in one archive.
    await stacked(s, "other", [{ "other": "x" }]);
    const both = join(s.dir, "both.tar");
    await ok(s, ["save", "-o", both, "app", "other"]);
    await ok(s, ["rmi", "app", "other"]);
    expect(await ok(s, ["load", "-i", both])).toBe("Loaded image: app:latest\nLoaded image: other:latest\n");
    await ok(s, ["rmi", "app", "app:v2", "other"]);
    expect(storeContents(s).layers).toEqual([]);
    expect(await ok(s, ["load", "-i", archive])).toBe("Loaded image: app:v2\n");
    expect((await ok(s, ["images", "-q"])).trim()).toBe(id.slice(0, 12));
    expect(await ok(s, ["run", "--rm", "--network", "none", "app:v2"])).toBe("#!/bin/sh\necho app\n");
    // From a pipe too, and compressed.
    await ok(s, ["rmi", "app:v2"]);
    Bun.spawnSync(["sh", "-c", `gzip -c ${archive} > ${archive}.gz`]);
    expect((await box(s, ["load"], { stdin: undefined })).code).toBe(125);
    const piped = Bun.spawnSync(["sh", "-c", `cat ${archive}.gz | ${boxArgs(s, ["load"]).map((a) => `'${a}'`).join(" ")}`], { stderr: "pipe" });
    expect([piped.stdout.toString(), piped.stderr.toString()]).toEqual(["Loaded image: app:v2\n", ""]);
    expect(storeContents(s).tmp).toEqual([]);

    // Another engine reads it: podman, in a store of its own.
    const podman = ["podman", "--root", join(s.dir, "podman"), "--runroot", join(s.dir, "podman-run"), "--storage-driver", "vfs"];
    const loaded = Bun.spawnSync([...podman, "load", "-i", archive], { stderr: "pipe" });
    expect(loaded.exitCode).toBe(0);
    const podmanId = Bun.spawnSync([...podman, "image", "inspect", "--format", "{{.Id}}", "app:v2"]).stdout.toString().trim();
    expect(podmanId).toBe(id);
    Bun.spawnSync([...podman, "rmi", "-a", "-f"]);
    Bun.spawnSync(["rm", "-rf", join(s.dir, "podman"), join(s.dir, "podman-run")]);
  }, 60000);

  test("load reads OCI image layouts, directory or tar; of an index it takes this machine's platform", async () => {
    const { s } = ctx;
    const arch = (name: string) => layerTar(join(s.dir, `${name}.tar`), { "arch": `${name}\n` });
    const busybox = join(s.dir, "busybox.tar");
    Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", busybox, "."]);
    const layout = join(s.dir, "layout");
    await ociLayout(layout, [
      { layers: [busybox, arch("arm64")], platform: { os: "linux", architecture: "arm64" }, config: { Cmd: ["cat", "/arch"] } },
      { layers: [busybox, arch("amd64")], platform: { os: "linux", architecture: "amd64" }, config: { Cmd: ["cat", "/arch"] } },
    ], { index: true });
    // The layout's own annotation is a bare tag, which names no repository: Docker loads such an
    // image by id, and so does box.
    expect(await ok(s, ["load", "-i", layout])).toMatch(/^Loaded image ID: sha256:[0-9a-f]{64}\n$/);
    const id = (await ok(s, ["images", "-q"])).trim();
    expect(await ok(s, ["run", "--rm", "--network", "none", id])).toBe("amd64\n");
    // With containerd's full name, as a tar.
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    index.manifests[0].annotations["io.containerd.image.name"] = "docker.io/library/multi:2";
    writeFileSync(join(layout, "index.json"), JSON.stringify(index));
    expect(await ok(s, ["load", "-i", tarOf(layout)])).toBe("Loaded image: multi:2\n");
    expect(await ok(s, ["run", "--rm", "--network", "none", "multi:2"])).toBe("amd64\n");
  });

  test("commit makes the container's changes a new layer with its command; export writes its whole filesystem", async () => {
    const { s } = ctx;
    await importBusybox(s, "bb", ["-c", "ENV BASE=1"]);
    await ok(s, ["run", "--name", "committed", "--network", "none", "-e", "ADDED=2", "-w", "/srv", "bb", "sh", "-c", "echo new > /new; rm /bin/ls; mkdir -p /etc/app; echo x > /etc/app/conf"]);
    const id = (await ok(s, ["commit", "-m", "configured", "-c", "LABEL team=infra", "committed", "bb:committed"])).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const image = JSON.parse(await ok(s, ["image", "inspect", "bb:committed"]))[0];
    expect(image.RootFS.Layers).toHaveLength(2);
    expect(image.Config.Cmd).toEqual(["sh", "-c", "echo new > /new; rm /bin/ls; mkdir -p /etc/app; echo x > /etc/app/conf"]);
    expect(image.Config.Env).toEqual(expect.arrayContaining(["BASE=1", "ADDED=2"]));
    expect(image.Config.WorkingDir).toBe("/srv");
    expect(image.Config.Labels).toEqual({ team: "infra" });
    expect(image.History.at(-1)).toMatchObject({ created_by: "box commit", comment: "configured" });
    const history = (await ok(s, ["history", "--format", "{{.CreatedBy}}|{{.Comment}}|{{.ID}}", "bb:committed"])).trim().split("\n");
    expect(history).toEqual([`box commit|configured|${id.slice(7, 19)}`, "box import|imported from a rootfs tarball|<missing>"]);
    const out = await ok(s, ["run", "--rm", "--network", "none", "bb:committed", "sh", "-c", "cat /new /etc/app/conf; ls /bin/ls 2>&1; pwd"]);
    expect(out).toBe("new\nx\nls: /bin/ls: No such file or directory\n/srv\n");

    const archive = join(s.dir, "c.tar");
    await ok(s, ["export", "-o", archive, "committed"]);
    const listing = Bun.spawnSync(["tar", "-tf", archive]).stdout.toString().split("\n");
    expect(listing).toEqual(expect.arrayContaining(["new", "etc/app/conf", "bin/busybox", "bin/sh"]));
    expect(listing).not.toContain("bin/ls");
    expect(listing.some((n) => n.includes(".wh."))).toBe(false);
    // The export is a rootfs again, also through a pipe.
    const piped = Bun.spawnSync(["sh", "-c", `cat ${archive} | ${boxArgs(s, ["import", "-", "flat"]).map((a) => `'${a}'`).join(" ")}`], { stderr: "pipe" });
    expect([piped.exitCode, piped.stderr.toString()]).toEqual([0, ""]);
    expect(await ok(s, ["run", "--rm", "--network", "none", "flat", "cat", "/new"])).toBe("new\n");
    await ok(s, ["rm", "committed"]);
  });

  test("commit of a running container freezes it for the moment and leaves it running", async () => {
    const { s } = ctx;
    await importBusybox(s, "bb");
    const id = (await ok(s, ["run", "-d", "--network", "none", "bb", "sh", "-c", "echo state > /state; touch /ready; while true; do date >> /log; sleep 0.01; done"])).trim();
    for (let i = 0; i < 100 && !existsSync(join(s.root, "containers", id, "upper", "ready")); i++) await Bun.sleep(20);
    await ok(s, ["commit", id, "snap"]);
    expect(await ok(s, ["run", "--rm", "--network", "none", "--entrypoint", "cat", "snap", "/state"])).toBe("state\n");
    expect(await ok(s, ["inspect", "-f", "{{.State.Status}}", id])).toBe("running\n");
    expect(await ok(s, ["exec", id, "echo", "alive"])).toBe("alive\n");
    await ok(s, ["rm", "-f", id]);
  });

  test("tag, images, rmi (-f), image prune", async () => {
    const { s } = ctx;
    await importBusybox(s, "one");
    await importBusybox(s, "two", ["-c", "ENV TWO=1"]);
    await ok(s, ["tag", "one", "localhost:5000/team/one:1.0"]);
    const table = await ok(s, ["images"]);
    expect(table).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    expect(table).toMatch(/\nlocalhost:5000\/team\/one\s+1\.0\s+[0-9a-f]{12}\s+.*\s+\d+(\.\d+)?MB\n/);
    expect(await ok(s, ["images", "one"])).toMatch(/\none\s+latest/);
    // A row per name, as Docker: "one" has two.
    expect((await ok(s, ["images", "-q"])).trim().split("\n")).toHaveLength(3);
    expect(await ok(s, ["images", "--format", "{{.Repository}}:{{.Tag}}", "*/team/*"])).toBe("localhost:5000/team/one:1.0\n");
    expect(JSON.parse((await ok(s, ["images", "--format", "json", "two"])).trim())).toMatchObject({ Repository: "two", Tag: "latest", ID: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(await ok(s, ["images", "-f", "dangling=true", "-q"])).toBe("");
    // An id with two names needs -f; a name goes alone.
    const oneId = (await ok(s, ["image", "inspect", "-f", "{{.Id}}", "one"])).trim().slice(7);
    const refused = await box(s, ["rmi", oneId.slice(0, 12)]);
    expect(refused.stderr).toBe(`box: conflict: unable to delete ${oneId.slice(0, 12)} (must be forced): image is referenced in multiple repositories\n`);
    expect(refused.code).toBe(125);
    expect(await ok(s, ["rmi", "localhost:5000/team/one:1.0"])).toBe("Untagged: localhost:5000/team/one:1.0\n");
    // A container keeps its image's layers even when the image is forced away.
    await ok(s, ["create", "--name", "keeper", "--network", "none", "two", "cat", "/etc/passwd"]);
    expect((await box(s, ["rmi", "two"])).code).toBe(125);
    expect(await ok(s, ["rmi", "-f", "two"])).toMatch(/^Untagged: two:latest\nDeleted: sha256:[0-9a-f]{64}\n$/);
    expect(await ok(s, ["start", "-a", "keeper"])).toContain("root:x:0:0");
    await ok(s, ["rm", "keeper"]);
    // Nameless images go with prune; -a takes the rest.
    await ok(s, ["tag", "one", "spare"]);
    await ok(s, ["rmi", "one"]);
    expect(await ok(s, ["image", "prune", "-f"])).toBe("Total reclaimed space: 0B\n");
    expect(await ok(s, ["image", "prune", "-a", "-f"])).toMatch(/^Deleted Images:\nuntagged: spare:latest\ndeleted: sha256:[0-9a-f]{64}\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: \d/);
    expect(storeContents(s)).toEqual({ images: [], tags: [], layers: [], blobs: [], blobTemps: [], tmp: [] });
  });

  test("the image's config is honoured: entrypoint, cmd, env, workdir, user, stop signal, labels, ports", async () => {
    const { s } = ctx;
    await stacked(s, "configured", [{ "srv/": "" }], {
      Entrypoint: ["/bin/sh", "-c"],
      Cmd: ["echo $GREETING from $(pwd) as $(id -u)"],
      Env: ["GREETING=hello", "PATH=/bin"],
      WorkingDir: "/srv",
      User: "1000",
      StopSignal: "SIGUSR1",
      Labels: { tier: "web" },
      ExposedPorts: { "8080/tcp": {} },
    });
    expect(await ok(s, ["run", "--rm", "--network", "none", "configured"])).toBe("hello from /srv as 1000\n");
    expect(await ok(s, ["run", "--rm", "--network", "none", "configured", "echo $GREETING again"])).toBe("hello again\n");
    const id = (await ok(s, ["create", "--network", "none", "-l", "extra=1", "configured"])).trim();
    expect(await ok(s, ["inspect", "-f", "{{json .Config.Labels}} {{.Config.StopSignal}}", id])).toBe(`{"tier":"web","extra":"1"} SIGUSR1\n`);
    expect(await ok(s, ["image", "inspect", "-f", "{{json .Config.ExposedPorts}}", "configured"])).toBe(`{"8080/tcp":{}}\n`);
    await ok(s, ["rm", id]);
  });
});

describe("a hostile container", () => {
  test("export and commit walk its files by descriptor: a directory swapped for a link to the host exports no host file", async () => {
    const { s } = ctx;
    await importBusybox(s, "bb");
    const secret = join(s.dir, "secret");
    Bun.spawnSync(["mkdir", "-m", "700", secret]);
    writeFileSync(join(secret, "zzshadow"), "HOSTSECRET\n", { mode: 0o600 });
    // The container swaps x/d (a directory holding zzshadow) for a link to the host's directory,
    // as fast as it can, while box archives it.
    const id = (await ok(s, ["run", "-d", "--network", "none", "bb", "sh", "-c", `mkdir -p /x/d; echo inside > /x/d/zzshadow; touch /ready; while :; do mv /x/d /x/e; ln -s ${secret} /x/d; rm /x/d; mv /x/e /x/d; done`])).trim();
    for (let i = 0; i < 100 && !existsSync(join(s.root, "containers", id, "upper", "ready")); i++) await Bun.sleep(20);
    for (let i = 0; i < 30; i++) {
      const out = join(s.dir, `race-${i}.tar`);
      const r = await box(s, ["export", "-o", out, id]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      const content = Bun.spawnSync(["tar", "-xOf", out, "x"], { stderr: "ignore" }).stdout.toString();
      expect(content).not.toContain("HOSTSECRET");
    }
    const committed = await box(s, ["commit", "--pause=false", id, "raced"]);
    expect(committed.code).toBe(0);
    expect(readdirSync(join(s.root, "layers")).length).toBe(2);
    await ok(s, ["rm", "-f", id]);
  }, 60000);
});

describe("limits and leftovers", () => {
  test("a tree deeper than box archives is refused with one line; one as deep as a shell can go is archived", async () => {
    const { s } = ctx;
    await importBusybox(s, "bb");
    await ok(s, ["run", "--name", "deep", "--network", "none", "bb", "sh", "-c", "i=0; while [ $i -lt 1500 ]; do mkdir d && cd d || exit 1; i=$((i+1)); done; echo bottom > f"]);
    const archive = join(s.dir, "deep.tar");
    await ok(s, ["export", "-o", archive, "deep"]);
    expect(Bun.spawnSync(["sh", "-c", `tar -tf ${archive} | grep -c '/f$'`]).stdout.toString().trim()).toBe("1");
    // Deeper than 4096: made in the container's layer directly (a shell's cd stops before that).
    const dir = join(s.root, "containers", (await ok(s, ["inspect", "-f", "{{.Id}}", "deep"])).trim(), "upper");
    Bun.spawnSync(["python3", "-c", `import os\nos.chdir(${JSON.stringify(dir)})\nfor i in range(4200):\n    os.mkdir("e"); os.chdir("e")`]);
    const r = await box(s, ["export", "-o", join(s.dir, "deeper.tar"), "deep"]);
    expect(r.stderr).toMatch(/^box: the filesystem is nested more than 4096 directories deep \(at "e\/e\/e.*"…\): box does not archive it\n$/);
    expect(r.code).toBe(125);
    expect(existsSync(join(s.dir, "deeper.tar"))).toBe(false);
    await ok(s, ["rm", "deep"]);
  }, 60000);

  test("standard input is bounded like a layer; a prune leaves temporary files that are still worked on", async () => {
    const { s } = ctx;
    const piped = Bun.spawnSync(["sh", "-c", `head -c 30000000 /dev/zero | BOX_MAX_LAYER_BYTES=10000000 ${boxArgs(s, ["import", "-", "zeros"]).map((a) => `'${a}'`).join(" ")}`], { stderr: "pipe" });
    expect([piped.exitCode, piped.stderr.toString()]).toEqual([125, "box: refusing standard input: more than 10000000 bytes (the store's free space, less a margin)\n"]);
    expect(storeContents(s).tmp).toEqual([]);
    // A load's temporary directory, two hours old: while its owner holds the lock, prune keeps it.
    const old = join(s.root, "tmp", "load-slow");
    mkdirSync(old, { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    const lock = holdLock(old);
    await ok(s, ["image", "prune", "-f"]);
    expect(existsSync(old)).toBe(true);
    close(lock);
    await ok(s, ["image", "prune", "-f"]);
    expect(existsSync(old)).toBe(false);
  });
});

describe("hostile archives", () => {
  test("load refuses documents that point outside the archive, through links, or lie about digests; nothing is kept", async () => {
    const { s } = ctx;
    const layer = layerTar(join(s.dir, "l.tar"), { "f": "data" });
    const cases: [string, (dir: string) => void, RegExp][] = [
      ["a layer path with ..", (d) => edit(d, (m) => (m[0].Layers = ["../../etc/passwd"])), /names "\.\.\/\.\.\/etc\/passwd": refused/],
      ["an absolute layer path", (d) => edit(d, (m) => (m[0].Layers = ["/etc/passwd"])), /names "\/etc\/passwd": refused/],
      ["a layer that is a symlink out", (d) => {
        symlinkSync("/etc/passwd", join(d, "evil.tar"));
        edit(d, (m) => (m[0].Layers = ["evil.tar"]));
      }, /names "evil\.tar", which is not a regular file inside it: refused/],
      ["a layer that is not the config's", (d) => {
        writeFileSync(join(d, "other.tar"), readFileSync(layerTar(join(s.dir, "o.tar"), { "g": "other" })));
        edit(d, (m) => (m[0].Layers = ["other.tar"]));
      }, /unpacks to sha256:[0-9a-f]{64}, but the image config says sha256:[0-9a-f]{64}/],
      ["a missing layer", (d) => edit(d, (m) => (m[0].Layers = ["nothing.tar"])), /which it does not contain/],
      ["a document of the wrong shape", (d) => edit(d, (m) => ((m[0] as unknown as { RepoTags: string }).RepoTags = "x")), /Config must be a path, Layers and RepoTags lists of strings/],
      ["layers that are not names", (d) => edit(d, (m) => ((m[0] as unknown as { Layers: unknown[] }).Layers = [null])), /Config must be a path, Layers and RepoTags lists of strings/],
    ];
    for (const [what, spoil, message] of cases) {
      const dir = join(s.dir, `case-${cases.findIndex((c) => c[0] === what)}`);
      dockerSaveDir(dir, [{ layers: [layer], tags: ["evil"] }]);
      spoil(dir);
      for (const input of [dir, tarOf(dir)]) {
        const r = await box(s, ["load", "-i", input]);
        expect([what, r.stderr]).toEqual([what, expect.stringMatching(new RegExp(`^box: .*${message.source}`))]);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.code).toBe(125);
        expect(storeContents(s)).toEqual({ images: [], tags: [], layers: [], blobs: [], blobTemps: [], tmp: [] });
      }
    }
  });

  test("a decompression bomb is stopped at the limit, and nothing of it stays", async () => {
    const { s } = ctx;
    const zeros = join(s.dir, "zeros");
    truncateSync((writeFileSync(zeros, ""), zeros), 300 << 20);
    const bomb = join(s.dir, "bomb.tar.gz");
    expect(Bun.spawnSync(["sh", "-c", `tar -C ${s.dir} -cf - zeros | gzip -1 > ${bomb}`]).exitCode).toBe(0);
    const r = await box(s, ["import", bomb, "bomb"], { env: { BOX_MAX_LAYER_BYTES: String(50 << 20) } });
    expect(r.stderr).toBe(`box: refusing archive: it unpacks to more than ${50 << 20} bytes (a decompression bomb, or too little disk space)\n`);
    expect(r.code).toBe(125);
    expect(storeContents(s)).toEqual({ images: [], tags: [], layers: [], blobs: [], blobTemps: [], tmp: [] });
  });
});

function edit(dir: string, change: (manifest: [{ Layers: string[] }]) => void): void {
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  change(manifest);
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
}

function tarOf(dir: string): string {
  const out = `${dir}.tar`;
  Bun.spawnSync(["tar", "-C", dir, "-cf", out, "."]);
  return out;
}
