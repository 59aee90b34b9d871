/*
 * The exec shim: the last step of starting a process in a container. The spawn trampoline
 * (spawn.c) execs this, from a sealed memfd, instead of the payload (or a `box exec` command),
 * and this execs the payload.
 *
 * Why: an executable that names /proc/self/exe as its interpreter (`#!/proc/self/exe`) is run
 * with the binary of the process that execs it. Exec'd by box itself, that is box's binary on
 * the host, started inside the container, where another of its processes can open it through
 * /proc/PID/exe and, once it has exited, write to it: the host's box overwritten
 * (CVE-2019-5736). Exec'd from here, /proc/self/exe is this sealed copy of a few hundred bytes,
 * which nobody can change, and box's binary is never mapped in the container.
 *
 * argv: ERRFD N PATH1 .. PATHN ARGV0 ARGV1 ...: the payload's candidate paths (a $PATH search:
 * the next is tried while execve says ENOENT, ENOTDIR or EACCES, as execvp does) and its argv;
 * the environment is the payload's. A failure is reported as spawn.c reports one: {13, errno}
 * on ERRFD (or, ERRFD "-": one line on stderr), exit 127. Freestanding: no libc, raw system calls.
 */
#define SYS_write 1
#define SYS_fcntl 72
#define SYS_prctl 157
#define SYS_execve 59
#define SYS_exit_group 231
#define F_SETFD 2
#define FD_CLOEXEC 1
#define PR_SET_DUMPABLE 4
#define ENOENT 2
#define EACCES 13
#define ENOTDIR 20

static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

static long number(const char *s) {
  long n = 0;
  while (*s >= '0' && *s <= '9') n = n * 10 + (*s++ - '0');
  return n;
}

int shim_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  long errfd, npaths, r = -ENOENT, denied = 0;
  int report[2];
  int i;
  /* Until the payload's execve: this process holds the trampoline's error pipe. */
  sys3(SYS_prctl, PR_SET_DUMPABLE, 0, 0);
  if (argc < 3) return 127;
  errfd = number(argv[0]);
  npaths = number(argv[1]);
  if (npaths < 1 || 2 + npaths >= argc) return 127;
  if (argv[0][0] != '-') sys3(SYS_fcntl, errfd, F_SETFD, FD_CLOEXEC);
  for (i = 0; i < npaths && (i == 0 || r == -ENOENT || r == -ENOTDIR || r == -EACCES); i++) {
    if (r == -EACCES) denied = r;
    r = sys3(SYS_execve, (long)argv[2 + i], (long)(argv + 2 + npaths), (long)envp);
  }
  if ((r == -ENOENT || r == -ENOTDIR) && denied) r = denied;
  report[0] = 13;
  report[1] = (int)-r;
  if (argv[0][0] == '-') {
    static const char text[] = "box: execve of the container's process failed\n";
    sys3(SYS_write, 2, (long)text, sizeof(text) - 1);
  } else {
    sys3(SYS_write, errfd, (long)report, sizeof(report));
  }
  return 127;
}

__asm__(".global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call shim_main\n mov %eax, %edi\n mov $231, %eax\n syscall\n hlt\n");
