// Device access control: the rules compiled into a cgroup v2 device program (run here by a small
// BPF interpreter, against v1's semantics), the kernel's verifier on them, and real containers on
// whatever this host has (v1's devices cgroup here, the BPF program in the cgroup2 VM).
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileDeviceRules, dockerDeviceRules, emulateDeviceRules } from "../src/cgroup/devices.ts";
import { loadDeviceProgram } from "../src/sys/bpf.ts";
import { close } from "../src/sys/fs.ts";
import { BOX, copyRootfs, sh, storePerTest, tempStore, type Result, type Store } from "./helpers/box.ts";

const ACCESS: Record<string, number> = { m: 1, r: 2, w: 4 };

/**
 * Runs a device program as the kernel would for one access (`c 1:3 rw`): true if it allows it.
 * Knows the instructions the compiler emits, and nothing else.
 */
function decide(program: Buffer, request: string): boolean {
  const [type, numbers, access] = request.split(" ");
  const [major, minor] = numbers!.split(":").map(Number);
  const ctx = [(type === "b" ? 1 : 2) | ([...access!].reduce((a, c) => a | ACCESS[c]!, 0) << 16), major!, minor!];
  const reg = new Array<number>(11).fill(0);
  reg[1] = -1; // the context pointer: only read through
  for (let pc = 0, steps = 0; steps < 4096; pc++, steps++) {
    const code = program[pc * 8]!;
    const dst = program[pc * 8 + 1]! & 0xf;
    const src = program[pc * 8 + 1]! >> 4;
    const off = program.readInt16LE(pc * 8 + 2);
    const imm = program.readInt32LE(pc * 8 + 4);
    if (code === 0x61) {
      expect(src).toBe(1);
      reg[dst] = ctx[off / 4]!;
    } else if (code === 0x57) reg[dst] = (reg[dst]! & imm) >>> 0;
    else if (code === 0x77) reg[dst] = reg[dst]! >>> imm;
    else if (code === 0xb7) reg[dst] = imm;
    else if (code === 0xbf) reg[dst] = reg[src]!;
    else if (code === 0x55) pc += reg[dst] !== imm ? off : 0;
    else if (code === 0x15) pc += reg[dst] === imm ? off : 0;
    else if (code === 0x95) return reg[0] === 1;
    else throw new Error(`unexpected opcode 0x${code.toString(16)} at ${pc}`);
  }
  throw new Error("no exit");
}

/** Which of `requests` the rules allow. */
function allowed(rules: string[], requests: string[]): string[] {
  const program = compileDeviceRules(rules);
  return requests.filter((r) => decide(program, r));
}

describe("the device rules compiled (no kernel)", () => {
  test("Docker's list: the default nodes, pts and tun usable; anything may be made, nothing else used", () => {
    const requests = ["c 1:3 rw", "c 1:9 r", "c 5:2 rw", "c 136:7 rw", "c 10:200 rw", "c 1:1 m", "b 8:0 m", "c 1:1 r", "c 10:232 rw", "b 8:0 r", "b 1:3 r", "c 1:11 w"];
    expect(allowed(dockerDeviceRules([]), requests)).toEqual(["c 1:3 rw", "c 1:9 r", "c 5:2 rw", "c 136:7 rw", "c 10:200 rw", "c 1:1 m", "b 8:0 m"]);
    // --device /dev/kmsg:...:r adds an exception for reading only.
    expect(allowed(dockerDeviceRules(["c 1:11 r"]), ["c 1:11 r", "c 1:11 w", "c 1:11 rw"])).toEqual(["c 1:11 r"]);
  });

  test("the default comes from the `a` rule; with none, a new cgroup allows everything as its parent", () => {
    const requests = ["c 1:3 r", "b 8:0 rwm"];
    expect(allowed(["deny a"], requests)).toEqual([]);
    expect(allowed(["allow a"], requests)).toEqual(requests);
    expect(allowed([], requests)).toEqual(requests);
    expect(allowed(["deny c 1:11 rwm"], ["c 1:11 w", "c 1:3 r"])).toEqual(["c 1:3 r"]);
    // An `a` rule later on starts over.
    expect(allowed(["deny a", "allow c 1:3 rwm", "allow a", "deny b *:* rwm"], ["c 1:3 r", "c 1:11 w", "b 8:0 r", "b 8:0 m"])).toEqual(["c 1:3 r", "c 1:11 w"]);
  });

  test("an allow exception must grant every bit asked for; a deny exception denies any bit it names", () => {
    expect(allowed(["deny a", "allow c 1:11 r", "allow c 1:11 m"], ["c 1:11 r", "c 1:11 m", "c 1:11 rw", "c 1:11 w"])).toEqual(["c 1:11 r", "c 1:11 m"]);
    expect(allowed(["allow a", "deny c 1:11 w"], ["c 1:11 r", "c 1:11 rw", "c 1:11 w", "c 1:12 w"])).toEqual(["c 1:11 r", "c 1:12 w"]);
  });

  test("later rules override earlier ones as in v1's list: on the same devices, not inside a wider rule", () => {
    expect(allowed(["deny a", "allow c 1:11 rwm", "deny c 1:11 w"], ["c 1:11 r", "c 1:11 m", "c 1:11 w", "c 1:11 rw"])).toEqual(["c 1:11 r", "c 1:11 m"]);
    expect(allowed(["allow a", "deny c 1:* rwm", "allow c 1:* rw"], ["c 1:3 r", "c 1:3 m"])).toEqual(["c 1:3 r"]);
    // v1 punches no hole into a wildcard: the deny names other devices than the allow.
    expect(allowed(["deny a", "allow c *:* rwm", "deny c 1:11 rwm"], ["c 1:11 rw"])).toEqual(["c 1:11 rw"]);
    expect(emulateDeviceRules(["deny a", "allow c 1:3 r", "allow c 1:3 w", "allow c 136:* rwm", "deny c 136:* rwm"])).toEqual({
      allowByDefault: false,
      exceptions: [{ type: 2, major: 1, minor: 3, access: 6 }],
    });
  });

  test("malformed rules are refused by name", () => {
    for (const rule of ["permit a", "allow x 1:3 rwm", "allow c 1:3", "allow c 1 rwm", "allow c 1:3 rwx", "allow c 1:3:4 rwm", "allow c -1:3 rwm", "allow c 1:3 rwm extra", "allow c 4294967295:0 r"]) {
      expect(() => compileDeviceRules(["deny a", rule])).toThrow(`device rule "${rule}"`);
    }
  });
});

