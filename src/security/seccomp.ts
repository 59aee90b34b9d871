// Seccomp filters: Docker's default profile (the same allowed calls, the same argument checks
// and capability-dependent calls) and Docker's JSON profile format, compiled to classic BPF
// here, loaded by the spawn trampoline just before the payload's capabilities are dropped.
// Refused calls fail with EPERM (Docker's defaultErrnoRet), they do not kill.
import { UserError } from "../container/errors.ts";
import { kernelRelease } from "../sys/kernel.ts";
import { SYSCALLS_X86_64 } from "./syscalls-x86_64.ts";
import { DEFAULT_CAPABILITIES } from "./capabilities.ts";

const RET_KILL_PROCESS = 0x80000000;
const RET_KILL_THREAD = 0;
const RET_TRAP = 0x00030000;
const RET_ERRNO = 0x00050000;
const RET_LOG = 0x7ffc0000;
const RET_USER_NOTIF = 0x7fc00000;
const RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;
const AUDIT_ARCH_X86_64 = 0xc000003e;
/** x32 calls are x86_64 numbers with this bit; Docker allows them as a sub-architecture, box does not. */
const X32_SYSCALL_BIT = 0x40000000;
/** The highest call number box knows (its table is Linux 6.1's). */
const LAST_KNOWN = Math.max(...Object.values(SYSCALLS_X86_64));

export type Op = "EQ" | "NE" | "LT" | "LE" | "GT" | "GE" | "MASKED_EQ";

export interface ArgCheck {
  index: number;
  op: Op;
  value: bigint;
  /** MASKED_EQ: what (arg & value) must equal. */
  valueTwo: bigint;
  /** Only the low 32 bits (an int argument: the kernel ignores the rest). */
  low32?: boolean;
}

/** One rule: this call, when every check holds, gets this action (a SECCOMP_RET_* value). */
export interface Rule {
  nr: number;
  checks: ArgCheck[];
  action: number;
}

export interface Filter {
  rules: Rule[];
  defaultAction: number;
}

// ---- classic BPF ----

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGT_K = 0x25;
const JGE_K = 0x35;
const AND_K = 0x54;
const RET_K = 0x06;

type Target = number | "next" | "pass";
interface Insn {
  code: number;
  jt: Target;
  jf: Target;
  k: number;
}

const ld = (offset: number): Insn => ({ code: LD_W_ABS, jt: 0, jf: 0, k: offset });
const jmp = (code: number, k: number, jt: Target, jf: Target): Insn => ({ code, jt, jf, k: k >>> 0 });
const and = (k: number): Insn => ({ code: AND_K, jt: 0, jf: 0, k: k >>> 0 });
const ret = (k: number): Insn => ({ code: RET_K, jt: 0, jf: 0, k: k >>> 0 });

/** struct seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8i (little endian: low word first). */
const argLow = (i: number) => 16 + 8 * i;
const argHigh = (i: number) => 20 + 8 * i;

/** The instructions of one check: fall through ("pass") when it holds, jump to "next" rule when not. */
function checkCode(c: ArgCheck): Insn[] {
  const lo = Number(c.value & 0xffffffffn);
  const hi = Number((c.value >> 32n) & 0xffffffffn);
  const lo2 = Number(c.valueTwo & 0xffffffffn);
  const hi2 = Number((c.valueTwo >> 32n) & 0xffffffffn);
  const low: Insn[] = (() => {
    switch (c.op) {
      case "EQ": return [ld(argLow(c.index)), jmp(JEQ_K, lo, "pass", "next")];
      case "NE": return [ld(argLow(c.index)), jmp(JEQ_K, lo, "next", "pass")];
      case "MASKED_EQ": return [ld(argLow(c.index)), and(lo), jmp(JEQ_K, lo2, "pass", "next")];
      case "GT": return [ld(argLow(c.index)), jmp(JGT_K, lo, "pass", "next")];
      case "GE": return [ld(argLow(c.index)), jmp(JGE_K, lo, "pass", "next")];
      case "LT": return [ld(argLow(c.index)), jmp(JGE_K, lo, "next", "pass")];
      case "LE": return [ld(argLow(c.index)), jmp(JGT_K, lo, "next", "pass")];
    }
  })();
  if (c.low32) return low;
  // 64 bits: the high words decide unless they are equal; then the low words do.
  const high = ld(argHigh(c.index));
  switch (c.op) {
    case "EQ": return [high, jmp(JEQ_K, hi, 0, "next"), ...low];
    case "NE": return [high, jmp(JEQ_K, hi, 0, "pass"), ...low];
    case "MASKED_EQ": return [high, and(hi), jmp(JEQ_K, hi2, 0, "next"), ...low];
    case "GT":
    case "GE": return [high, jmp(JGT_K, hi, "pass", 0), jmp(JEQ_K, hi, 0, "next"), ...low];
    case "LT":
    case "LE": return [high, jmp(JGE_K, hi, 0, "pass"), jmp(JEQ_K, hi, 0, "next"), ...low];
  }
}

