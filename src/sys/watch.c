/*
 * The watcher of a detached container: what its init (PID 1) becomes once the payload runs.
 * The Bun init sets the container up and starts the payload, then execs this (embedded in the
 * executable, run from a memfd) so that an idle container costs ~100 KB instead of a Bun
 * runtime's ~6 MB. It does the init's steady-state work only: forwards every signal to the
 * payload, reaps every child, and writes the payload's stdout and stderr to the json-file log
 * (the format of src/container/logs.ts, rotated the same way). When the payload has exited it
 * kills what is left in the pid namespace, reaps it, drains the pipes, and execs box again
 * (`box __init resume STATUS STATE`), which restarts the payload or records the end.
 *
 * argv: box __init watch PAYLOAD OUT_FD ERR_FD LOG_DIR_FD MAX_SIZE MAX_FILES EXE_FD STATE
 * Freestanding: no libc, raw system calls, a static executable of a few KB.
 */
typedef unsigned long size_t;

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_fstat 5
#define SYS_poll 7
#define SYS_rt_sigprocmask 14
#define SYS_kill 62
#define SYS_wait4 61
#define SYS_exit_group 231
#define SYS_clock_gettime 228
#define SYS_openat 257
#define SYS_unlinkat 263
#define SYS_renameat 264
#define SYS_signalfd4 289
#define SYS_execveat 322

#define EINTR 4
#define ECHILD 10
#define EAGAIN 11
#define SIGKILL 9
#define SIGCHLD 17
#define SIGSTOP 19
#define WNOHANG 1
#define POLLIN 1
#define O_WRONLY 1
#define O_CREAT 0100
#define O_APPEND 02000
#define O_CLOEXEC 02000000
#define SFD_NONBLOCK 04000
#define SFD_CLOEXEC 02000000
#define AT_EMPTY_PATH 0x1000
#define MAX_LINE 16384

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return r;
}
#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* gcc may call these for struct copies and zeroing even when freestanding. */
void *memset(void *d, int c, size_t n) {
  unsigned char *p = d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}
void *memcpy(void *d, const void *s, size_t n) {
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--) *p++ = *q++;
  return d;
}

static long parse(const char *s) {
  long v = 0, sign = 1;
  if (*s == '-') sign = -1, s++;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v * sign;
}

/* Writes n as decimal, at least `width` digits; returns the end. */
static char *put_num(char *p, long n, int width) {
  char tmp[24];
  int i = 0;
  do tmp[i++] = (char)('0' + n % 10), n /= 10; while (n);
  while (i < width) tmp[i++] = '0';
  while (i) *p++ = tmp[--i];
  return p;
}

static void write_all(int fd, const char *p, long n) {
  while (n > 0) {
    long r = sys(SYS_write, fd, p, n);
    if (r == -EINTR) continue;
    if (r < 0) return; /* a full disk loses log lines, never the container */
    p += r, n -= r;
  }
}

/* ---- the log ---- */

static int log_dir = -1, log_fd = -1;
static long log_size, max_size, max_files;
static char entry[MAX_LINE * 6 + 256];

static const char *gen_name(long g, char *buf) {
  const char *base = "json.log";
  char *p = buf;
  while (*base) *p++ = *base++;
  if (g > 0) *p++ = '.', p = put_num(p, g, 1);
  *p = 0;
  return buf;
}

static void open_log(void) {
  char name[32];
  long st[18];
  log_fd = (int)sys6(SYS_openat, log_dir, (long)gen_name(0, name), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600, 0, 0);
  log_size = log_fd >= 0 && sys(SYS_fstat, log_fd, st, 0) == 0 ? st[6] : 0; /* st_size */
}

static void rotate(void) {
  char a[32], b[32];
  long g, last = max_files - 1;
  sys(SYS_close, log_fd, 0, 0);
  if (last < 1) {
    sys(SYS_unlinkat, log_dir, gen_name(0, a), 0);
  } else {
    sys(SYS_unlinkat, log_dir, gen_name(last, a), 0);
    for (g = last - 1; g >= 1; g--) sys6(SYS_renameat, log_dir, (long)gen_name(g, a), log_dir, (long)gen_name(g + 1, b), 0, 0);
    sys6(SYS_renameat, log_dir, (long)gen_name(0, a), log_dir, (long)gen_name(1, b), 0, 0);
  }
  open_log();
}

/* RFC 3339 UTC with nanoseconds; days → civil date after Howard Hinnant's algorithm. */
static char *put_time(char *p) {
  long ts[2], s, days, sod, y, doe, yoe, doy, mp, d, m;
  sys(SYS_clock_gettime, 0, ts, 0);
  s = ts[0];
  days = s / 86400, sod = s % 86400;
  days += 719468;
  long era = days / 146097;
  doe = days - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  p = put_num(p, y, 4), *p++ = '-', p = put_num(p, m, 2), *p++ = '-', p = put_num(p, d, 2), *p++ = 'T';
  p = put_num(p, sod / 3600, 2), *p++ = ':', p = put_num(p, sod / 60 % 60, 2), *p++ = ':', p = put_num(p, sod % 60, 2);
  *p++ = '.', p = put_num(p, ts[1], 9), *p++ = 'Z';
  return p;
}

