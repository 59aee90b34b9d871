// Containers from imported images: overlayfs copy-on-write over a read-only layer.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { box, eventually, expectNoLeaks, removeStore, importBusybox, snapshot, tempStore, type Snapshot, type Store } from "./helpers/box.ts";

let s: Store;
let before: Snapshot;

beforeAll(async () => {
  s = tempStore();
  const r = await importBusybox(s, "busybox");
  expect(r.stderr).toBe("");
  expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
});
afterAll(() => removeStore(s));
beforeEach(() => {
  before = snapshot();
});
afterEach(async () => {
  await expectNoLeaks(s, before);
});

function layerDirs(): string[] {
  return readdirSync(join(s.root, "layers")).filter((d) => !d.startsWith("."));
}

describe("run from an image", () => {
  test("the payload runs on an overlay of the image", async () => {
    const r = await box(s, ["run", "--rm", "busybox", "/bin/sh", "-c", "grep ' / ' /proc/self/mounts | cut -d' ' -f3; cat /etc/passwd | head -1"]);
    expect(r.stdout).toBe("overlay\nroot:x:0:0:root:/root:/bin/sh\n");
    expect(r.code).toBe(0);
  });

  test("writes go to the container's layer, never to the image", async () => {
    const r = await box(s, ["run", "--rm", "busybox", "/bin/sh", "-c", "echo changed > /etc/motd; rm /bin/ls; echo ok"]);
    expect(r.stdout).toBe("ok\n");
    const [layer] = layerDirs();
    const layerRoot = join(s.root, "layers", layer!);
    expect(existsSync(join(layerRoot, "etc/motd"))).toBe(false);
    expect(existsSync(join(layerRoot, "bin/ls"))).toBe(true);
    // A second container sees the pristine image.
    const again = await box(s, ["run", "--rm", "busybox", "/bin/sh", "-c", "test -e /etc/motd || echo clean; test -e /bin/ls && echo ls-present"]);
    expect(again.stdout).toBe("clean\nls-present\n");
  });

  test("an imported image has no command: box says so", async () => {
    const r = await box(s, ["run", "--rm", "busybox"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("box: no command specified\n");
  });

  test("box images lists it; rmi removes it and its layer", async () => {
    const t2 = await importBusybox(s, "second:v1");
    expect(t2.code).toBe(0);
    const list = await box(s, ["images"]);
    expect(list.stdout).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED/);
    expect(list.stdout).toMatch(/\nbusybox\s+latest\s+[0-9a-f]{12}\s/);
    expect(list.stdout).toMatch(/\nsecond\s+v1\s+[0-9a-f]{12}\s/);
    const json = (await box(s, ["images", "--format", "json"])).stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(json.map((i: { Repository: string; Tag: string }) => `${i.Repository}:${i.Tag}`).sort()).toEqual(["busybox:latest", "second:v1"]);
    expect((await box(s, ["rmi", "second:v1"])).code).toBe(0);
    expect((await box(s, ["rmi", "second:v1"])).stderr).toBe("box: image not found: second:v1\n");
    // The layer is shared with busybox:latest, so it stays.
    expect(layerDirs()).toHaveLength(1);
    expect(readFileSync(join(s.root, "layers", layerDirs()[0]!, "etc/passwd"), "utf8")).toContain("alice");
  });

  test("rmi refuses an image a container still uses", async () => {
    expect((await importBusybox(s, "used", ["-c", "ENV USED=1"])).code).toBe(0);
    expect((await box(s, ["run", "--name", "user", "used", "/bin/true"])).code).toBe(0);
    const refused = await box(s, ["rmi", "used"]);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/^box: conflict: unable to remove image used:latest: container [0-9a-f]{12} \(user\) uses it; remove it first, or use -f\n$/);
    expect((await box(s, ["rm", "user"])).code).toBe(0);
    expect((await box(s, ["rmi", "used"])).code).toBe(0);
  });
});

describe("the watcher's cleanup of a hostile --rm container", () => {
  test("a directory tree 3000 levels deep in the upper layer is removed completely", async () => {
    // --network none: a detached --rm container on a bridge keeps its Bun init, not the watcher.
    const r = await box(s, ["run", "-d", "--rm", "--network", "none", "busybox", "/bin/sh", "-c", "i=0; while [ $i -lt 3000 ]; do mkdir d && cd d || exit 1; i=$((i+1)); done; echo deep > f"]);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    await eventually(() => !existsSync(join(s.root, "containers", id)), 25000);
  }, 60000);
});