/** Resolves "pass" (the end of the check) within a check's code, then "next" within the rule's. */
function resolve(code: Insn[], label: "pass" | "next"): Insn[] {
  return code.map((insn, i) => {
    const to = (t: Target): Target => (t === label ? code.length - i - 1 : t);
    return { ...insn, jt: to(insn.jt), jf: to(insn.jf) };
  });
}

/** `action` for every number in `nrs`, as runs of consecutive numbers (the accumulator holds the number). */
function rangeCode(nrs: number[], action: number): Insn[] {
  const sorted = [...nrs].sort((a, b) => a - b);
  const code: Insn[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const [first, last] = [sorted[i]!, sorted[j]!];
    if (first === last) code.push(jmp(JEQ_K, first, 0, 1), ret(action));
    else code.push(jmp(JGE_K, first, 0, 2), jmp(JGT_K, last, 1, 0), ret(action));
    i = j + 1;
  }
  return code;
}

/** The filter as struct sock_filter[] (8 bytes each), ready for seccomp(SECCOMP_SET_MODE_FILTER). */
export function compile(f: Filter): Buffer {
  // Another architecture's calls (i386 through int 0x80) and x32 calls have other numbers: no
  // rule here is about them, and letting them take the default action would let a deny-list
  // profile be bypassed. They end the process.
  const code: Insn[] = [
    ld(4),
    jmp(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
    ret(RET_KILL_PROCESS),
    ld(0),
    jmp(JGE_K, X32_SYSCALL_BIT, 0, 1),
    ret(RET_KILL_PROCESS),
  ];
  // Calls newer than box's table: ENOSYS (as runc), so that C libraries fall back to older
  // calls, unless the profile lets everything it does not name through.
  if (f.defaultAction !== RET_ALLOW) code.push(jmp(JGT_K, LAST_KNOWN, 0, 1), ret(RET_ERRNO | ENOSYS));
  // A call that only one rule names, without checks, can be decided before all others: such
  // rules become ranges of consecutive numbers per action (Docker's profile: ~290 calls in ~30
  // ranges), which keeps the program short; the kernel checks, translates and analyses every
  // instruction of it at each container start (~640 instructions cost ~1 ms there).
  const named = new Map<number, number>();
  for (const r of f.rules) named.set(r.nr, (named.get(r.nr) ?? 0) + 1);
  const free = f.rules.filter((r) => !r.checks.length && named.get(r.nr) === 1);
  for (const act of new Set(free.map((r) => r.action))) code.push(...rangeCode(free.filter((r) => r.action === act).map((r) => r.nr), act));
  // The rest in the profile's order (the first rule that matches decides). After a rule with
  // checks the accumulator holds an argument: the call's number is loaded again.
  let dirty = false;
  const freeSet = new Set(free);
  for (const r of f.rules.filter((r) => !freeSet.has(r))) {
    const body = [...r.checks.flatMap((c) => resolve(checkCode(c), "pass")), ret(r.action)];
    if (dirty) code.push(ld(0));
    code.push(...resolve([jmp(JEQ_K, r.nr, 0, "next"), ...body], "next"));
    dirty = r.checks.length > 0;
  }
  code.push(ret(f.defaultAction));
  if (code.length > 4096) throw new UserError(`the seccomp profile is too large (${code.length} BPF instructions, at most 4096)`);
  const out = Buffer.alloc(code.length * 8);
  code.forEach((insn, i) => {
    for (const j of [insn.jt, insn.jf]) if (typeof j !== "number" || j > 255) throw new UserError(`the seccomp profile has a rule too large to compile (instruction ${i})`);
    out.writeUInt16LE(insn.code, i * 8);
    out.writeUInt8(insn.jt as number, i * 8 + 2);
    out.writeUInt8(insn.jf as number, i * 8 + 3);
    out.writeUInt32LE(insn.k, i * 8 + 4);
  });
  return out;
}

// ---- Docker's default profile ----

/** Allowed to every container. */
const ALWAYS = `accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown
  clock_adjtime clock_getres clock_gettime clock_nanosleep close close_range connect copy_file_range
  creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2
  epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2
  fadvise64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchownat fcntl fdatasync fgetxattr
  flistxattr flock fork fremovexattr fsetxattr fstat fstatfs fsync ftruncate futex futex_waitv
  futimesat getcpu getcwd getdents getdents64 getegid geteuid getgid getgroups getitimer getpeername
  getpgid getpgrp getpid getppid getpriority getrandom getresgid getresuid getrlimit get_robust_list
  getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getxattr
  inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy
  io_getevents io_pgetevents ioprio_get ioprio_set io_setup io_submit kill landlock_add_rule landlock_create_ruleset
  landlock_restrict_self lchown lgetxattr link linkat listen listxattr llistxattr lremovexattr lseek
  lsetxattr lstat madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat
  mlock mlock2 mlockall mmap mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend
  mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at
  nanosleep newfstatat open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc
  pkey_free pkey_mprotect poll ppoll prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6
  pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recvfrom recvmmsg recvmsg
  remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction
  rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
  rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
  sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_setaffinity sched_setattr
  sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop sendfile
  sendmmsg sendmsg sendto setfsgid setfsuid setgid setgroups setitimer setpgid setpriority setregid
  setresgid setresuid setreuid setrlimit set_robust_list setsid setsockopt set_thread_area
  set_tid_address setuid setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4
  socketpair splice stat statfs statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill
  time timer_create timer_delete timer_getoverrun timer_gettime timer_settime timerfd_create
  timerfd_gettime timerfd_settime times tkill truncate umask uname unlink unlinkat utime utimensat
  utimes vfork vmsplice wait4 waitid write writev arch_prctl modify_ldt process_vm_readv
  process_vm_writev ptrace`.split(/\s+/);

/** Allowed only with a capability (Docker's "includes": caps). */
const WITH_CAPABILITY: Record<string, string[]> = {
  DAC_READ_SEARCH: ["open_by_handle_at"],
  SYS_ADMIN: [
    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount",
    "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
    "sethostname", "setns", "syslog", "umount2", "unshare",
  ],
  SYS_BOOT: ["reboot"],
  SYS_CHROOT: ["chroot"],
  SYS_MODULE: ["delete_module", "init_module", "finit_module"],
  SYS_PACCT: ["acct"],
  SYS_PTRACE: ["kcmp", "pidfd_getfd", "process_madvise"],
  SYS_RAWIO: ["iopl", "ioperm"],
  SYS_TIME: ["settimeofday", "clock_settime"],
  SYS_TTY_CONFIG: ["vhangup"],
  SYS_NICE: ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
  SYSLOG: ["syslog"],
  BPF: ["bpf"],
  PERFMON: ["perf_event_open"],
};

const AF_VSOCK = 40n;
/** personality(): PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query 0xffffffff. */
const PERSONALITIES = [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn];
/** clone's namespace flags: only with CAP_SYS_ADMIN. */
const CLONE_NAMESPACES = 0x7e020000n;

function nr(name: string): number | undefined {
  return SYSCALLS_X86_64[name];
}

const allow = (name: string, checks: ArgCheck[] = []): Rule[] => {
  const n = nr(name);
  return n === undefined ? [] : [{ nr: n, checks, action: RET_ALLOW }];
};

/** The capabilities that change the default profile, of these. */
function profileKey(capabilities: string[]): string {
  return capabilities.filter((c) => c in WITH_CAPABILITY).sort().join(",");
}

/**
 * The compiled default profile (base64): built into box for Docker's default capabilities (the
 * usual case), compiled here for any other set.
 */
export function defaultFilterCompiled(capabilities: string[], prebuilt: string): string {
  if (profileKey(capabilities) === profileKey(DEFAULT_CAPABILITIES)) return prebuilt;
  return compile(defaultFilter(capabilities)).toString("base64");
}

/** The calls Docker's default profile allows outright for a payload with these capabilities. */
function defaultNames(capabilities: string[]): string[] {
  return [...new Set([...ALWAYS, ...capabilities.flatMap((c) => WITH_CAPABILITY[c] ?? [])])].filter((n) => nr(n) !== undefined);
}

/**
 * The default profile's calls with conditions, in one place for both of its forms (box's filter
 * and the JSON the benchmark gives runc and crun): allowed when argument 0 passes `check`
 * (`int`: a C int, whose high word the kernel ignores), or refused with `errno`.
 */
function defaultArgumentRules(capabilities: string[]): Array<{ name: string; check?: { op: Op; value: bigint; int: boolean }; errno?: number }> {
  const rules: ReturnType<typeof defaultArgumentRules> = [
    { name: "socket", check: { op: "NE", value: AF_VSOCK, int: true } },
    ...PERSONALITIES.map((p) => ({ name: "personality", check: { op: "EQ" as Op, value: p, int: true } })),
  ];
  if (!capabilities.includes("SYS_ADMIN")) {
    rules.push({ name: "clone", check: { op: "MASKED_EQ", value: CLONE_NAMESPACES, int: false } });
    // ENOSYS, not EPERM: the C library then falls back to clone, which is checked above.
    rules.push({ name: "clone3", errno: ENOSYS });
  }
  return rules;
}

/** Docker's default profile for a payload with these capabilities. */
export function defaultFilter(capabilities: string[]): Filter {
  const rules = defaultNames(capabilities).flatMap((n) => allow(n));
  for (const r of defaultArgumentRules(capabilities)) {
    if (r.check) rules.push(...allow(r.name, [{ index: 0, op: r.check.op, value: r.check.value, valueTwo: 0n, ...(r.check.int ? { low32: true } : {}) }]));
    else rules.push({ nr: nr(r.name)!, checks: [], action: RET_ERRNO | r.errno! });
  }
  return { rules, defaultAction: RET_ERRNO | EPERM };
}

/**
 * The same default profile in the OCI runtime spec's format (Docker's JSON, as runc and crun
 * take it in config.json): the benchmark gives it to them, so that all three filter alike.
 */
export function defaultProfileJson(capabilities: string[]): object {
  const syscalls: object[] = [
    { names: defaultNames(capabilities), action: "SCMP_ACT_ALLOW" },
    ...defaultArgumentRules(capabilities).map((r) =>
      r.check
        ? { names: [r.name], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: Number(r.check.value), valueTwo: 0, op: `SCMP_CMP_${r.check.op}` }] }
        : { names: [r.name], action: "SCMP_ACT_ERRNO", errnoRet: r.errno },
    ),
  ];
  return { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: EPERM, architectures: ["SCMP_ARCH_X86_64"], syscalls };
}

