/*
 * The watcher of a detached container: what its init (PID 1) becomes once the payload runs.
 * The Bun init sets the container up and starts the payload, then execs this (embedded in the
 * executable, run from a memfd) so that an idle container costs tens of KB instead of a Bun
 * runtime's ~6 MB. It does the init's work from there on: forwards every signal to the payload,
 * reaps every child, writes the payload's stdout and stderr to the json-file log (the format of
 * src/container/logs.ts, rotated the same way), and when the payload has exited kills what is
 * left in the pid namespace and executes the container's teardown plan (src/container/lifecycle.ts:
 * record the end, or for --rm remove the cgroups, files and name; the journal's lines), then
 * exits with the payload's status. (box itself cannot be exec'd again from here: inside the
 * container's root its dynamic loader does not exist.)
 *
 * argv: box __init (what `ps` and `box top` show); the parameters come in the environment as
 * BOX_W0..BOX_W7: PAYLOAD OUT_FD ERR_FD MAX_SIZE MAX_FILES CONTAINER_DIR OOM_FILE LAST_ROTATION, and the plan's
 * steps as BOX_S0, BOX_S1, ... The paths reach the host's directories through /proc/self/fd/N
 * (descriptors the init opened before pivot_root and kept across the exec).
 * Freestanding: no libc, raw system calls, a static executable of a few KB.
 */
#include "freestanding.h"

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_fstat 5
#define SYS_poll 7
#define SYS_rt_sigprocmask 14
#define SYS_nanosleep 35
#define SYS_kill 62
#define SYS_wait4 61
#define SYS_rename 82
#define SYS_rmdir 84
#define SYS_unlink 87
#define SYS_getdents64 217
#define SYS_exit_group 231
#define SYS_clock_gettime 228
#define SYS_openat 257
#define SYS_unlinkat 263
#define SYS_signalfd4 289
#define SYS_prctl 157
#define SYS_lseek 8
#define PR_SET_DUMPABLE 4

#define ENOENT 2
#define EINTR 4
#define ECHILD 10
#define EAGAIN 11
#define EBUSY 16
#define EISDIR 21
#define ENOTEMPTY 39
#define SIGKILL 9
#define SIGCHLD 17
#define SIGSTOP 19
#define WNOHANG 1
#define POLLIN 1
#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define SFD_NONBLOCK 04000
#define SFD_CLOEXEC 02000000
#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define MAX_LINE 16384
#define PATH 4096

/* Writes n as decimal, at least `width` digits; returns the end. */
static char *put_num(char *p, long n, int width) {
  char tmp[24];
  int i = 0;
  if (n < 0) *p++ = '-', n = -n;
  do tmp[i++] = (char)('0' + n % 10), n /= 10; while (n);
  while (i < width) tmp[i++] = '0';
  while (i) *p++ = tmp[--i];
  return p;
}

static char *put_str(char *p, const char *s) {
  while (*s) *p++ = *s++;
  return p;
}

/* dir + "/" + name (+ suffix n when n > 0) into buf. */
static const char *path_of(char *buf, const char *dir, const char *name, long n) {
  char *p = put_str(put_str(put_str(buf, dir), "/"), name);
  if (n > 0) *p++ = '.', p = put_num(p, n, 1);
  *p = 0;
  return buf;
}

static void write_all(int fd, const char *p, long n) {
  while (n > 0) {
    long r = sys(SYS_write, fd, p, n);
    if (r == -EINTR) continue;
    if (r < 0) return; /* a full disk loses log lines, never the container */
    p += r, n -= r;
  }
}

static void sleep_ms(long ms) {
  long ts[2] = {0, ms * 1000000};
  sys(SYS_nanosleep, ts, 0, 0);
}