static void log_entry(const char *stream, const char *text, long n) {
  static const char hex[] = "0123456789abcdef";
  char *p = entry;
  const char *k;
  long i;
  for (k = "{\"log\":\""; *k;) *p++ = *k++;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"' || c == '\\') *p++ = '\\', *p++ = (char)c;
    else if (c == '\n') *p++ = '\\', *p++ = 'n';
    else if (c == '\r') *p++ = '\\', *p++ = 'r';
    else if (c == '\t') *p++ = '\\', *p++ = 't';
    else if (c == '\b') *p++ = '\\', *p++ = 'b';
    else if (c == '\f') *p++ = '\\', *p++ = 'f';
    else if (c < 0x20) *p++ = '\\', *p++ = 'u', *p++ = '0', *p++ = '0', *p++ = hex[c >> 4], *p++ = hex[c & 15];
    else *p++ = (char)c;
  }
  for (k = "\",\"stream\":\""; *k;) *p++ = *k++;
  for (k = stream; *k;) *p++ = *k++;
  for (k = "\",\"time\":\""; *k;) *p++ = *k++;
  p = put_time(p);
  *p++ = '"', *p++ = '}', *p++ = '\n';
  if (log_fd < 0) return;
  if (max_size > 0 && log_size > 0 && log_size + (p - entry) > max_size) rotate();
  write_all(log_fd, entry, p - entry);
  log_size += p - entry;
}

/* A stream's partial line: complete lines become entries; a line longer than MAX_LINE is split. */
struct stream { int fd; const char *name; long len; char buf[MAX_LINE]; };

static void feed(struct stream *s, const char *data, long n) {
  long i;
  for (i = 0; i < n; i++) {
    s->buf[s->len++] = data[i];
    if (data[i] == '\n' || s->len == MAX_LINE) log_entry(s->name, s->buf, s->len), s->len = 0;
  }
}

static void flush(struct stream *s) {
  if (s->len) log_entry(s->name, s->buf, s->len), s->len = 0;
}

/* ---- the loop ---- */

static struct stream out, err;

static void pump(struct stream *s) {
  char buf[65536];
  long n = sys(SYS_read, s->fd, buf, sizeof(buf));
  if (n > 0) return feed(s, buf, n);
  if (n == -EINTR || n == -EAGAIN) return;
  flush(s);
  sys(SYS_close, s->fd, 0, 0);
  s->fd = -1;
}

static long now_ms(void) {
  long ts[2];
  sys(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, ts, 0);
  return ts[0] * 1000 + ts[1] / 1000000;
}

struct pollfd { int fd; short events, revents; };

int watch_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  unsigned long all = ~0UL & ~((1UL << (SIGKILL - 1)) | (1UL << (SIGSTOP - 1)));
  long payload, status = 0, deadline = 0;
  int exe, sfd, done = 0, killed = 0;
  char code[24];
  if (argc < 11) return 125;
  payload = parse(argv[3]);
  out.fd = (int)parse(argv[4]), out.name = "stdout";
  err.fd = (int)parse(argv[5]), err.name = "stderr";
  log_dir = (int)parse(argv[6]);
  max_size = parse(argv[7]);
  max_files = parse(argv[8]);
  exe = (int)parse(argv[9]);
  open_log();
  /* Every catchable signal arrives through the signalfd, none by a handler. */
  sys(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, &all, 0 + 8 * 0), sys6(SYS_rt_sigprocmask, 2, (long)&all, 0, 8, 0, 0);
  sfd = (int)sys6(SYS_signalfd4, -1, (long)&all, 8, SFD_NONBLOCK | SFD_CLOEXEC, 0, 0);
  for (;;) {
    struct pollfd p[3] = {{sfd, POLLIN, 0}, {out.fd, POLLIN, 0}, {err.fd, POLLIN, 0}};
    long timeout = killed ? deadline - now_ms() : -1;
    if (killed && ((out.fd < 0 && err.fd < 0) || timeout <= 0)) break;
    sys(SYS_poll, p, 3, timeout);
    if (p[0].revents) {
      unsigned int info[32]; /* struct signalfd_siginfo: ssi_signo first */
      while (sys(SYS_read, sfd, info, sizeof(info)) == sizeof(info)) {
        if (info[0] != SIGCHLD) {
          if (!done) sys(SYS_kill, payload, info[0], 0);
          continue;
        }
        for (;;) {
          int st;
          long pid = sys6(SYS_wait4, -1, (long)&st, WNOHANG, 0, 0, 0);
          if (pid <= 0) break;
          if (pid == payload) status = st, done = 1;
        }
      }
    }
    if (out.fd >= 0 && p[1].revents) pump(&out);
    if (err.fd >= 0 && p[2].revents) pump(&err);
    if (done && !killed) {
      int st;
      /* The container never outlives its payload. */
      sys(SYS_kill, -1, SIGKILL, 0);
      while (sys6(SYS_wait4, -1, (long)&st, 0, 0, 0, 0) != -ECHILD) {}
      killed = 1;
      deadline = now_ms() + 1000;
    }
  }
  if (out.fd >= 0) flush(&out);
  if (err.fd >= 0) flush(&err);
  put_num(code, status, 1)[0] = 0;
  {
    char *resume[] = {argv[0], argv[1], "resume", code, argv[10], 0};
    sys6(SYS_execveat, exe, (long)"", (long)resume, (long)envp, AT_EMPTY_PATH, 0);
  }
  /* box is gone: end as the payload did. */
  sys(SYS_exit_group, (status & 0x7f) ? 128 + (status & 0x7f) : (status >> 8) & 0xff, 0);
  return 0;
}

__asm__(".global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call watch_main\n mov %eax, %edi\n mov $231, %eax\n syscall\n hlt\n");