describe("the kernel's verifier", () => {
  test("accepts the programs; a refused one's error names the call, the errno and what the verifier said", () => {
    for (const rules of [dockerDeviceRules(["c 1:11 r", "b 7:* rw"]), ["allow a", "deny c 1:11 w"], ["deny a"], []]) {
      close(loadDeviceProgram(compileDeviceRules(rules)));
    }
    // The program without its final exit: it runs off its end.
    const bad = compileDeviceRules(["deny a"]).subarray(0, -8);
    expect(() => loadDeviceProgram(bad)).toThrow(/^bpf BPF_PROG_LOAD: EINVAL \(verifier: .+\)$/);
  });
});

describe("containers", () => {
  /** A store laid out as box oci's --root, which box run can use too. */
  const t = storePerTest((): Store => {
    const s = tempStore();
    return { ...s, runroot: join(s.root, "run") };
  });

  test("box run: a node may be made but only the allowed ones used; --privileged uses anything", async () => {
    // mem (1:1) and kmsg (1:11) are in no rule: making them (m) is, using them is not. Opening
    // mem also needs CAP_SYS_RAWIO, which the payload lacks; opening kmsg for writing needs nothing.
    const script = "mknod /dev/x c 1 1 && echo made; head -c1 /dev/x | wc -c; mknod /dev/k c 1 11 && (exec 3>/dev/k); echo x > /dev/null && echo null-ok";
    const r = await sh(t.s, script, ["--network", "none"]);
    expect(r.stdout).toBe("made\n0\nnull-ok\n");
    expect(r.stderr.split("\n")).toEqual(["head: /dev/x: Operation not permitted", "/bin/sh: can't create /dev/k: Operation not permitted", ""]);
    // No rules at all: kmsg (1:11, in no rule either) opens for writing (nothing is written).
    const privileged = await sh(t.s, "mknod /dev/k c 1 11 && (exec 3>/dev/k) && echo kmsg-opened", ["--network", "none", "--privileged"]);
    expect(privileged.stderr).toBe("");
    expect(privileged.stdout).toBe("kmsg-opened\n");
  });

  /** `box oci run` of the busybox rootfs with /dev/kmsg made, `devices` its linux.resources.devices. */
  async function kmsgBundle(devices: object[]): Promise<Result> {
    const dir = join(t.s.dir, `bundle-${Math.random().toString(36).slice(2, 8)}`);
    mkdirSync(dir);
    const spec = await oci(t.s, ["spec", "--bundle", dir]);
    expect(spec.code).toBe(0);
    symlinkSync(copyRootfs(t.s), join(dir, "rootfs"));
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    config.process.terminal = false;
    // A debug-level line in the host's kernel log when it is let through.
    config.process.args = ["/bin/sh", "-c", "echo '<7>box test: device filter' > /dev/kmsg && echo written"];
    config.linux.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o600 }];
    config.linux.resources = { devices };
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    // An id of its own: the cgroup box/<id> is the host's, whoever else runs tests.
    return oci(t.s, ["run", "--bundle", dir, `devfilter-${Math.random().toString(36).slice(2, 10)}`]);
  }

  test("box oci: a node linux.devices made is usable only as linux.resources.devices allows", async () => {
    const denied = await kmsgBundle([{ allow: false, access: "rwm" }]);
    expect(denied.stdout).toBe("");
    expect(denied.stderr).toContain("/dev/kmsg: Operation not permitted");
    expect(denied.code).toBe(1);
    const allowedRun = await kmsgBundle([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 11, access: "w" }]);
    expect(allowedRun.stderr).toBe("");
    expect(allowedRun.stdout).toBe("written\n");
    expect(allowedRun.code).toBe(0);
  });
});

let calls = 0;

/** One box oci command, its stdio files as a shim gives them (the container's init holds them). */
async function oci(s: Store, args: string[]): Promise<Result> {
  const out = join(s.dir, `call-${++calls}`);
  const proc = Bun.spawn([...BOX, "oci", "--root", s.root, ...args], { stdin: "ignore", stdout: Bun.file(`${out}.stdout`), stderr: Bun.file(`${out}.stderr`) });
  const code = await proc.exited;
  return { code, stdout: readFileSync(`${out}.stdout`, "utf8"), stderr: readFileSync(`${out}.stderr`, "utf8") };
}