/* RFC 3339 UTC with nanoseconds; days → civil date after Howard Hinnant's algorithm. */
static char *put_time(char *p) {
  long ts[2], s, days, sod, y, era, doe, yoe, doy, mp, d, m;
  sys(SYS_clock_gettime, 0, ts, 0);
  s = ts[0];
  days = s / 86400 + 719468, sod = s % 86400;
  era = days / 146097;
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

/* ---- the log ---- */

static const char *container_dir;
static int log_fd = -1;
static long log_size, max_size, max_files, rotation;
static char entry[MAX_LINE * 6 + 256];

static void open_log(void) {
  char path[PATH];
  long st[18];
  log_fd = (int)sys6(SYS_open, (long)path_of(path, container_dir, "json.log", 0), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600, 0, 0, 0);
  log_size = log_fd >= 0 && sys(SYS_fstat, log_fd, st, 0) == 0 ? st[6] : 0; /* st_size */
}

/* As src/container/logs.ts's LogWriter: json.log becomes json.log.N, the next number; no other
 * file is renamed, so a reader never meets a file under a name it had a moment before. */
static void rotate(void) {
  char a[PATH], b[PATH];
  long kept = max_files - 1;
  sys(SYS_close, log_fd, 0, 0);
  if (kept < 1) sys(SYS_unlink, path_of(a, container_dir, "json.log", 0), 0, 0);
  else sys(SYS_rename, path_of(a, container_dir, "json.log", 0), path_of(b, container_dir, "json.log", ++rotation), 0);
  open_log();
  if (kept >= 1 && rotation > kept) sys(SYS_unlink, path_of(a, container_dir, "json.log", rotation - kept), 0, 0);
}

static void log_entry(const char *stream, const char *text, long n) {
  static const char hex[] = "0123456789abcdef";
  char *p = put_str(entry, "{\"log\":\"");
  long i;
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
  p = put_str(put_str(put_str(p, "\",\"stream\":\""), stream), "\",\"time\":\"");
  p = put_time(p);
  p = put_str(p, "\"}\n");
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

/* ---- the end ---- */

static long read_file(const char *path, char *buf, long size) {
  long fd = sys(SYS_open, path, O_RDONLY | O_CLOEXEC, 0), n, total = 0;
  if (fd < 0) return -1;
  while (total < size - 1 && (n = sys(SYS_read, fd, buf + total, size - 1 - total)) > 0) total += n;
  sys(SYS_close, fd, 0, 0);
  buf[total] = 0;
  return total;
}

/* The "oom_kill N" counter of memory.oom_control (v1) or memory.events (v2). */
static int oom_killed(const char *file) {
  char buf[2048];
  const char *p;
  if (!*file || read_file(file, buf, sizeof(buf)) < 0) return 0;
  for (p = buf; *p; p++) {
    const char *k = "oom_kill ", *q = p;
    while (*k && *q == *k) k++, q++;
    if (!*k && (p == buf || p[-1] == '\n')) return parse(q) > 0;
  }
  return 0;
}

/* `doc` as the file `name` of `dir`, written atomically. */
static void replace_file(const char *dir, const char *name, const char *doc, long len) {
  char tmp[PATH], final[PATH];
  long fd = sys6(SYS_open, (long)path_of(tmp, dir, ".state.tmp-1", 0), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600, 0, 0, 0);
  if (fd < 0) return;
  write_all((int)fd, doc, len);
  sys(SYS_close, fd, 0, 0);
  sys(SYS_rename, tmp, path_of(final, dir, name, 0), 0);
}

/*
 * A record step: the end state's template with @CODE@, @OOM@ and @TIME@ filled in, as the run
 * dir's state.json and, the state a reboot keeps, the container directory's last-state.json.
 */
static void record(const char *run_dir, const char *dir, const char *template, long code, int oom) {
  char doc[8192], *p = doc;
  const char *t = template;
  while (*t && p < doc + sizeof(doc) - 64) {
    if (t[0] == '@' && t[1] == 'C' && t[5] == '@') p = put_num(p, code, 1), t += 6;
    else if (t[0] == '@' && t[1] == 'O' && t[4] == '@') p = put_str(p, oom ? "true" : "false"), t += 5;
    else if (t[0] == '@' && t[1] == 'T' && t[5] == '@') p = put_time(p), t += 6;
    else *p++ = *t++;
  }
  replace_file(run_dir, "state.json", doc, p - doc);
  replace_file(dir, "last-state.json", doc, p - doc);
}

/*
 * The container's end in box's event journal: the template's lines with @CODE@, @SEC@ and @NANO@
 * filled in, appended with one write per line (under PIPE_BUF: no other box process's line comes
 * between).
 * Nothing is fsynced or retried: a full disk loses the event, never the container's end.
 */
static void journal(const char *path, const char *template, long code) {
  char doc[8448], *p = doc;
  const char *t = template;
  long ts[2], fd;
  if (!*path || !*template) return;
  sys(SYS_clock_gettime, 0 /* CLOCK_REALTIME */, ts, 0);
  while (*t && p < doc + sizeof(doc) - 64) {
    if (t[0] == '@' && t[1] == 'C' && t[5] == '@') p = put_num(p, code, 1), t += 6;
    else if (t[0] == '@' && t[1] == 'S' && t[4] == '@') p = put_num(p, ts[0], 1), t += 5;
    else if (t[0] == '@' && t[1] == 'N' && t[5] == '@') p = put_num(put_num(p, ts[0], 1), ts[1], 9), t += 6;
    else *p++ = *t++;
  }
  fd = sys6(SYS_open, (long)path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600, 0, 0, 0);
  if (fd < 0) return;
  for (t = doc; t < p;) { /* a write per line: each is under PIPE_BUF, the two together may not be */
    const char *end = t;
    while (end < p && *end++ != '\n') {}
    sys(SYS_write, fd, t, end - t);
    t = end;
  }
  sys(SYS_close, fd, 0, 0);
}

/* The first entry of directory `fd` other than . and .., read from the start; 0 when empty. */
static const char *first_entry(long fd) {
  static char buf[4096];
  long n, off;
  sys(SYS_lseek, fd, 0, 0);
  while ((n = sys(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
    for (off = 0; off < n; off += *(unsigned short *)(buf + off + 16)) {
      const char *e = buf + off + 19;
      if (!(e[0] == '.' && (!e[1] || (e[1] == '.' && !e[2])))) return e;
    }
  }
  return 0;
}

/*
 * rm -rf of `name` in `dir`, by descriptors, never following a symlink. Iterative, with one
 * directory open at a time (going back up through ".."): the container wrote this tree (its
 * overlay upper dir), so its depth is no limit on this program's stack or descriptors.
 */
static void remove_at(long dir, const char *name) {
  long cur, depth = 0;
  const char *e;
  if (sys(SYS_unlinkat, dir, name, 0) != -EISDIR) return;
  cur = sys6(SYS_openat, dir, (long)name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, 0, 0);
  while (cur >= 0) {
    if ((e = first_entry(cur))) {
      long next, r = sys(SYS_unlinkat, cur, e, 0);
      if (r == 0) continue;
      if (r != -EISDIR) break; /* cannot remove it: leave the rest rather than loop */
      r = sys(SYS_unlinkat, cur, e, AT_REMOVEDIR);
      if (r == 0) continue;
      if (r != -ENOTEMPTY) break;
      next = sys6(SYS_openat, cur, (long)e, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, 0, 0);
      if (next < 0) break; /* cannot go on: leave the rest */
      sys(SYS_close, cur, 0, 0);
      cur = next, depth++;
      continue;
    }
    if (depth == 0) break;
    /* Empty: back to the parent, where it is now the one directory rmdir takes. */
    {
      long parent = sys6(SYS_openat, cur, (long)"..", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
      sys(SYS_close, cur, 0, 0);
      cur = parent, depth--;
    }
  }
  if (cur >= 0) sys(SYS_close, cur, 0, 0);
  sys(SYS_unlinkat, dir, name, AT_REMOVEDIR);
}

/* A cgroup, removed once empty (busy for a moment after the last task went); 0 once it is gone. */
static long remove_cgroup(const char *dir) {
  long r;
  int tries;
  for (tries = 0; (r = sys(SYS_rmdir, dir, 0, 0)) == -EBUSY && tries < 250; tries++) sleep_ms(2);
  return r == -ENOENT ? 0 : r;
}

/* ---- the published ports' rules, in box's nftables table (src/net/nftables.ts) ---- */

#define NFT_SUBSYS 10
#define NFT_GETRULE 7
#define NFT_NEWRULE 6
#define NFT_DELRULE 8
#define NFNL_BATCH_BEGIN 0x10
#define NFNL_BATCH_END 0x11
#define NLM_F_REQUEST 1
#define NLM_F_DUMP 0x300
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define MAX_RULES 512

struct nlmsghdr { unsigned int len; unsigned short type, flags; unsigned int seq, pid; };

/* An attribute at p: its length, type and data, padded to 4; returns the end. */
static char *put_attr(char *p, int type, const void *data, int len) {
  const char *d = data;
  int i;
  ((unsigned short *)p)[0] = (unsigned short)(4 + len), ((unsigned short *)p)[1] = (unsigned short)type;
  for (i = 0; i < len; i++) p[4 + i] = d[i];
  for (i = 4 + len; i & 3; i++) p[i] = 0;
  return p + i;
}

/* A message of nfnetlink at p: header, nfgenmsg (family, version, res_id big-endian), then attributes by the caller. */
static char *put_msg(char *p, int type, int flags, int family, int res_id) {
  struct nlmsghdr *h = (struct nlmsghdr *)p;
  h->type = (unsigned short)type, h->flags = (unsigned short)(NLM_F_REQUEST | flags), h->seq = 0, h->pid = 0;
  p[16] = (char)family, p[17] = 0, p[18] = (char)(res_id >> 8), p[19] = (char)res_id;
  return p + 20;
}

static void end_msg(char *start, char *end) {
  ((struct nlmsghdr *)start)->len = (unsigned int)(end - start);
}

static int starts_with(const char *s, int n, const char *prefix) {
  int i;
  for (i = 0; prefix[i]; i++)
    if (i >= n || s[i] != prefix[i]) return 0;
  return 1;
}

/*
 * A rules step: the rules of box's table whose tag (nft's comment) starts with `prefix` ("box
 * container ID "), listed on the netfilter socket of the host's network namespace that the init
 * left open, and each deleted by its handle in a transaction of its own, as withdrawPorts does
 * (a rule deleted meanwhile fails its own deletion only; the kernel answers errors alone).
 * Listed now, at the end: a handle is only what the table says it is at the moment.
 */
static void withdraw_rules(long fd, const char *prefix) {
  static char buf[65536];
  static struct { char chain[32]; char handle[8]; } rules[MAX_RULES];
  int n = 0, done = 0, i;
  char *p = put_msg(buf, NFT_SUBSYS << 8 | NFT_GETRULE, NLM_F_DUMP, 2 /* NFPROTO_IPV4 */, 0);
  p = put_attr(p, 1 /* NFTA_RULE_TABLE */, "box", 4);
  end_msg(buf, p);
  if (sys(SYS_write, fd, buf, p - buf) < 0) return;
  while (!done) {
    struct pollfd w = {(int)fd, POLLIN, 0};
    long len, off;
    if (sys(SYS_poll, &w, 1, 2000) <= 0) break; /* the kernel answers at once: never wait long */
    if ((len = sys(SYS_read, fd, buf, sizeof(buf))) <= 0) break;
    for (off = 0; off + 16 <= len;) {
      struct nlmsghdr *h = (struct nlmsghdr *)(buf + off);
      long a, end = off + h->len;
      const char *chain = 0, *handle = 0, *tag = 0;
      int chain_len = 0, tag_len = 0;
      if (h->len < 16 || end > len) { done = 1; break; }
      if (h->type == NLMSG_DONE || h->type == NLMSG_ERROR) done = 1;
      else if (h->type == (NFT_SUBSYS << 8 | NFT_NEWRULE)) {
        for (a = off + 20; a + 4 <= end;) {
          int alen = ((unsigned short *)(buf + a))[0], type = ((unsigned short *)(buf + a))[1] & 0x3fff;
          if (alen < 4 || a + alen > end) break;
          if (type == 2) chain = buf + a + 4, chain_len = alen - 4;
          else if (type == 3 && alen == 12) handle = buf + a + 4;
          /* nft's userdata: a comment is {0, length, text} */
          else if (type == 7 && alen > 6 && buf[a + 4] == 0) tag = buf + a + 6, tag_len = (unsigned char)buf[a + 5];
          a += (alen + 3) & ~3;
        }
        if (chain && handle && tag && tag + tag_len <= buf + end && chain_len < 32 && n < MAX_RULES && starts_with(tag, tag_len, prefix)) {
          for (i = 0; i < chain_len; i++) rules[n].chain[i] = chain[i];
          rules[n].chain[chain_len] = 0;
          for (i = 0; i < 8; i++) rules[n].handle[i] = handle[i];
          n++;
        }
      }
      off += (h->len + 3) & ~3;
    }
  }
  for (i = 0; i < n; i++) {
    char *m, *q;
    int chain_len = 0;
    while (rules[i].chain[chain_len]) chain_len++;
    q = put_msg(buf, NFNL_BATCH_BEGIN, 0, 0, NFT_SUBSYS);
    end_msg(buf, q);
    m = q;
    q = put_msg(m, NFT_SUBSYS << 8 | NFT_DELRULE, 0, 2, 0);
    q = put_attr(q, 1, "box", 4);
    q = put_attr(q, 2, rules[i].chain, chain_len + 1);
    q = put_attr(q, 3 /* NFTA_RULE_HANDLE */, rules[i].handle, 8);
    end_msg(m, q);
    m = q;
    q = put_msg(m, NFNL_BATCH_END, 0, 0, NFT_SUBSYS);
    end_msg(m, q);
    sys(SYS_write, fd, buf, q - buf);
  }
}

static int same(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

/*
 * The container's teardown plan (src/container/lifecycle.ts, watcherSteps): BOX_S0, BOX_S1, ...,
 * each a step's fields separated by \x01, executed in order. A cgroup that cannot be removed
 * stops the plan, as box's own executor stops: what is left stays recorded for `box rm` or a
 * prune. The other steps are best effort (a full disk loses a state file, never the container's end).
 */
static void tear_down(char **envp, long code, int oom) {
  int i, n;
  char *s, *f[64];
  for (i = 0; *(s = param(envp, "BOX_S", i)); i++) {
    for (n = 0, f[n++] = s; *s && n < 64; s++)
      if (*s == '\x01') *s = 0, f[n++] = s + 1;
    if (same(f[0], "record") && n == 4) record(f[1], f[2], f[3], code, oom);
    else if (same(f[0], "cgroups")) {
      /* One left (a process box did not kill): the rest stays recorded, for box rm or a prune. */
      while (--n > 0)
        if (remove_cgroup(f[n]) < 0) return;
    }
    else if (same(f[0], "tree") && n == 2) remove_at(AT_FDCWD, f[1]);
    else if (same(f[0], "unlink") && n == 2) sys(SYS_unlink, f[1], 0, 0);
    else if (same(f[0], "unlink") && n == 3) {
      char buf[256];
      if (read_file(f[1], buf, sizeof(buf)) >= 0 && same(buf, f[2])) sys(SYS_unlink, f[1], 0, 0);
    } else if (same(f[0], "journal") && n == 3) journal(f[1], f[2], code);
    else if (same(f[0], "rules") && n == 3) withdraw_rules(parse(f[1]), f[2]);
  }
}

/* ---- the loop ---- */


int watch_main(long *sp) {
  long argc = sp[0];
  char **envp = (char **)(sp + 1) + argc + 1;
  char *argv[11];
  int i;
  unsigned long all = ~0UL & ~((1UL << (SIGKILL - 1)) | (1UL << (SIGSTOP - 1)));
  long payload, status = 0, deadline = 0, code;
  int sfd, done = 0, killed = 0;
  for (i = 0; i < 8; i++) argv[i + 3] = param(envp, "BOX_W", i);
  payload = parse(argv[3]);
  if (payload <= 0) return 125;
  out.fd = (int)parse(argv[4]), out.name = "stdout";
  err.fd = (int)parse(argv[5]), err.name = "stderr";
  max_size = parse(argv[6]);
  max_files = parse(argv[7]);
  container_dir = argv[8];
  rotation = parse(argv[10]);
  /* It holds descriptors of host directories: nobody in the container may ptrace it or reach them
   * through /proc/1/fd. */
  sys(SYS_prctl, PR_SET_DUMPABLE, 0, 0);
  open_log();
  /* Every catchable signal arrives through the signalfd, none by a handler. */
  sys6(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&all, 0, 8, 0, 0);
  sfd = (int)sys6(SYS_signalfd4, -1, (long)&all, 8, SFD_NONBLOCK | SFD_CLOEXEC, 0, 0);
  /* A child that ended before the exec left no SIGCHLD for this program: look once. */
  for (;;) {
    int st;
    long pid = sys6(SYS_wait4, -1, (long)&st, WNOHANG, 0, 0, 0);
    if (pid <= 0) break;
    if (pid == payload) status = st, done = 1;
  }
  for (;;) {
    struct pollfd p[3] = {{sfd, POLLIN, 0}, {out.fd, POLLIN, 0}, {err.fd, POLLIN, 0}};
    long timeout;
    if (done && !killed) {
      int st;
      /* The container never outlives its payload. */
      sys(SYS_kill, -1, SIGKILL, 0);
      while (sys6(SYS_wait4, -1, (long)&st, 0, 0, 0, 0) != -ECHILD) {}
      killed = 1;
      deadline = now_ms() + 1000;
    }
    timeout = killed ? deadline - now_ms() : -1;
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
  }
  if (out.fd >= 0) flush(&out);
  if (err.fd >= 0) flush(&err);
  if (log_fd >= 0) sys(SYS_close, log_fd, 0, 0);
  code = (status & 0x7f) ? 128 + (status & 0x7f) : (status >> 8) & 0xff;
  tear_down(envp, code, oom_killed(argv[9]));
  sys(SYS_exit_group, code, 0, 0);
  return 0;
}

FREESTANDING_START(watch_main);