// ---- Docker's JSON profiles ----

interface JsonProfile {
  defaultAction?: string;
  defaultErrnoRet?: number;
  syscalls?: Array<{
    names?: string[];
    name?: string;
    action?: string;
    errnoRet?: number;
    args?: Array<{ index: number; value: unknown; valueTwo?: unknown; op: string }>;
    includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
    excludes?: { caps?: string[]; arches?: string[] };
  }>;
}

function action(name: string | undefined, errnoRet: number | undefined, where: string, notify: boolean): number {
  switch (name) {
    case "SCMP_ACT_NOTIFY":
      if (!notify) throw new UserError(`seccomp profile: SCMP_ACT_NOTIFY in ${where} needs a seccomp agent (an OCI bundle's listenerPath); box run has none`);
      return RET_USER_NOTIF;
    case "SCMP_ACT_ALLOW": return RET_ALLOW;
    case "SCMP_ACT_ERRNO": return RET_ERRNO | ((errnoRet ?? EPERM) & 0xffff);
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD": return RET_KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS": return RET_KILL_PROCESS;
    case "SCMP_ACT_TRAP": return RET_TRAP;
    case "SCMP_ACT_LOG": return RET_LOG;
    default: throw new UserError(`seccomp profile: unsupported action ${JSON.stringify(name)} in ${where}`);
  }
}

