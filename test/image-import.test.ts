// `box import` back end: normal rootfs tarballs come out exactly as archived; hostile ones are
// refused with one clear line, write nothing outside the layer and leave no temp dir behind.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  chmodSync, chownSync, closeSync, existsSync, openSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync,
  rmSync, statSync, symlinkSync, utimesSync, writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { UserError } from "../src/container/errors.ts";
import { parseReference } from "../src/image/reference.ts";
import { createImage, findImage, listImages, removeImage, resolveImage, untag } from "../src/image/store.ts";
import { configDocument, importImage as importRecord, type ImportOptions } from "../src/image/ingest.ts";
import { readBlob } from "../src/image/blobs.ts";
import { fgetxattr } from "../src/sys/fs.ts";

/** The import back end, as the tests read its result: the name, id, layers and what was skipped. */
async function importImage(root: string, file: string, ref: string, opts?: ImportOptions) {
  const { record, skipped } = await importRecord(root, file, ref, opts);
  return { ref: parseReference(ref).ref, id: record.id, layers: record.layers, skipped };
}

let tmp: string;
let root: string;
let outside: string;

beforeEach(() => {
  tmp = mkdtempSync("/tmp/box-image-test-");
  root = join(tmp, "root");
  // A directory next to the store that hostile archives aim at; it must stay exactly as it is.
  outside = join(tmp, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "keep"), "original");
});

afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

// ---- raw tar bytes, for archives GNU tar refuses to write ----

