/*
 * The health timer of a detached container whose init became the native watcher (watch.c): a
 * process of the host, started by the box command that started the container, that runs `box
 * healthcheck run ID` on the health check's schedule and ends with the container's init. The
 * probe, its record and --health-on-failure are box's own code (src/cli/healthcheck.ts), run
 * once per probe, as Podman's timer unit runs `podman healthcheck run`; what stays between
 * probes is this program's few pages instead of a Bun runtime (docs/ARCHITECTURE.md, "Health
 * checks"). Neither the watcher nor the container's namespaces could run box: the watcher is
 * PID 1 of the container's pid namespace, whose processes may not enter the host's.
 *
 * argv: box-health-timer, then the box command to run (its argv). fd 3: a pidfd of the
 * container's init; fd 4: box's executable. Environment: BOX_H0..BOX_H3: INTERVAL_MS
 * START_INTERVAL_MS START_PERIOD_MS HEALTH_FILE (the command gets the environment as it is).
 * The schedule is the Bun init's (src/init/health.ts): the first probe an interval after the
 * start, the next an interval after the last one ended, the start interval while the container
 * is in its start period and still "starting". Freestanding: no libc, raw system calls.
 */
#include "freestanding.h"

#define SYS_read 0
#define SYS_open 2
#define SYS_close 3
#define SYS_poll 7
#define SYS_fcntl 72
#define SYS_wait4 61
#define SYS_clone 56
#define SYS_execveat 322
#define SYS_exit_group 231
#define EINTR 4
#define SIGCHLD 17
#define POLLIN 1
#define F_SETFD 2
#define FD_CLOEXEC 1
#define O_RDONLY 0
#define O_CLOEXEC 02000000
#define AT_EMPTY_PATH 0x1000
#define INIT 3
#define BOX 4

/* Whether the health file says "starting" (box writes it: {"Status":"...", ...}). */
static int starting(const char *file) {
  char buf[64];
  const char *want = "{\"Status\":\"starting\"", *p = buf;
  long fd = sys(SYS_open, file, O_RDONLY | O_CLOEXEC, 0), n;
  if (fd < 0) return 1;
  n = sys(SYS_read, fd, buf, sizeof(buf) - 1);
  sys(SYS_close, fd, 0, 0);
  if (n < 0) return 1;
  buf[n] = 0;
  while (*want && *p == *want) p++, want++;
  return !*want;
}

/* Waits until `ms` from now; 1 when the init ended first. */
static int init_ended_within(long ms) {
  long until = now_ms() + ms, left;
  while ((left = until - now_ms()) > 0) {
    struct pollfd p = {INIT, POLLIN, 0};
    long r = sys(SYS_poll, &p, 1, left);
    if (r > 0) return 1;
    if (r < 0 && r != -EINTR) return 1; /* no pidfd to watch: nothing to time */
  }
  return 0;
}

int timer_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  long interval = parse(param(envp, "BOX_H", 0)), start_interval = parse(param(envp, "BOX_H", 1));
  long start_period = parse(param(envp, "BOX_H", 2)), started = now_ms();
  const char *health = param(envp, "BOX_H", 3);
  if (argc < 2 || interval <= 0 || start_interval <= 0) return 125;
  /* Neither reaches the box it runs. */
  sys(SYS_fcntl, INIT, F_SETFD, FD_CLOEXEC);
  sys(SYS_fcntl, BOX, F_SETFD, FD_CLOEXEC);
  for (;;) {
    int st;
    long pid, wait = now_ms() - started < start_period && starting(health) ? start_interval : interval;
    if (init_ended_within(wait)) return 0;
    pid = sys6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
    if (pid == 0) {
      sys6(SYS_execveat, BOX, (long)"", (long)(argv + 1), (long)envp, AT_EMPTY_PATH, 0);
      sys(SYS_exit_group, 127, 0, 0);
    }
    /* One probe at a time; one that acts on the container (stop, restart) finishes its work
     * even when the init it watched ends meanwhile. */
    while (pid > 0 && sys6(SYS_wait4, pid, (long)&st, 0, 0, 0, 0) == -EINTR) {}
  }
}

FREESTANDING_START(timer_main);
