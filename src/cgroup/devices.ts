// Which device nodes a container may use: Docker's default allow-list. Without it, root in a
// container with CAP_MKNOD could create and open any host device (disks, /dev/kvm, ...).
// v1 writes the rules into the devices cgroup; v2 has no such controller, so the same rules are
// compiled into a BPF program attached to the container's cgroup (as runc and crun do).
import { close, open, writeFile } from "../sys/fs.ts";
import { attachDeviceProgram, BPF_INSN_SIZE, loadDeviceProgram } from "../sys/bpf.ts";
import { SyscallError } from "../sys/errors.ts";
import { O_DIRECTORY, O_RDONLY } from "../sys/constants.ts";
import { join } from "../path.ts";
import { detectCgroups } from "./detect.ts";

const DEFAULT_DEVICE_RULES = [
  "c *:* m", // mknod of any node is allowed, using it is not
  "b *:* m",
  "c 1:3 rwm", // null
  "c 1:5 rwm", // zero
  "c 1:7 rwm", // full
  "c 1:8 rwm", // random
  "c 1:9 rwm", // urandom
  "c 5:0 rwm", // tty
  "c 5:1 rwm", // console
  "c 5:2 rwm", // ptmx
  "c 136:* rwm", // pts
  "c 10:200 rwm", // net/tun
];

let enforced: boolean | undefined;

/**
 * True where box can enforce the allow-list: v1 with a devices controller, v2 where this process
 * may load a device program (root, a kernel with cgroup BPF). Where it cannot, the payload gets
 * no CAP_MKNOD instead.
 */
export function deviceRulesEnforced(): boolean {
  enforced ??= canEnforce();
  return enforced;
}

function canEnforce(): boolean {
  const layout = detectCgroups();
  if (layout.version === 1) return layout.hierarchies.some((h) => h.controllers.includes("devices"));
  try {
    close(loadDeviceProgram(compileDeviceRules(["allow a"])));
    return true;
  } catch (e) {
    if (e instanceof SyscallError) return false;
    throw e;
  }
}

/** Docker's: deny everything, then allow its list and `extra` (--device: `c 10:200 rwm`). */
export function dockerDeviceRules(extra: string[]): string[] {
  return ["deny a", ...defaultDeviceAllows(extra)];
}

/**
 * The nodes box makes in every container's /dev, usable whatever else is denied (as runc adds
 * them to a bundle's rules), and `extra`.
 */
export function defaultDeviceAllows(extra: string[]): string[] {
  return [...DEFAULT_DEVICE_RULES, ...extra].map((r) => `allow ${r}`);
}

/** v1: writes `allow RULE` / `deny RULE` entries, in order, into a new container's devices cgroup. */
export function applyDeviceRules(dir: string, rules: string[]): void {
  for (const entry of rules) {
    const space = entry.indexOf(" ");
    writeFile(join(dir, entry.slice(0, space) === "allow" ? "devices.allow" : "devices.deny"), entry.slice(space + 1));
  }
}

/** v2: attaches the rules, compiled, to a new container's cgroup at `dir`. */
export function applyDeviceRulesV2(dir: string, rules: string[]): void {
  const program = loadDeviceProgram(compileDeviceRules(rules));
  try {
    const cgroup = open(dir, O_DIRECTORY | O_RDONLY);
    try {
      attachDeviceProgram(cgroup, program);
    } finally {
      close(cgroup);
    }
  } finally {
    // The attachment holds the program now.
    close(program);
  }
}

// ---- v1's semantics, emulated ----

/** BPF_DEVCG_ACC_*, which are also v1's access bits. */
const ACCESS_BITS: Record<string, number> = { m: 1, r: 2, w: 4 };
const ALL_ACCESS = 7;
/** BPF_DEVCG_DEV_* */
const DEVICE_TYPES: Record<string, number> = { b: 1, c: 2 };

/** One exception to a devices cgroup's default; an undefined major or minor is `*`. */
export interface DeviceException {
  type: number;
  major: number | undefined;
  minor: number | undefined;
  access: number;
}

/** A devices cgroup as v1 keeps it: a default, and the exceptions to it. */
export interface DeviceState {
  allowByDefault: boolean;
  exceptions: DeviceException[];
}

type ParsedRule = { allow: boolean; every: true } | { allow: boolean; every: false; exception: DeviceException };

/** `allow a`, `deny c 1:3 rwm`, `allow b *:* m`, ... as devices.allow/devices.deny take them. */
function parseRule(entry: string): ParsedRule {
  const bad = (why: string) => new Error(`device rule "${entry}": ${why}`);
  const [verb, type, numbers, access, ...rest] = entry.split(" ");
  if (verb !== "allow" && verb !== "deny") throw bad('expected "allow" or "deny" first');
  const allow = verb === "allow";
  // As v1's parser: `a` means every device, whatever follows it.
  if (type === "a") return { allow, every: true };
  if (type === undefined || !(type in DEVICE_TYPES)) throw bad("the type must be a, c or b");
  const [major, minor, more] = (numbers ?? "").split(":");
  if (more !== undefined || rest.length) throw bad("expected TYPE MAJOR:MINOR ACCESS");
  if (!access || !/^[rwm]+$/.test(access)) throw bad("the access must be some of r, w, m");
  return {
    allow,
    every: false,
    exception: {
      type: DEVICE_TYPES[type]!,
      major: deviceNumber(major, bad),
      minor: deviceNumber(minor, bad),
      access: [...access].reduce((bits, c) => bits | ACCESS_BITS[c]!, 0),
    },
  };
}

