// `box pull` against a real registry on loopback (Debian's docker-registry, images pushed by
// skopeo): tags and digests, a multi-arch index, Basic and Bearer authentication, a layer whose
// bytes lie, a connection cut mid-layer, and pulls at the same time.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, boxArgs, ROOTFS, storePerTest, type Store } from "./helpers/box.ts";
import { layerTar } from "./helpers/layers.ts";
import { bearerFront, blobFile, cuttingProxy, ociLayout, push, startRegistry, type Registry } from "./helpers/registry.ts";

const ctx = storePerTest();
let registry: Registry;
let work: string;
/** Digests of what was pushed: the single image's manifest, the multi-arch index. */
let single: { manifest: string; layers: string[] };
let multiIndex: string;

beforeAll(async () => {
  registry = await startRegistry();
  work = (await import("node:fs")).mkdtempSync("/tmp/box-registry-test-");
  const busybox = join(work, "busybox.tar");
  Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", busybox, "."]);
  const hello = layerTar(join(work, "hello.tar"), { "hello": "hello from the registry\n" });
  const layout = join(work, "single");
  const { manifests } = await ociLayout(layout, [{ layers: [busybox, hello], config: { Cmd: ["cat", "/hello"] } }]);
  single = { manifest: manifests[0]!, layers: JSON.parse(readFileSync(join(layout, "blobs/sha256", manifests[0]!.slice(7)), "utf8")).layers.map((l: { digest: string }) => l.digest) };
  await push(layout, registry, "bb:1");
  await push(layout, registry, "bb:v2s2", { format: "v2s2" });
  const arch = (name: string) => layerTar(join(work, `${name}.tar`), { "arch": `${name}\n` });
  const multi = join(work, "multi");
  const pushed = await ociLayout(multi, [
    { layers: [busybox, arch("amd64")], platform: { os: "linux", architecture: "amd64" }, config: { Cmd: ["cat", "/arch"] } },
    { layers: [busybox, arch("arm64")], platform: { os: "linux", architecture: "arm64", variant: "v8" }, config: { Cmd: ["cat", "/arch"] } },
  ], { index: true });
  multiIndex = pushed.index!;
  await push(multi, registry, "multi:1", { all: true });
  await push(multi, registry, "multi:docker", { all: true, format: "v2s2" });
}, 120000);

afterAll(async () => {
  await registry.stop();
  (await import("node:fs")).rmSync(work, { recursive: true, force: true });
});