const OPS: Record<string, Op> = { SCMP_CMP_EQ: "EQ", SCMP_CMP_NE: "NE", SCMP_CMP_LT: "LT", SCMP_CMP_LE: "LE", SCMP_CMP_GT: "GT", SCMP_CMP_GE: "GE", SCMP_CMP_MASKED_EQ: "MASKED_EQ" };

/** Whether an entry's "includes"/"excludes" (caps, arches, minKernel) leave it in for this payload. */
function applies(s: NonNullable<JsonProfile["syscalls"]>[number], capabilities: string[]): boolean {
  const caps = (list: string[] | undefined) => (list ?? []).map((c) => c.replace(/^CAP_/, ""));
  const ours = (arches: string[] | undefined) => (arches ?? []).some((a) => ["amd64", "x86_64", "SCMP_ARCH_X86_64"].includes(a));
  if (s.includes?.caps && !caps(s.includes.caps).every((c) => capabilities.includes(c))) return false;
  if (s.excludes?.caps && caps(s.excludes.caps).some((c) => capabilities.includes(c))) return false;
  if (s.includes?.arches && !ours(s.includes.arches)) return false;
  if (s.excludes?.arches && ours(s.excludes.arches)) return false;
  if (s.includes?.minKernel && kernelBelow(s.includes.minKernel)) return false;
  return true;
}