interface RawEntry {
  name: string;
  /** Type flag: "0" file, "1" hardlink, "2" symlink, "3" char, "4" block, "5" dir, "6" fifo, "x" pax, "L" GNU long name. */
  type?: string;
  data?: string | Uint8Array;
  /** Declared size when it should differ from the data (truncation). */
  size?: number;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  badChecksum?: boolean;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(e: RawEntry): Buffer {
  const h = Buffer.alloc(512);
  const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
  h.write(e.name, 0, 100);
  h.write(octal(e.mode ?? (e.type === "5" ? 0o755 : 0o644), 8), 100);
  h.write(octal(e.uid ?? 0, 8), 108);
  h.write(octal(e.gid ?? 0, 8), 116);
  h.write(octal(e.size ?? data.length, 12), 124);
  h.write(octal(e.mtime ?? 1_600_000_000, 12), 136);
  h.write(e.type ?? "0", 156);
  h.write(e.linkname ?? "", 157, 100);
  h.write("ustar\0" + "00", 257);
  if (e.type === "3" || e.type === "4") {
    h.write(octal(1, 8), 329);
    h.write(octal(3, 8), 337);
  }
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${octal(e.badChecksum ? sum + 1 : sum, 7)} `, 148);
  return h;
}

function entryBytes(e: RawEntry): Buffer {
  const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header(e), data, padding]);
}

function paxRecords(records: Record<string, string>): string {
  return Object.entries(records)
    .map(([key, value]) => {
      const body = ` ${key}=${value}\n`;
      let length = Buffer.byteLength(body) + 1;
      while (String(length).length + Buffer.byteLength(body) !== length) length++;
      return `${length}${body}`;
    })
    .join("");
}

function pax(records: Record<string, string>): RawEntry {
  return { name: "PaxHeaders/entry", type: "x", data: paxRecords(records) };
}

function writeTar(name: string, entries: RawEntry[], opts: { end?: boolean } = {}): string {
  const parts = entries.map(entryBytes);
  if (opts.end !== false) parts.push(Buffer.alloc(1024));
  const file = join(tmp, name);
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

function run(cmd: string[]): void {
  const result = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${result.stderr.toString()}`);
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function layerDir(ref: string): string {
  return resolveImage(root, ref).layerDirs[0]!;
}

function layerNames(): string[] {
  return existsSync(join(root, "layers")) ? readdirSync(join(root, "layers")).sort() : [];
}

/** What a user sees from a hostile archive: a refusal, and no trace of it anywhere. */
async function expectRefused(file: string, message: RegExp): Promise<void> {
  const failure = await importImage(root, file, "hostile").then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(failure).toBeInstanceOf(UserError);
  expect((failure as Error).message).toMatch(message);
  expect((failure as Error).message).not.toContain("\n");
  expect(readdirSync(outside)).toEqual(["keep"]);
  expect(readFileSync(join(outside, "keep"), "utf8")).toBe("original");
  expect(layerNames().filter((name) => name.startsWith("."))).toEqual([]);
  expect(listImages(root)).toEqual([]);
}

// ---- normal archives ----

describe("importing a rootfs tarball", () => {
  function stageRootfs(): string {
    const stage = join(tmp, "stage");
    mkdirSync(stage, { mode: 0o755 });
    chmodSync(stage, 0o755);
    for (const dir of ["bin", "etc", "usr/bin", "home/user", "tmp", "ro"]) mkdirSync(join(stage, dir), { recursive: true });
    writeFileSync(join(stage, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    writeFileSync(join(stage, "bin/su"), "#!/bin/sh\necho su\n");
    chownSync(join(stage, "bin/su"), 0, 0);
    chmodSync(join(stage, "bin/su"), 0o4755);
    linkSync(join(stage, "bin/su"), join(stage, "bin/su-again"));
    writeFileSync(join(stage, "usr/bin/wall"), "wall");
    chownSync(join(stage, "usr/bin/wall"), 0, 5);
    chmodSync(join(stage, "usr/bin/wall"), 0o2755);
    writeFileSync(join(stage, "home/user/secret"), "s3cret");
    chownSync(join(stage, "home/user/secret"), 1234, 5678);
    chmodSync(join(stage, "home/user/secret"), 0o600);
    chownSync(join(stage, "home/user"), 1000, 1000);
    chmodSync(join(stage, "home/user"), 0o750);
    chmodSync(join(stage, "tmp"), 0o1777);
    writeFileSync(join(stage, "ro/file"), "read only");
    chmodSync(join(stage, "ro/file"), 0o444);
    chmodSync(join(stage, "ro"), 0o555);
    utimesSync(join(stage, "ro/file"), 1_000_000_000, 1_000_000_000);
    utimesSync(join(stage, "ro"), 1_100_000_000, 1_100_000_000);
    writeFileSync(join(stage, "empty"), "");
    symlinkSync("/bin/busybox", join(stage, "sh-link"));
    run(["mkfifo", join(stage, "fifo")]);
    return stage;
  }

  test("files, modes with setuid/setgid/sticky, owners, links, fifos and times come out as archived", async () => {
    const stage = stageRootfs();
    const tarFile = join(tmp, "rootfs.tar");
    run(["tar", "--numeric-owner", "-C", stage, "-cf", tarFile, "."]);

    const result = await importImage(root, tarFile, "example/rootfs:1.0");
    expect(result.ref).toBe("example/rootfs:1.0");
    expect(result.layers).toEqual([sha256(tarFile)]);
    expect(result.id).toMatch(/^[0-9a-f]{64}$/);
    expect(result.skipped).toEqual({ devices: 0 });

    const dir = layerDir("example/rootfs:1.0");
    expect(dir).toBe(join(root, "layers", result.layers[0]!));
    const mode = (path: string) => lstatSync(join(dir, path)).mode & 0o7777;
    const owner = (path: string) => [lstatSync(join(dir, path)).uid, lstatSync(join(dir, path)).gid];

    expect(mode(".")).toBe(0o755);
    expect(readFileSync(join(dir, "etc/passwd"), "utf8")).toBe("root:x:0:0:root:/root:/bin/sh\n");
    expect(mode("bin/su")).toBe(0o4755);
    expect(mode("usr/bin/wall")).toBe(0o2755);
    expect(owner("usr/bin/wall")).toEqual([0, 5]);
    expect(mode("tmp")).toBe(0o1777);
    expect(mode("home/user")).toBe(0o750);
    expect(owner("home/user")).toEqual([1000, 1000]);
    expect(owner("home/user/secret")).toEqual([1234, 5678]);
    expect(mode("home/user/secret")).toBe(0o600);
    expect(readFileSync(join(dir, "home/user/secret"), "utf8")).toBe("s3cret");
    expect(lstatSync(join(dir, "bin/su-again")).ino).toBe(lstatSync(join(dir, "bin/su")).ino);
    expect(readlinkSync(join(dir, "sh-link"))).toBe("/bin/busybox");
    expect(lstatSync(join(dir, "fifo")).isFIFO()).toBe(true);
    expect(statSync(join(dir, "empty")).size).toBe(0);
    // A read-only directory still got its children, and its own time survived them.
    expect(mode("ro")).toBe(0o555);
    expect(readFileSync(join(dir, "ro/file"), "utf8")).toBe("read only");
    expect(lstatSync(join(dir, "ro")).mtimeMs).toBe(1_100_000_000_000);
    expect(lstatSync(join(dir, "ro/file")).mtimeMs).toBe(1_000_000_000_000);
    expect(layerNames()).toEqual([result.layers[0]!]);
  });

  test("gzip and zstd archives give the same layer (digest of the uncompressed tar), stored once", async () => {
    const stage = stageRootfs();
    const tarFile = join(tmp, "rootfs.tar");
    run(["tar", "--numeric-owner", "-C", stage, "-cf", tarFile, "."]);
    run(["gzip", "-k", tarFile]);
    run(["zstd", "-q", tarFile, "-o", `${tarFile}.zst`]);

    const plain = await importImage(root, tarFile, "plain");
    const gzip = await importImage(root, `${tarFile}.gz`, "gzipped");
    const zstd = await importImage(root, `${tarFile}.zst`, "zstd");
    expect(gzip.layers).toEqual([sha256(tarFile)]);
    expect(zstd.layers).toEqual(plain.layers);
    // Each import is an image of its own (its config has the time), as with docker import.
    expect(gzip.id).not.toBe(plain.id);
    expect(layerNames()).toEqual(plain.layers);
    expect(readFileSync(join(layerDir("gzipped"), "etc/passwd"), "utf8")).toContain("root:x:0:0");
  });

  test("long names and link targets in GNU and pax formats", async () => {
    const stage = join(tmp, "stage");
    const deep = join(...Array.from({ length: 12 }, (_, i) => `directory-number-${i}`));
    mkdirSync(join(stage, deep), { recursive: true });
    const longFile = join(deep, `${"f".repeat(150)}.txt`);
    writeFileSync(join(stage, longFile), "deep content");
    symlinkSync(`/${longFile}`, join(stage, "long-link"));
    for (const format of ["gnu", "posix"]) {
      const tarFile = join(tmp, `${format}.tar`);
      run(["tar", `--format=${format}`, "-C", stage, "-cf", tarFile, "."]);
      const dir = layerDir((await importImage(root, tarFile, format)).ref);
      expect(readFileSync(join(dir, longFile), "utf8")).toBe("deep content");
      expect(readlinkSync(join(dir, "long-link"))).toBe(`/${longFile}`);
    }
  });

  test("owners and times too big for octal fields (GNU base-256), including times before 1970", async () => {
    const stage = join(tmp, "stage");
    mkdirSync(stage);
    writeFileSync(join(stage, "old"), "1960");
    utimesSync(join(stage, "old"), new Date(-315_619_200_000), new Date(-315_619_200_000));
    writeFileSync(join(stage, "big-owner"), "uid");
    chownSync(join(stage, "big-owner"), 3_000_000_000, 5);
    const tarFile = join(tmp, "base256.tar");
    run(["tar", "--format=gnu", "-C", stage, "-cf", tarFile, "old", "big-owner"]);
    const dir = layerDir((await importImage(root, tarFile, "base256")).ref);
    expect(lstatSync(join(dir, "old")).mtimeMs).toBe(-315_619_200_000);
    expect(lstatSync(join(dir, "big-owner")).uid).toBe(3_000_000_000);
  });

  test("pax headers override path, link target, owner and time", async () => {
    const longPath = `pax/${"p".repeat(200)}/file`;
    const file = writeTar("pax.tar", [
      pax({ path: longPath, uid: "3000000", gid: "4000000", mtime: "1234567890.5" }),
      { name: "truncated-ustar-name", data: "via pax" },
      pax({ linkpath: `/${"t".repeat(300)}` }),
      { name: "link", type: "2", linkname: "short" },
    ]);
    const dir = layerDir((await importImage(root, file, "pax")).ref);
    const stat = lstatSync(join(dir, longPath));
    expect(readFileSync(join(dir, longPath), "utf8")).toBe("via pax");
    expect([stat.uid, stat.gid]).toEqual([3_000_000, 4_000_000]);
    expect(stat.mtimeMs).toBe(1_234_567_890_500);
    expect(readlinkSync(join(dir, "link"))).toBe(`/${"t".repeat(300)}`);
    expect(existsSync(join(dir, "truncated-ustar-name"))).toBe(false);
  });

  test("absolute paths and inner .. land inside the rootfs; parents missing from the archive are created", async () => {
    const file = writeTar("paths.tar", [
      { name: `${outside}/abs`, data: "absolute" },
      { name: "./a/../b", data: "dotdot inside" },
      { name: "implied/parent/file", data: "x" },
    ]);
    const dir = layerDir((await importImage(root, file, "paths")).ref);
    expect(readFileSync(join(dir, outside, "abs"), "utf8")).toBe("absolute");
    expect(readFileSync(join(dir, "b"), "utf8")).toBe("dotdot inside");
    expect(lstatSync(join(dir, "implied/parent")).mode & 0o7777).toBe(0o755);
    expect(readdirSync(outside)).toEqual(["keep"]);
  });

  test("device nodes are skipped and counted; whiteouts become overlayfs whiteouts", async () => {
    const file = writeTar("devices.tar", [
      { name: "dev/", type: "5" },
      { name: "dev/null", type: "3" },
      { name: "dev/sda", type: "4" },
      { name: ".wh.gone", data: "a body the reader must skip" },
      { name: "etc/.wh..wh..opq", data: "" },
      { name: "etc/.wh..wh.plnk", data: "" },
      { name: "etc/hostname", data: "box\n" },
    ]);
    const result = await importImage(root, file, "devices");
    expect(result.skipped).toEqual({ devices: 2 });
    const dir = layerDir("devices");
    expect(readdirSync(join(dir, "dev"))).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(["dev", "etc", "gone"]);
    // overlayfs' whiteout: a 0/0 character device; an opaque directory: its xattr.
    const gone = lstatSync(join(dir, "gone"));
    expect([gone.isCharacterDevice(), gone.rdev]).toEqual([true, 0]);
    const etc = openSync(join(dir, "etc"), "r");
    expect(fgetxattr(etc, "trusted.overlay.opaque", "etc")).toBe("y");
    closeSync(etc);
    expect(readdirSync(join(dir, "etc"))).toEqual(["hostname"]);
  });

  test("a whiteout of an invalid name is refused", async () => {
    for (const name of [".wh.", "etc/.wh.."]) {
      const file = writeTar("bad-wh.tar", [{ name, data: "" }]);
      await expect(importImage(root, file, "bad")).rejects.toThrow(/whiteout of an invalid name/);
    }
  });

  test("a later entry replaces an earlier one without following it", async () => {
    const file = writeTar("replace.tar", [
      { name: "d/", type: "5" },
      { name: "d/link", type: "2", linkname: outside },
      { name: "d", data: "dir became a file" },
      { name: "f", data: "first" },
      { name: "f", type: "2", linkname: join(outside, "new") },
      { name: "f", data: "final" },
      { name: "s", type: "2", linkname: outside },
      { name: "s/", type: "5", mode: 0o700 },
    ]);
    const dir = layerDir((await importImage(root, file, "replace")).ref);
    expect(readFileSync(join(dir, "d"), "utf8")).toBe("dir became a file");
    expect(readFileSync(join(dir, "f"), "utf8")).toBe("final");
    expect(lstatSync(join(dir, "s")).isDirectory()).toBe(true);
    expect(lstatSync(join(dir, "s")).mode & 0o7777).toBe(0o700);
    expect(readdirSync(outside)).toEqual(["keep"]);
    expect(statSync(outside).mode & 0o7777).not.toBe(0o700);
  });
});

// ---- hostile archives ----

describe("hostile archives are refused", () => {
  test("a path that climbs out with ..", async () => {
    await expectRefused(writeTar("dotdot.tar", [{ name: "../../../outside/pwned", data: "x" }]), /^refusing entry "..\/..\/..\/outside\/pwned": path leaves the rootfs$/);
    await expectRefused(writeTar("inner.tar", [{ name: "a/../../../../outside/pwned", data: "x" }]), /path leaves the rootfs/);
  });

  test("a pax or GNU long name that climbs out, behind a harmless ustar name", async () => {
    await expectRefused(writeTar("pax-dotdot.tar", [pax({ path: "../../../outside/pwned" }), { name: "harmless", data: "x" }]), /refusing entry "..\/..\/..\/outside\/pwned": path leaves the rootfs/);
    const gnuName = { name: "././@LongLink", type: "L", data: "../../../outside/pwned\0" };
    await expectRefused(writeTar("gnu-dotdot.tar", [gnuName, { name: "harmless", data: "x" }]), /path leaves the rootfs/);
  });

  test("writing through a symlink the archive planted (absolute and relative)", async () => {
    await expectRefused(
      writeTar("abs-link.tar", [{ name: "a", type: "2", linkname: outside }, { name: "a/pwned", data: "x" }]),
      /^refusing entry "a\/pwned": parent "a" is a symlink$/,
    );
    await expectRefused(
      writeTar("rel-link.tar", [{ name: "b", type: "2", linkname: "../../../outside" }, { name: "b/sub/pwned", data: "x" }]),
      /parent "b" is a symlink/,
    );
    await expectRefused(
      writeTar("link-dir.tar", [{ name: "c", type: "2", linkname: outside }, { name: "c/newdir/", type: "5" }]),
      /parent "c" is a symlink/,
    );
  });

  test("a file used as a directory", async () => {
    await expectRefused(writeTar("file-parent.tar", [{ name: "f", data: "x" }, { name: "f/g", data: "y" }]), /parent "f" is a regular file/);
  });

  test("hardlinks that escape, go through a symlink, point at a symlink or at nothing", async () => {
    await expectRefused(
      writeTar("hl-dotdot.tar", [{ name: "h", type: "1", linkname: "../../../outside/keep" }]),
      /^refusing entry "h": hardlink target "..\/..\/..\/outside\/keep": path leaves the rootfs$/,
    );
    await expectRefused(
      writeTar("hl-through-link.tar", [{ name: "s", type: "2", linkname: outside }, { name: "h", type: "1", linkname: "s/keep" }]),
      /hardlink target "s\/keep" goes through "s", which is a symlink/,
    );
    await expectRefused(
      writeTar("hl-to-link.tar", [{ name: "l", type: "2", linkname: join(outside, "keep") }, { name: "h", type: "1", linkname: "l" }]),
      /hardlink target "l" is a symlink/,
    );
    await expectRefused(writeTar("hl-missing.tar", [{ name: "h", type: "1", linkname: "/etc/passwd" }]), /hardlink target "\/etc\/passwd" does not exist/);
    await expectRefused(writeTar("hl-dir.tar", [{ name: "d/", type: "5" }, { name: "h", type: "1", linkname: "d" }]), /hardlink target "d" is a directory/);
  });

  test("absurd paths: empty, too long, NUL", async () => {
    await expectRefused(writeTar("empty-name.tar", [{ name: "", data: "x" }]), /^refusing entry "": empty path$/);
    await expectRefused(writeTar("too-long.tar", [pax({ path: "a/".repeat(2100) + "f" }), { name: "f", data: "x" }]), /path is longer than 4096 bytes/);
  });

  test("a body larger than the archive holds", async () => {
    const file = join(tmp, "truncated.tar");
    writeFileSync(file, Buffer.concat([header({ name: "big", size: 10_000 }), Buffer.from("only this")]));
    await expectRefused(file, /^truncated tar archive: entry "big" declares 10000 bytes but the archive holds only 9$/);
  });

  test("an archive cut at an entry boundary, empty or not tar at all", async () => {
    await expectRefused(writeTar("no-end.tar", [{ name: "a", data: "x" }], { end: false }), /truncated tar archive: ends at byte 1024 without an end-of-archive marker/);
    writeFileSync(join(tmp, "empty.tar"), "");
    await expectRefused(join(tmp, "empty.tar"), /truncated tar archive: ends at byte 0/);
    writeFileSync(join(tmp, "text.tar"), "hello world\n".repeat(100));
    await expectRefused(join(tmp, "text.tar"), /^not a tar archive: no valid tar header at its start$/);
  });

  test("an entry type that cannot be extracted faithfully", async () => {
    await expectRefused(writeTar("sparse.tar", [{ name: "sparse", type: "S", data: "x" }]), /^unsupported tar entry type "S" at byte 0 \("sparse"\)$/);
  });

  test("a header with a bad checksum", async () => {
    const file = writeTar("checksum.tar", [{ name: "ok", data: "x" }, { name: "bad", data: "y", badChecksum: true }]);
    await expectRefused(file, /^corrupt tar archive: bad header checksum at byte 1024$/);
  });

  test("truncated or corrupt gzip data", async () => {
    const tarFile = writeTar("big.tar", [{ name: "random", data: new Uint8Array(200_000).map(() => Math.floor(Math.random() * 256)) }]);
    run(["gzip", "-k", tarFile]);
    const gz = readFileSync(`${tarFile}.gz`);
    writeFileSync(join(tmp, "cut.tar.gz"), gz.subarray(0, gz.length / 2));
    await expectRefused(join(tmp, "cut.tar.gz"), /corrupt gzip data in ".*cut\.tar\.gz"|truncated tar archive/);
    const mangled = Buffer.from(gz);
    mangled.fill(0x55, 20, 2000);
    writeFileSync(join(tmp, "mangled.tar.gz"), mangled);
    await expectRefused(join(tmp, "mangled.tar.gz"), /corrupt gzip data in ".*mangled\.tar\.gz"/);
  });

  test("more entries than the limit", async () => {
    const file = writeTar("many.tar", Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: "x" })));
    const failure = await importImage(root, file, "many", { maxEntries: 3 }).catch((err: Error) => err);
    expect((failure as Error).message).toBe("refusing archive: more than 3 entries");
    expect(layerNames()).toEqual([]);
  });

  test("unreadable or unsupported input files", async () => {
    await expect(importImage(root, join(tmp, "missing.tar"), "x")).rejects.toThrow(`cannot read archive "${join(tmp, "missing.tar")}": ENOENT`);
    await expect(importImage(root, tmp, "x")).rejects.toThrow("is a directory");
    const tarFile = writeTar("plain.tar", [{ name: "a", data: "x" }]);
    run(["xz", "-k", tarFile]);
    await expect(importImage(root, `${tarFile}.xz`, "x")).rejects.toThrow("xz-compressed archives are not supported");
    expect(layerNames()).toEqual([]);
  });
});