async function ok(s: Store, args: string[], env?: Record<string, string>): Promise<string> {
  const r = await box(s, args, { env });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

/** Files of the store besides complete images: partial downloads, temp dirs. */
function leftovers(s: Store): string[] {
  const list = (dir: string) => (existsSync(join(s.root, dir)) ? readdirSync(join(s.root, dir)).filter((n) => n.startsWith(".")) : []);
  return [...list("blobs"), ...list("layers"), ...list("tmp")];
}

describe("pull", () => {
  test("by tag (OCI and Docker schema 2) and by digest; the image runs", async () => {
    const { s } = ctx;
    const ref = `${registry.host}/bb:1`;
    const out = await ok(s, ["pull", ref]);
    expect(out).toMatch(new RegExp(`^1: Pulling from bb\\n`));
    expect(out).toContain(`${single.layers[0]!.slice(7, 19)}: Pull complete\n`);
    expect(out).toMatch(new RegExp(`\\nDigest: ${single.manifest}\\nStatus: Downloaded newer image for ${ref}\\n${ref}\\n$`));
    expect(await ok(s, ["run", "--rm", "--network", "none", ref])).toBe("hello from the registry\n");
    const image = JSON.parse(await ok(s, ["image", "inspect", ref]))[0];
    expect(image.RepoDigests).toEqual([`${registry.host}/bb@${single.manifest}`]);

    // Again: nothing to download. By digest: the same image.
    expect(await ok(s, ["pull", ref])).toContain(`Status: Image is up to date for ${ref}\n`);
    expect(await ok(s, ["pull", `${registry.host}/bb@${single.manifest}`])).toContain("Already exists");
    expect(await ok(s, ["images", "--digests", `${registry.host}/bb`])).toContain(single.manifest);
    // Docker's schema 2 of the same image: its own (gzip) blobs, the same config, so the same id.
    await ok(s, ["pull", "-q", `${registry.host}/bb:v2s2`]);
    expect((await ok(s, ["images", "-q"])).trim().split("\n")).toEqual([image.Id.slice(7, 19), image.Id.slice(7, 19)]);

    const missing = await box(s, ["pull", `${registry.host}/bb:nope`]);
    expect(missing.stderr).toBe(`box: manifest for ${registry.host}/bb:nope not found: manifest unknown\n`);
    expect(missing.code).toBe(125);
    const wrong = await box(s, ["pull", `${registry.host}/bb@sha256:${"0".repeat(64)}`]);
    expect(wrong.code).toBe(125);
    expect(wrong.stderr.split("\n")).toHaveLength(2);
  }, 60000);

  test("on a terminal, each layer has a line of its own, updated in place", async () => {
    const { s } = ctx;
    const ref = `${registry.host}/bb:1`;
    // script(1) gives box a pty as its stdout.
    const command = boxArgs(s, ["pull", ref]).map((a) => `'${a}'`).join(" ");
    const r = Bun.spawnSync(["script", "-qec", command, "/dev/null"], { stdout: "pipe", stderr: "pipe" });
    const screen = r.stdout.toString();
    expect(r.exitCode).toBe(0);
    expect(screen).toContain(`${single.layers[0]!.slice(7, 19)}: Downloading [`);
    // Cursor up, clear the line: the layer's line is rewritten, not appended.
    expect(screen).toMatch(/\x1b\[\d+A\r\x1b\[2K[0-9a-f]{12}: Pull complete/);
    expect(screen).toContain(`Status: Downloaded newer image for ${ref}`);
  }, 60000);

  test("box run pulls a missing image (progress on stderr); --pull never does not", async () => {
    const { s } = ctx;
    const ref = `${registry.host}/bb:1`;
    const never = await box(s, ["run", "--rm", "--pull", "never", "--network", "none", ref]);
    expect(never.stderr).toBe(`box: image not found: ${ref}\n`);
    expect(never.code).toBe(125);
    const r = await box(s, ["run", "--rm", "--network", "none", ref]);
    expect(r.stdout).toBe("hello from the registry\n");
    expect(r.stderr).toStartWith(`Unable to find image '${ref}' locally\n1: Pulling from bb\n`);
    expect(r.code).toBe(0);
  }, 60000);

  test("a multi-arch index: this machine's platform by default, another with --platform", async () => {
    const { s } = ctx;
    for (const tag of ["multi:1", "multi:docker"]) {
      const ref = `${registry.host}/${tag}`;
      await ok(s, ["pull", "-q", ref]);
      expect(await ok(s, ["run", "--rm", "--network", "none", ref])).toBe("amd64\n");
      await ok(s, ["pull", "-q", "--platform", "linux/arm64", ref]);
      expect(await ok(s, ["image", "inspect", "-f", "{{.Architecture}} {{.Variant}}", ref])).toBe("arm64 v8\n");
    }
    expect(await ok(s, ["image", "inspect", "-f", "{{json .RepoDigests}}", `${registry.host}/multi:1`])).toContain(multiIndex);
    const none = await box(s, ["pull", "--platform", "linux/s390x", `${registry.host}/multi:1`]);
    expect(none.stderr).toEndWith(`box: no image for linux/s390x in ${registry.host}/multi:1 (it has: linux/amd64, linux/arm64/v8)\n`);
    expect(none.code).toBe(125);
  }, 60000);

  test("pulls of one image at the same time both succeed and store it once", async () => {
    const { s } = ctx;
    const ref = `${registry.host}/bb:1`;
    const results = await Promise.all([1, 2, 3].map(() => box(s, ["pull", "-q", ref])));
    for (const r of results) expect([r.code, r.stderr]).toEqual([0, ""]);
    expect((await ok(s, ["images", "-q"])).trim().split("\n")).toHaveLength(1);
    expect(readdirSync(join(s.root, "layers")).filter((n) => !n.startsWith("."))).toHaveLength(2);
    expect(leftovers(s)).toEqual([]);
    expect(await ok(s, ["run", "--rm", "--network", "none", ref])).toBe("hello from the registry\n");
  }, 60000);
});

describe("box build from a registry's image", () => {
  test("FROM an image the store lacks pulls it (its progress with the build's); --pull pulls it again", async () => {
    const { s } = ctx;
    const dir = join(work, "build-context");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "Dockerfile"), `FROM ${registry.host}/bb:1\nRUN cat /hello > /copy\n`);
    const first = await box(s, ["build", "--network", "none", "-t", "from-registry", dir]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`${registry.host}/bb:1`);
    expect((await ok(s, ["run", "--rm", "--network", "none", "from-registry", "cat", "/copy"])).trim()).toBe("hello from the registry");
    const again = await box(s, ["build", "--network", "none", "--pull", "-t", "from-registry", dir]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("Status: Image is up to date");
    expect(leftovers(s)).toEqual([]);
    await ok(s, ["rmi", "from-registry", `${registry.host}/bb:1`]);
  }, 60000);
});

describe("push", () => {
  test("an image goes up with its blobs as stored, and comes down with the same id and digest; blobs there are skipped", async () => {
    const { s } = ctx;
    const imported = await box(s, ["import", "-c", "CMD [\"cat\", \"/etc/passwd\"]", join(work, "busybox.tar"), "mine"]);
    expect(imported.code).toBe(0);
    const ref = `${registry.host}/mine:1`;
    await ok(s, ["tag", "mine", ref]);
    const out = await ok(s, ["push", ref]);
    const image = JSON.parse(await ok(s, ["image", "inspect", ref]))[0];
    const lines = out.trim().split("\n");
    expect(lines[0]).toBe(`The push refers to repository [${registry.host}/mine]`);
    expect(lines.slice(1, -1).join("\n")).toMatch(/^([0-9a-f]{12}): Pushing\n\1: Pushed$/);
    expect(lines.at(-1)).toBe(`1: digest: ${image.Manifest.digest} size: ${image.Manifest.size}`);
    expect(await ok(s, ["push", ref])).toContain("Layer already exists");
    // Another store pulls it: the same image.
    const other = { root: join(s.dir, "other-root"), runroot: join(s.dir, "other-run"), dir: s.dir };
    expect((await box(other, ["pull", "-q", ref])).stdout).toBe(`${ref}\n`);
    expect((await box(other, ["image", "inspect", "-f", "{{.Id}}", ref])).stdout).toBe(`${image.Id}\n`);
    expect((await box(other, ["run", "--rm", "--network", "none", ref])).stdout).toContain("root:x:0:0");
    expect((await box(other, ["image", "prune", "-a", "-f"])).code).toBe(0);
    const missing = await box(s, ["push", `${registry.host}/nosuch:1`]);
    expect([missing.code, missing.stderr]).toEqual([125, `box: image not found: ${registry.host}/nosuch:1\n`]);
  }, 60000);
});

describe("transports and formats", () => {
  test("HTTPS with the registry's own CA (--cert-dir), refused without it, or any certificate with --insecure", async () => {
    const { s } = ctx;
    const tls = await startRegistry({ tls: true });
    try {
      await push(join(work, "single"), tls, "bb:1");
      const ref = `${tls.host}/bb:1`;
      const refused = await box(s, ["pull", ref]);
      expect(refused.code).toBe(125);
      expect(refused.stderr).toStartWith(`box: cannot reach registry ${tls.host}: `);
      expect(refused.stderr.split("\n")).toHaveLength(2);
      expect(await ok(s, ["pull", "-q", "--cert-dir", join(tls.ca!, ".."), ref])).toBe(`${ref}\n`);
      await ok(s, ["rmi", ref]);
      expect(await ok(s, ["pull", "-q", "--insecure", ref])).toBe(`${ref}\n`);
      expect(await ok(s, ["run", "--rm", "--network", "none", ref])).toBe("hello from the registry\n");
    } finally {
      await tls.stop();
    }
  }, 60000);

  test("zstd-compressed layers", async () => {
    const { s } = ctx;
    const layout = join(work, "zstd");
    await ociLayout(layout, [{ layers: [join(work, "busybox.tar"), join(work, "hello.tar")], config: { Cmd: ["cat", "/hello"] } }], { compression: "zstd" });
    await push(layout, registry, "zstd:1");
    const ref = `${registry.host}/zstd:1`;
    await ok(s, ["pull", "-q", ref]);
    expect(JSON.parse(await ok(s, ["image", "inspect", "-f", "{{json .Manifest}}", ref])).mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(await ok(s, ["run", "--rm", "--network", "none", ref])).toBe("hello from the registry\n");
    // box save keeps the zstd blobs as they came.
    const archive = join(s.dir, "z.tar");
    await ok(s, ["save", "-o", archive, ref]);
    const index = JSON.parse(Bun.spawnSync(["tar", "-xOf", archive, "index.json"]).stdout.toString());
    const manifest = JSON.parse(Bun.spawnSync(["tar", "-xOf", archive, `blobs/sha256/${index.manifests[0].digest.slice(7)}`]).stdout.toString());
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.v1.tar+zstd"]);
  }, 60000);
});

describe("a registry that misbehaves", () => {
  test("a redirect to file: (or down to plain HTTP) is refused; a partial download that is already whole is used", async () => {
    const { s } = ctx;
    // A registry front that sends every blob to a file of this machine.
    const redirecting = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        const url = new URL(req.url);
        if (/\/blobs\//.test(url.pathname)) return new Response(null, { status: 307, headers: { location: "file:///etc/hostname" } });
        return fetch(`http://${registry.host}${url.pathname}`, { headers: req.headers });
      },
    });
    try {
      const r = await box(s, ["pull", `127.0.0.1:${redirecting.port}/bb:1`]);
      expect(r.stderr).toEndWith(`box: 127.0.0.1:${redirecting.port}: refusing a redirect to file://\n`);
      expect(r.code).toBe(125);
      expect(leftovers(s)).toEqual([]);
    } finally {
      redirecting.stop(true);
    }
    // A pull killed after the last byte but before the rename left the whole blob as a partial.
    const [busyboxLayer] = single.layers;
    mkdirSync(join(s.root, "blobs", "sha256"), { recursive: true });
    copyFileSync(blobFile(registry, busyboxLayer!), join(s.root, "blobs", `.partial-${busyboxLayer!.slice(7)}`));
    expect(await ok(s, ["pull", "-q", `${registry.host}/bb:1`])).toBe(`${registry.host}/bb:1\n`);
    expect(leftovers(s)).toEqual([]);
  }, 60000);

  test("an image that repeats a layer is pulled (each blob once)", async () => {
    const { s } = ctx;
    const layout = join(work, "repeat");
    await ociLayout(layout, [{ layers: [join(work, "busybox.tar"), join(work, "hello.tar"), join(work, "hello.tar")], config: { Cmd: ["cat", "/hello"] } }]);
    await push(layout, registry, "repeat:1");
    const ref = `${registry.host}/repeat:1`;
    await ok(s, ["pull", "-q", ref]);
    expect(await ok(s, ["run", "--rm", "--network", "none", ref])).toBe("hello from the registry\n");
  }, 60000);

  test("a layer whose bytes do not match its digest is refused, and nothing of it is kept", async () => {
    const { s } = ctx;
    const file = blobFile(registry, single.layers[1]!);
    const original = readFileSync(file);
    // As long as the manifest says, but other bytes.
    writeFileSync(file, Buffer.alloc(original.length, 0x41));
    try {
      const r = await box(s, ["pull", `${registry.host}/bb:1`]);
      expect(r.stderr).toMatch(new RegExp(`^box: blob ${single.layers[1]} from ${registry.host}: digest mismatch: expected ${single.layers[1]}, got sha256:[0-9a-f]{64}: refused\\n$`));
      expect(r.code).toBe(125);
      expect(await ok(s, ["images", "-q"])).toBe("");
      expect(existsSync(join(s.root, "blobs/sha256", single.layers[1]!.slice(7)))).toBe(false);
      expect(leftovers(s)).toEqual([]);
      // What the failed pull verified and kept (the other layer) goes with a prune.
      await ok(s, ["image", "prune", "-f"]);
      expect(readdirSync(join(s.root, "layers"))).toEqual([]);
      expect(readdirSync(join(s.root, "blobs/sha256"))).toEqual([]);
    } finally {
      writeFileSync(file, original);
    }
    expect(await ok(s, ["pull", "-q", `${registry.host}/bb:1`])).toBe(`${registry.host}/bb:1\n`);
  }, 60000);

  test("a connection cut mid-layer fails with one line; each pull again resumes where the last stopped", async () => {
    const { s } = ctx;
    // Every transfer through the front stops after 300 kB; the busybox layer is ~1 MB compressed,
    // so only pulls that resume (HTTP range) ever finish it.
    const front = await cuttingProxy(registry.host, 300_000);
    try {
      const ref = `${front.host}/bb:1`;
      const failures: string[] = [];
      let r = await box(s, ["pull", "-q", ref]);
      for (let tries = 0; r.code !== 0 && tries < 10; tries++) {
        failures.push(r.stderr);
        expect(readdirSync(join(s.root, "blobs")).filter((n) => n.startsWith(".partial-"))).toHaveLength(1);
        r = await box(s, ["pull", "-q", ref]);
      }
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(failures.length).toBeGreaterThanOrEqual(2);
      // Each try got further than the one before: it went on from the bytes already there (how
      // many of the cut transfer's bytes arrive before the reset varies).
      const reached = failures.map((line) => {
        const m = new RegExp(`^box: download of ${single.layers[0]} from ${front.host} broke off after (\\d+) of (\\d+) bytes \\(.*\\); pull again to resume\n$`).exec(line);
        expect(m).not.toBeNull();
        return Number(m![1]);
      });
      for (let i = 1; i < reached.length; i++) expect(reached[i]!).toBeGreaterThan(reached[i - 1]!);
      expect(reached[0]!).toBeLessThanOrEqual(300_000);
      expect(leftovers(s)).toEqual([]);
      expect(await ok(s, ["run", "--rm", "--network", "none", ref])).toBe("hello from the registry\n");
    } finally {
      await front.stop();
    }
  }, 60000);
});

describe("authentication", () => {
  test("Basic (htpasswd): refused without login; box login keeps the credentials in Docker's format; logout", async () => {
    const { s } = ctx;
    const secured = await startRegistry({ htpasswd: { user: "alice", password: "s3cret pass" } });
    try {
      await push(join(work, "single"), secured, "private:1");
      const env = { BOX_AUTH_FILE: join(s.dir, "auth.json") };
      const ref = `${secured.host}/private:1`;
      const denied = await box(s, ["pull", ref], { env });
      expect(denied.stderr).toBe(`box: ${secured.host}: authentication required; log in with 'box login ${secured.host}'\n`);
      expect(denied.code).toBe(125);
      const bad = await box(s, ["login", "-u", "alice", "--password-stdin", secured.host], { env, stdin: "wrong\n" });
      expect(bad.stderr).toStartWith(`box: ${secured.host}: unauthorized`);
      expect(bad.code).toBe(125);
      expect(existsSync(env.BOX_AUTH_FILE)).toBe(false);
      expect((await box(s, ["login", "-u", "alice", "--password-stdin", secured.host], { env, stdin: "s3cret pass\n" })).stdout).toBe("Login Succeeded\n");
      const saved = JSON.parse(readFileSync(env.BOX_AUTH_FILE, "utf8"));
      expect(saved.auths[secured.host].auth).toBe(Buffer.from("alice:s3cret pass").toString("base64"));
      expect((await import("node:fs")).statSync(env.BOX_AUTH_FILE).mode & 0o777).toBe(0o600);
      const pulled = await box(s, ["run", "--rm", "--network", "none", ref], { env });
      expect([pulled.code, pulled.stdout]).toEqual([0, "hello from the registry\n"]);
      expect(pulled.stderr).toStartWith(`Unable to find image '${ref}' locally\n`);
      expect(await ok(s, ["logout", secured.host], env)).toBe(`Removing login credentials for ${secured.host}\n`);
      // On a terminal box asks, as Docker does, and does not echo the password.
      const login = boxArgs(s, ["login", secured.host]).map((a) => `'${a}'`).join(" ");
      const typed = Bun.spawnSync(["sh", "-c", `(sleep 0.5; printf 'alice\\r'; sleep 0.5; printf 's3cret pass\\r') | script -qec "${login}" /dev/null`], { env: { ...process.env, ...env }, stdout: "pipe" });
      expect(typed.stdout.toString()).toBe("Username: alice\r\nPassword: \r\nLogin Succeeded\r\n");
      expect(JSON.parse(readFileSync(env.BOX_AUTH_FILE, "utf8")).auths[secured.host].auth).toBe(Buffer.from("alice:s3cret pass").toString("base64"));
      await ok(s, ["logout", secured.host], env);
      await ok(s, ["rmi", ref]);
      expect((await box(s, ["pull", ref], { env })).stderr).toContain("authentication required");
      // Pushing needs the login too.
      await ok(s, ["import", join(work, "busybox.tar"), `${secured.host}/mine:1`]);
      expect((await box(s, ["push", `${secured.host}/mine:1`], { env })).stderr).toContain("authentication required");
      await box(s, ["login", "-u", "alice", "--password-stdin", secured.host], { env, stdin: "s3cret pass\n" });
      expect(await ok(s, ["push", "-q", `${secured.host}/mine:1`], env)).toBe("");
    } finally {
      await secured.stop();
    }
  }, 60000);

  test("Bearer tokens, as Docker Hub hands them out: anonymous, and with credentials", async () => {
    const { s } = ctx;
    const open = await bearerFront(registry.host);
    const closed = await bearerFront(registry.host, { user: "bob", password: "hunter2" });
    try {
      await ok(s, ["pull", "-q", `${open.host}/bb:1`]);
      expect(open.tokensIssued).toBeGreaterThanOrEqual(1);
      expect(open.requests.filter((r) => r.path.includes("/blobs/")).every((r) => r.auth?.startsWith("Bearer "))).toBe(true);

      const env = { BOX_AUTH_FILE: join(s.dir, "auth.json") };
      const denied = await box(s, ["pull", `${closed.host}/bb:1`], { env });
      expect(denied.stderr).toMatch(new RegExp(`^box: ${closed.host}: login refused by http://${closed.host}`));
      expect(denied.code).toBe(125);
      await ok(s, ["login", "-u", "bob", "-p", "hunter2", closed.host], env);
      expect(await ok(s, ["pull", "-q", `${closed.host}/bb:1`], env)).toBe(`${closed.host}/bb:1\n`);
    } finally {
      await open.stop();
      await closed.stop();
    }
  }, 60000);
});