function kernelBelow(min: string): boolean {
  const [major = 0, minor = 0] = kernelRelease().split(".").map((n) => parseInt(n, 10));
  const [wantMajor = 0, wantMinor = 0] = min.split(".").map((n) => parseInt(n, 10));
  return major < wantMajor || (major === wantMajor && minor < wantMinor);
}

function integer(v: unknown, where: string): bigint {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new UserError(`seccomp profile: ${JSON.stringify(v)} in ${where} is no integer box can read exactly (0 to 2^53)`);
  return BigInt(v);
}

/**
 * A profile in Docker's format (defaultAction, syscalls with names, action, errnoRet, args,
 * includes/excludes of caps, arches and minKernel). As runc: several checks of one argument
 * make several rules (any of them may match); the others in an entry must all hold.
 */
export function profileFilter(text: string, capabilities: string[], notify = false): Filter {
  let p: JsonProfile;
  try {
    p = JSON.parse(text) as JsonProfile;
  } catch (e) {
    throw new UserError(`seccomp profile: not valid JSON (${(e as Error).message})`);
  }
  if (typeof p !== "object" || p === null || Array.isArray(p)) throw new UserError("seccomp profile: not a JSON object");
  const rules: Rule[] = [];
  for (const [i, s] of (p.syscalls ?? []).entries()) {
    const where = `syscalls[${i}]`;
    if (!applies(s, capabilities)) continue;
    const checks = (s.args ?? []).map((a): ArgCheck => {
      const op = OPS[a.op];
      if (!op || !Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new UserError(`seccomp profile: bad argument check in ${where}`);
      return { index: a.index, op, value: integer(a.value, where), valueTwo: integer(a.valueTwo ?? 0, where) };
    });
    const repeated = checks.filter((c) => checks.filter((d) => d.index === c.index).length > 1);
    const single = checks.filter((c) => !repeated.includes(c));
    const alternatives = repeated.length ? repeated.map((c) => [...single, c]) : [checks];
    // Docker: an entry's errnoRet, else EPERM (defaultErrnoRet is for the default action only).
    const act = action(s.action, s.errnoRet, where, notify);
    // Names this kernel's table lacks (other architectures', newer calls) are skipped, as Docker does.
    for (const name of [...(s.names ?? []), ...(s.name ? [s.name] : [])]) {
      const n = nr(name);
      // The process itself hands its listener to the agent with sendmsg, after the filter is in:
      // notified, that call would wait for an agent that has nothing yet (runc refuses write so).
      if (act === RET_USER_NOTIF && name === "sendmsg") throw new UserError(`seccomp profile: SCMP_ACT_NOTIFY cannot be used for sendmsg (${where}): the process sends its listener to the agent with it`);
      if (n !== undefined) for (const c of alternatives) rules.push({ nr: n, checks: c, action: act });
    }
  }
  if (p.defaultAction === "SCMP_ACT_NOTIFY") throw new UserError("seccomp profile: SCMP_ACT_NOTIFY cannot be the default action");
  return { rules, defaultAction: action(p.defaultAction ?? "SCMP_ACT_ALLOW", p.defaultErrnoRet, "defaultAction", false) };
}

/**
 * seccomp(2)'s filter flags a profile may name (an OCI bundle's linux.seccomp.flags). TSYNC needs
 * nothing: the process that loads the filter is one thread.
 */
export const SECCOMP_FILTER_FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 0,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};

/** Whether a filter hands syscalls to a seccomp agent (it then needs a listener). */
export function notifies(filter: Filter): boolean {
  return filter.rules.some((r) => r.action === RET_USER_NOTIF);
}