// ---- references and the store ----

describe("image references", () => {
  test("valid names get the default tag; registry hosts with ports are allowed", () => {
    expect(parseReference("busybox").ref).toBe("busybox:latest");
    // Docker Hub's names, as Docker shows them.
    expect(parseReference("library/busybox:1.36").ref).toBe("busybox:1.36");
    expect(parseReference("docker.io/library/busybox").ref).toBe("busybox:latest");
    expect(parseReference("busybox")).toMatchObject({ domain: "docker.io", path: "library/busybox" });
    expect(parseReference("index.docker.io/team/app")).toMatchObject({ ref: "team/app:latest", path: "team/app" });
    expect(parseReference(`localhost:5000/bb@sha256:${"a".repeat(64)}`)).toMatchObject({ name: "localhost:5000/bb", tag: undefined, ref: `localhost:5000/bb@sha256:${"a".repeat(64)}`, path: "bb" });
    expect(parseReference("localhost:5000/team/app").ref).toBe("localhost:5000/team/app:latest");
    expect(parseReference("registry.example.com/a__b/c-d--e:v1.0_rc-2")).toEqual({
      name: "registry.example.com/a__b/c-d--e", tag: "v1.0_rc-2", digest: undefined, ref: "registry.example.com/a__b/c-d--e:v1.0_rc-2",
      domain: "registry.example.com", path: "a__b/c-d--e",
    });
  });

  test.each([
    ["Busybox", /repository name must be lowercase/],
    ["../etc/passwd", /invalid registry host "\.\."/],
    ["a/../b", /invalid name component "\.\."/],
    ["/abs", /invalid name component ""/],
    ["foo/", /invalid name component ""/],
    ["", /empty name/],
    ["foo:bad tag", /invalid tag "bad tag"/],
    ["foo:-x", /invalid tag/],
    [":tag", /invalid name component ""/],
    ["foo@sha256:abc", /a digest must be sha256: and 64 lowercase hex digits/],
    ["a:b:c", /invalid name component "a:b"/],
    [`${"a".repeat(256)}`, /longer than 255 characters/],
  ])("%p is refused", (ref, message) => {
    expect(() => parseReference(ref)).toThrow(UserError);
    expect(() => parseReference(ref)).toThrow(message);
  });

  test("a bad name fails the import before anything is written; a name with / stays one file", async () => {
    const file = writeTar("r.tar", [{ name: "a", data: "x" }]);
    await expect(importImage(root, file, "../../outside/evil")).rejects.toThrow(/^invalid image reference "..\/..\/outside\/evil": /);
    expect(existsSync(root)).toBe(false);
    await importImage(root, file, "team/app:v1");
    expect(readdirSync(join(root, "tags"))).toEqual(["team%2Fapp%3Av1"]);
    expect(readdirSync(outside)).toEqual(["keep"]);
  });
});

