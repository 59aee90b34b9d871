// box's own file layer (src/sys/fs.ts, libc through bun:ffi) and path arithmetic (src/path.ts):
// real files in a temporary directory, checked with node:fs as the independent observer.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as nodefs from "node:fs";
import * as nodepath from "node:path";
import { tmpdir } from "node:os";
import * as fs from "../src/sys/fs.ts";
import { SyscallError } from "../src/sys/errors.ts";
import { O_CREAT, O_DIRECTORY, O_RDONLY, O_WRONLY } from "../src/sys/constants.ts";
import { basename, dirname, join, normalize } from "../src/path.ts";

let dir: string;
beforeEach(() => {
  dir = nodefs.mkdtempSync(`${tmpdir()}/box-fs-`);
});
afterEach(() => {
  nodefs.rmSync(dir, { recursive: true, force: true });
});

describe("sys/fs", () => {
  test("write, read, stat and list files; errors name the call, the path and errno", () => {
    fs.writeFile(`${dir}/a`, "hello", { mode: 0o640 });
    expect(nodefs.readFileSync(`${dir}/a`, "utf8")).toBe("hello");
    expect(fs.readFile(`${dir}/a`)).toBe("hello");
    const st = fs.stat(`${dir}/a`);
    expect(st.isFile()).toBe(true);
    expect(st.size).toBe(5);
    expect(st.mode & 0o777).toBe(nodefs.statSync(`${dir}/a`).mode & 0o777);
    expect(st.ino).toBe(nodefs.statSync(`${dir}/a`).ino);
    fs.mkdirs(`${dir}/x/y/z`, 0o700);
    expect(nodefs.statSync(`${dir}/x/y/z`).isDirectory()).toBe(true);
    fs.mkdirs(`${dir}/x/y/z`); // existing: fine
    expect(fs.readdir(dir).sort()).toEqual(["a", "x"]);
    expect(() => fs.readFile(`${dir}/missing`)).toThrow(`open ${dir}/missing: ENOENT`);
    expect(() => fs.writeFile(`${dir}/a`, "again", { exclusive: true })).toThrow(`open ${dir}/a: EEXIST`);
    // A file in the way of mkdir -p is an error, not silently accepted.
    expect(() => fs.mkdirs(`${dir}/a/b`)).toThrow(SyscallError);
  });

  test("a NUL inside a path is refused instead of cutting the path short", () => {
    fs.writeFile(`${dir}/a`, "x");
    expect(() => fs.readFile(`${dir}/a\0/../../etc/shadow`)).toThrow("EINVAL");
    expect(() => fs.exists(`${dir}/a\0junk`)).toThrow("EINVAL");
  });

  test("removeTree deletes a tree but never follows a symlink out of it", () => {
    const outside = `${dir}/outside`;
    nodefs.mkdirSync(outside);
    nodefs.writeFileSync(`${outside}/keep`, "k");
    nodefs.mkdirSync(`${dir}/tree/sub`, { recursive: true });
    nodefs.writeFileSync(`${dir}/tree/sub/f`, "f");
    nodefs.symlinkSync(outside, `${dir}/tree/link`);
    fs.removeTree(`${dir}/tree`);
    expect(nodefs.existsSync(`${dir}/tree`)).toBe(false);
    expect(nodefs.readFileSync(`${outside}/keep`, "utf8")).toBe("k");
    fs.removeTree(`${dir}/tree`); // missing: fine
  });

  test("removeTree takes a tree nested deeper than any path can name", () => {
    // 3000 levels of "d/": 6000 bytes, beyond PATH_MAX, built by descriptors.
    nodefs.mkdirSync(`${dir}/deep`);
    let cur = fs.open(`${dir}/deep`, O_RDONLY | O_DIRECTORY);
    for (let i = 0; i < 3000; i++) {
      fs.mkdirAt(cur, "d", 0o755);
      const next = fs.openAt(cur, "d", O_RDONLY | O_DIRECTORY);
      fs.close(cur);
      cur = next;
    }
    fs.close(fs.openAt(cur, "f", O_WRONLY | O_CREAT, 0o644));
    fs.close(cur);
    expect(() => nodefs.rmSync(`${dir}/deep/${"d/".repeat(3000)}f`)).toThrow();
    fs.removeTree(`${dir}/deep`);
    expect(nodefs.existsSync(`${dir}/deep`)).toBe(false);
  });

  test("writeFileAtomic replaces the content and leaves no temporary file", () => {
    fs.writeFileAtomic(`${dir}/state.json`, "{}", 0o600);
    fs.writeFileAtomic(`${dir}/state.json`, '{"a":1}', 0o600, true);
    expect(nodefs.readFileSync(`${dir}/state.json`, "utf8")).toBe('{"a":1}');
    expect(nodefs.readdirSync(dir)).toEqual(["state.json"]);
  });

  test("symlinks: lstat sees the link, stat and readlink its target", () => {
    fs.writeFile(`${dir}/t`, "t");
    fs.symlink("t", `${dir}/l`);
    expect(fs.lstat(`${dir}/l`).isSymbolicLink()).toBe(true);
    expect(fs.stat(`${dir}/l`).isFile()).toBe(true);
    expect(fs.readlink(`${dir}/l`)).toBe("t");
  });
});

describe("path", () => {
  test("agrees with node:path on the cases box uses", () => {
    const cases = ["/a/b/../c", "a//b/./c", "/../..", "../a/..", "/a/b/", ".", "", "a/../.."];
    for (const c of cases) expect(normalize(c)).toBe(c === "" ? "." : nodepath.posix.normalize(c).replace(/(.)\/$/, "$1"));
    expect(join("/a", "../b", "c")).toBe(nodepath.posix.join("/a", "../b", "c"));
    expect(join("/proc/self/fd/7", "..")).toBe("/proc/self/fd");
    expect(dirname("/a/b/c")).toBe("/a/b");
    expect(dirname("/a")).toBe("/");
    expect(basename("/sys/fs/cgroup/cpu,cpuacct")).toBe("cpu,cpuacct");
  });
});
