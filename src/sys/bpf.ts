// bpf(2) for cgroup v2's device access control: load a BPF_PROG_TYPE_CGROUP_DEVICE program and
// attach it to a cgroup. Through syscall(2), as openat2: glibc has no wrapper.
import { ptr } from "bun:ffi";
import { errno, libc } from "./libc.ts";
import { SyscallError } from "./errors.ts";

const SYS_bpf = 321; // x86_64
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
/** Programs of the cgroups above (systemd's, say) keep running too: every one must allow. */
const BPF_F_ALLOW_MULTI = 2;
/** The size of struct bpf_insn. */
export const BPF_INSN_SIZE = 8;
const LICENSE = Buffer.from("Apache\0");
/** Shown by bpftool: which programs are box's. */
const PROG_NAME = "box_devices";
const VERIFIER_LOG_SIZE = 1 << 16;

function bpf(cmd: number, name: string, attr: Buffer): number {
  const ret = Number(libc.syscall(SYS_bpf, cmd as never, attr, attr.length as never, null, null));
  if (ret === -1) throw new SyscallError("bpf", errno(), name);
  return ret;
}

/** union bpf_attr for BPF_PROG_LOAD, up to prog_name; the kernel takes a shorter attr as zeros. */
function loadAttr(insns: Buffer, log: Buffer | undefined): Buffer {
  const attr = Buffer.alloc(64);
  attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
  attr.writeUInt32LE(insns.length / BPF_INSN_SIZE, 4);
  attr.writeBigUInt64LE(BigInt(ptr(insns)), 8);
  attr.writeBigUInt64LE(BigInt(ptr(LICENSE)), 16);
  if (log) {
    attr.writeUInt32LE(1, 24); // log_level
    attr.writeUInt32LE(log.length, 28);
    attr.writeBigUInt64LE(BigInt(ptr(log)), 32);
  }
  attr.write(PROG_NAME, 48, "latin1");
  return attr;
}

/**
 * Loads a device program (struct bpf_insn, 8 bytes each); returns its fd (close-on-exec). A
 * refused program is loaded once more with a log buffer, so the error carries the verifier's
 * account; the errno stays the first attempt's (a short log would turn it into ENOSPC).
 */
export function loadDeviceProgram(insns: Buffer): number {
  try {
    return bpf(BPF_PROG_LOAD, "BPF_PROG_LOAD", loadAttr(insns, undefined));
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    const log = Buffer.alloc(VERIFIER_LOG_SIZE);
    try {
      return bpf(BPF_PROG_LOAD, "BPF_PROG_LOAD", loadAttr(insns, log));
    } catch {
      // Its last lines say why; the statistics line ("processed N insns ...") does not.
      const lines = log.toString("latin1", 0, Math.max(0, log.indexOf(0))).split("\n").filter((l) => l.trim() && !l.startsWith("processed "));
      if (lines.length) e.message += ` (verifier: ${lines.slice(-2).join("; ")})`;
      throw e;
    }
  }
}

/** Attaches a device program to the cgroup open at `cgroupFd`; the cgroup keeps it loaded from then on. */
export function attachDeviceProgram(cgroupFd: number, programFd: number): void {
  const attr = Buffer.alloc(16);
  attr.writeUInt32LE(cgroupFd, 0);
  attr.writeUInt32LE(programFd, 4);
  attr.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
  attr.writeUInt32LE(BPF_F_ALLOW_MULTI, 12);
  bpf(BPF_PROG_ATTACH, "BPF_PROG_ATTACH", attr);
}