describe("the image store", () => {
  async function importFiles(ref: string, files: Record<string, string>): Promise<string> {
    const file = writeTar(`${ref}.tar`, Object.entries(files).map(([name, data]) => ({ name, data })));
    return (await importImage(root, file, ref)).layers[0]!;
  }

  test("resolveImage lists layer directories top first; a missing image is named", async () => {
    const bottom = await importFiles("bottom", { "etc/os": "bottom" });
    const top = await importFiles("top", { "etc/app": "top" });
    const blobs = (ref: string) => JSON.parse(readBlob(root, findImage(root, ref).manifest.digest).toString()).layers;
    createImage(root, {
      configBytes: configDocument([bottom, top], { Cmd: ["/bin/app"] }),
      layerBlobs: [...blobs("bottom"), ...blobs("top")],
      size: 2,
      tags: ["stacked:2"],
    });
    const image = resolveImage(root, "stacked:2");
    expect(image.layerDirs).toEqual([join(root, "layers", top), join(root, "layers", bottom)]);
    expect(image.config).toEqual({ Cmd: ["/bin/app"] });
    expect(resolveImage(root, "bottom").layerDirs).toEqual([join(root, "layers", bottom)]);

    expect(() => resolveImage(root, "busybox")).toThrow(UserError);
    expect(() => resolveImage(root, "busybox")).toThrow(/^image not found: busybox:latest$/);
    expect(() => createImage(root, { configBytes: configDocument(["0".repeat(64)], {}), layerBlobs: blobs("top"), size: 0, tags: ["broken"] })).toThrow("was removed meanwhile");
  });

  test("listImages and removeImage keep layers other images still use", async () => {
    expect(listImages(root)).toEqual([]);
    const shared = await importFiles("first", { "etc/os": "same" });
    writeFileSync(join(tmp, "again.tar"), readFileSync(join(tmp, "first.tar")));
    await importImage(root, join(tmp, "again.tar"), "second:v2");
    // Two images (each import is new), one layer.
    expect(listImages(root).flatMap((image) => image.tags).sort()).toEqual(["first:latest", "second:v2"]);
    expect(listImages(root).every((image) => image.layers[0] === shared && !Number.isNaN(Date.parse(image.created)))).toBe(true);

    const first = untag(root, "first");
    expect(first).toEqual({ id: expect.any(String), lastName: true });
    // The other image still has the layer; then a container's layers stay when its image goes.
    expect(removeImage(root, first.id, new Set()).deleted).toEqual([`sha256:${first.id}`]);
    expect(existsSync(join(root, "layers", shared))).toBe(true);
    const { id } = untag(root, "second:v2");
    expect(removeImage(root, id, new Set([shared])).deleted).toEqual([`sha256:${id}`]);
    expect(layerNames()).toEqual([shared]);
    const again = await importImage(root, join(tmp, "again.tar"), "third");
    expect(removeImage(root, again.id, new Set()).deleted).toEqual([`sha256:${again.id}`, `sha256:${shared}`]);
    expect(layerNames()).toEqual([]);
    expect(listImages(root)).toEqual([]);
    expect(readdirSync(join(root, "blobs", "sha256"))).toEqual([]);
    expect(() => untag(root, "first")).toThrow(/^image not found: first:latest$/);
  });

  test("--change instructions set the config; every import is an image of its own", async () => {
    const file = writeTar("cfg.tar", [{ name: "bin/app", data: "app" }]);
    const plain = await importImage(root, file, "cfg:plain");
    const configured = await importImage(root, file, "cfg:configured", {
      changes: ['CMD ["/bin/app", "--serve"]', "ENTRYPOINT /bin/init", 'ENV A=1 B="two words"', "env A 3", "WORKDIR /srv", "USER 1000:1000"],
    });
    expect(resolveImage(root, "cfg:plain").config).toEqual({});
    expect(resolveImage(root, "cfg:configured").config).toEqual({
      Env: ["A=3", "B=two words"], Cmd: ["/bin/app", "--serve"], Entrypoint: ["/bin/sh", "-c", "/bin/init"], WorkingDir: "/srv", User: "1000:1000",
    });
    expect(configured.layers).toEqual(plain.layers);
    expect(configured.id).not.toBe(plain.id);
    expect((await importImage(root, file, "cfg:again")).id).not.toBe(plain.id);

    expect((await importImage(root, file, "cfg:ports", { changes: ["EXPOSE 80 53/udp", "expose 80/tcp"] })).id).not.toBe(plain.id);
    expect(resolveImage(root, "cfg:ports").config).toEqual({ ExposedPorts: { "80/tcp": {}, "53/udp": {} } });
    await expect(importImage(root, file, "cfg:bad", { changes: ["EXPOSE 80/sctp"] })).rejects.toThrow(`invalid --change "EXPOSE 80/sctp": invalid port "80/sctp": PORT or PORT/tcp|udp`);
    await expect(importImage(root, file, "cfg:bad", { changes: ["RUN echo"] })).rejects.toThrow(/^invalid --change "RUN echo": unsupported instruction/);
    await importImage(root, file, "cfg:vol", { changes: ["VOLUME /data", "VOLUME [\"/logs\"]", "HEALTHCHECK --interval=5s --retries=2 CMD curl -f http://localhost/"] });
    expect(resolveImage(root, "cfg:vol").config).toEqual({ Volumes: { "/data": {}, "/logs": {} }, Healthcheck: { Test: ["CMD-SHELL", "curl -f http://localhost/"], Interval: 5e9, Retries: 2 } });
    await expect(importImage(root, file, "cfg:bad", { changes: ["CMD [1, 2]"] })).rejects.toThrow("must be a JSON array of strings");
  });
});
