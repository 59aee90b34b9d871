/*
 * What each defence against CVE-2019-5736 (a container overwriting the runtime's binary through
 * /proc/PID/exe) costs per container start, measured the same way in one run:
 *   copy   - a sealed memfd copy of the whole binary (runc 1.0-rc6's fix), per start;
 *   robind - a read-only bind mount of the binary in a private mount namespace (mount, remount
 *            read-only, unmount), per start;
 *   direct - fork + execve of /bin/true, the baseline;
 *   shim   - fork + execveat of box's exec shim from a sealed memfd, which execs /bin/true
 *            (box's way: the payload's exec gets one more, tiny, hop).
 * argv: BINARY SHIM_FILE RUNS. Prints "NAME MEDIAN_MICROSECONDS" per line. Freestanding (no libc
 * headers needed to build it), like box's own C.
 */
#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_sendfile 40
#define SYS_clone 56
#define SYS_execve 59
#define SYS_exit_group 231
#define SYS_wait4 61
#define SYS_fcntl 72
#define SYS_mount 165
#define SYS_umount2 166
#define SYS_unshare 272
#define SYS_clock_gettime 228
#define SYS_memfd_create 319
#define SYS_execveat 322
#define SIGCHLD 17
#define CLONE_NEWNS 0x20000
#define MS_RDONLY 1
#define MS_REMOUNT 32
#define MS_BIND 4096
#define MS_REC 16384
#define MS_PRIVATE (1 << 18)
#define MNT_DETACH 2
#define MFD_CLOEXEC 1
#define MFD_ALLOW_SEALING 2
#define F_ADD_SEALS 1033
#define AT_EMPTY_PATH 0x1000
#define MAX_RUNS 1000

static long sys6(long n, long a, long b, long c, long d, long e) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
  return r;
}
#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0)

struct timespec { long sec, nsec; };

static long now_ns(void) {
  struct timespec t;
  sys(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, &t, 0);
  return t.sec * 1000000000L + t.nsec;
}

static long number(const char *s) {
  long n = 0;
  while (*s >= '0' && *s <= '9') n = n * 10 + (*s++ - '0');
  return n;
}

static void print(const char *name, long value) {
  char buf[64];
  int i = 0, j;
  char digits[24];
  int k = 0;
  while (name[i]) buf[i] = name[i], i++;
  buf[i++] = ' ';
  do digits[k++] = '0' + value % 10, value /= 10; while (value);
  for (j = k - 1; j >= 0; j--) buf[i++] = digits[j];
  buf[i++] = '\n';
  sys(SYS_write, 1, buf, i);
}

static long median_us(long *v, int n) {
  int i, j;
  for (i = 1; i < n; i++)
    for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
      long t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[n / 2] / 1000;
}

static long samples[MAX_RUNS];

static long run_child(int shim, char **argv, char **envp) {
  long pid = sys(SYS_clone, SIGCHLD, 0, 0);
  int status;
  if (pid == 0) {
    if (shim >= 0) sys6(SYS_execveat, shim, (long)"", (long)argv, (long)envp, AT_EMPTY_PATH);
    else sys(SYS_execve, "/bin/true", argv, envp);
    sys(SYS_exit_group, 127, 0, 0);
  }
  sys6(SYS_wait4, pid, (long)&status, 0, 0, 0);
  return status;
}

int bench_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  char *binary, *shim_path;
  int runs, i;
  if (argc < 4) return 2;
  binary = argv[1];
  shim_path = argv[2];
  runs = (int)number(argv[3]);
  if (runs < 1 || runs > MAX_RUNS) return 2;

  for (i = 0; i < runs; i++) {
    long t0 = now_ns();
    int in = (int)sys(SYS_open, binary, 0, 0);
    int fd = (int)sys(SYS_memfd_create, "copy", MFD_CLOEXEC | MFD_ALLOW_SEALING, 0);
    while (sys6(SYS_sendfile, fd, in, 0, 1 << 30, 0) > 0) {}
    sys(SYS_fcntl, fd, F_ADD_SEALS, 15);
    sys(SYS_close, fd, 0, 0);
    sys(SYS_close, in, 0, 0);
    samples[i] = now_ns() - t0;
  }
  print("copy", median_us(samples, runs));

  if (sys(SYS_unshare, CLONE_NEWNS, 0, 0) < 0) return 3;
  sys6(SYS_mount, 0, (long)"/", 0, MS_REC | MS_PRIVATE, 0);
  for (i = 0; i < runs; i++) {
    long t0 = now_ns();
    if (sys6(SYS_mount, (long)binary, (long)binary, 0, MS_BIND, 0) < 0) return 4;
    if (sys6(SYS_mount, 0, (long)binary, 0, MS_REMOUNT | MS_BIND | MS_RDONLY, 0) < 0) return 5;
    sys(SYS_umount2, binary, MNT_DETACH, 0);
    samples[i] = now_ns() - t0;
  }
  print("robind", median_us(samples, runs));

  {
    char *direct_argv[] = {"true", 0};
    char *shim_argv[] = {"99", "1", "/bin/true", "true", 0};
    int in = (int)sys(SYS_open, shim_path, 0, 0);
    int shim = (int)sys(SYS_memfd_create, "box-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING, 0);
    while (sys6(SYS_sendfile, shim, in, 0, 1 << 20, 0) > 0) {}
    sys(SYS_fcntl, shim, F_ADD_SEALS, 15);
    for (i = 0; i < runs; i++) {
      long t0 = now_ns();
      if (run_child(-1, direct_argv, envp) != 0) return 6;
      samples[i] = now_ns() - t0;
    }
    print("direct", median_us(samples, runs));
    for (i = 0; i < runs; i++) {
      long t0 = now_ns();
      if (run_child(shim, shim_argv, envp) != 0) return 7;
      samples[i] = now_ns() - t0;
    }
    print("shim", median_us(samples, runs));
  }
  return 0;
}

__asm__(".global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call bench_main\n mov %eax, %edi\n mov $231, %eax\n syscall\n hlt\n");