function deviceNumber(text: string | undefined, bad: (why: string) => Error): number | undefined {
  if (text === "*") return undefined;
  // Below 2^31: the program compares it as a sign-extended 32-bit immediate.
  if (!text || !/^\d{1,10}$/.test(text) || Number(text) >= 2 ** 31) throw bad("a major or minor must be a number or *");
  return Number(text);
}

/**
 * The state v1 reaches by writing `rules` in order into a new cgroup. It starts as its parent,
 * box's: every device allowed. An `a` rule sets the default and drops every exception; another
 * rule against the default adds an exception (or widens one naming the same devices); a rule
 * agreeing with the default takes its access bits off the exception naming exactly the same
 * devices, if any (v1 punches no hole into a wider one).
 */
export function emulateDeviceRules(rules: string[]): DeviceState {
  let state: DeviceState = { allowByDefault: true, exceptions: [] };
  for (const entry of rules) {
    const rule = parseRule(entry);
    if (rule.every) {
      state = { allowByDefault: rule.allow, exceptions: [] };
      continue;
    }
    const ex = rule.exception;
    const same = state.exceptions.find((e) => e.type === ex.type && e.major === ex.major && e.minor === ex.minor);
    if (rule.allow !== state.allowByDefault) {
      if (same) same.access |= ex.access;
      else state.exceptions.push({ ...ex });
    } else if (same) {
      same.access &= ~ex.access;
      if (same.access === 0) state.exceptions.splice(state.exceptions.indexOf(same), 1);
    }
  }
  return state;
}

// ---- the BPF program ----

const LDX_MEM_W = 0x61;
const ALU64_AND_K = 0x57;
const ALU64_RSH_K = 0x77;
const ALU64_MOV_K = 0xb7;
const ALU64_MOV_X = 0xbf;
const JMP_JEQ_K = 0x15;
const JMP_JNE_K = 0x55;
const JMP_EXIT = 0x95;

interface Insn {
  code: number;
  dst: number;
  src?: number;
  off?: number;
  imm?: number;
}

/** Registers the prologue loads from struct bpf_cgroup_dev_ctx {u32 access_type, major, minor}. */
const R_TYPE = 2;
const R_ACCESS = 3;
const R_MAJOR = 4;
const R_MINOR = 5;
const R_SCRATCH = 1;

const PROLOGUE: Insn[] = [
  { code: LDX_MEM_W, dst: R_TYPE, src: 1, off: 0 },
  { code: ALU64_AND_K, dst: R_TYPE, imm: 0xffff },
  { code: LDX_MEM_W, dst: R_ACCESS, src: 1, off: 0 },
  { code: ALU64_RSH_K, dst: R_ACCESS, imm: 16 },
  { code: LDX_MEM_W, dst: R_MAJOR, src: 1, off: 4 },
  { code: LDX_MEM_W, dst: R_MINOR, src: 1, off: 8 },
];

function verdict(allow: boolean): Insn[] {
  return [
    { code: ALU64_MOV_K, dst: 0, imm: allow ? 1 : 0 },
    { code: JMP_EXIT, dst: 0 },
  ];
}

/**
 * The test of one exception; its jumps (off left out) skip to the next one. v1's matching: an
 * allow exception must grant every bit asked for, a deny exception applies if it names any.
 */
function exceptionBlock(ex: DeviceException, allowByDefault: boolean): Insn[] {
  const skip: Insn[] = [{ code: JMP_JNE_K, dst: R_TYPE, imm: ex.type }];
  if (ex.access !== ALL_ACCESS) {
    skip.push({ code: ALU64_MOV_X, dst: R_SCRATCH, src: R_ACCESS });
    skip.push(
      allowByDefault
        ? { code: ALU64_AND_K, dst: R_SCRATCH, imm: ex.access }
        : { code: ALU64_AND_K, dst: R_SCRATCH, imm: ALL_ACCESS & ~ex.access },
    );
    skip.push({ code: allowByDefault ? JMP_JEQ_K : JMP_JNE_K, dst: R_SCRATCH, imm: 0 });
  }
  if (ex.major !== undefined) skip.push({ code: JMP_JNE_K, dst: R_MAJOR, imm: ex.major });
  if (ex.minor !== undefined) skip.push({ code: JMP_JNE_K, dst: R_MINOR, imm: ex.minor });
  const block = [...skip, ...verdict(!allowByDefault)];
  return block.map((insn, i) => (insn.code === JMP_JNE_K || insn.code === JMP_JEQ_K ? { ...insn, off: block.length - i - 1 } : insn));
}

function encode(insns: Insn[]): Buffer {
  const out = Buffer.alloc(insns.length * BPF_INSN_SIZE);
  insns.forEach((insn, i) => {
    const at = i * BPF_INSN_SIZE;
    out.writeUInt8(insn.code, at);
    out.writeUInt8(insn.dst | ((insn.src ?? 0) << 4), at + 1);
    out.writeInt16LE(insn.off ?? 0, at + 2);
    out.writeInt32LE(insn.imm ?? 0, at + 4);
  });
  return out;
}

/**
 * The rules as a BPF_PROG_TYPE_CGROUP_DEVICE program (struct bpf_insn[]) that decides as a v1
 * devices cgroup holding them would: 1 allows the access, 0 denies it.
 */
export function compileDeviceRules(rules: string[]): Buffer {
  const { allowByDefault, exceptions } = emulateDeviceRules(rules);
  return encode([...PROLOGUE, ...exceptions.flatMap((ex) => exceptionBlock(ex, allowByDefault)), ...verdict(allowByDefault)]);
}
