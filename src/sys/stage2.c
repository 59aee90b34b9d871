/*
 * The spawn trampoline's child steps (spawn.c) as a program of their own. box oci's init becomes
 * the container's process at start (runc's process model); with a user namespace it cannot take
 * the steps itself: it is multi-threaded, and the kernel lets only a single-threaded process
 * enter a user namespace. So it execs this in place (the pid stays), and this single-threaded
 * program takes every step, setns of the user namespace among them, then execs the process.
 * box oci create starts it as the container's process itself (spawnStaged in spawn.ts).
 *
 * argv[1]: a descriptor (a sealed memfd, or a pipe) of the steps' spec as spawn.ts serializes it:
 * the header's offset, the number of pointers, each pointer's offset, then the data with every
 * pointer an offset into it.
 * Freestanding: spawn.c's two libc calls are raw system calls here.
 */
#include <stdarg.h>
#include "freestanding.h"

static int stage2_errno;

int *__errno_location(void) { return &stage2_errno; }

long syscall(long n, ...) {
  va_list ap;
  long a[6], r;
  int i;
  va_start(ap, n);
  for (i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  r = sys6(n, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (r < 0 && r > -4096) {
    stage2_errno = (int)-r;
    return -1;
  }
  return r;
}

/* box_spawn's, never called here. */
int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...) {
  (void)fn;
  (void)stack;
  (void)flags;
  (void)arg;
  stage2_errno = 38;
  return -1;
}

#include "spawn.c"

static char image[8 << 20] __attribute__((aligned(16)));

int stage2_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  long fd, n, got = 0, i, *head, relocs;
  char *base;
  if (argc < 2) return 127;
  /* argv[2..4] (box oci create): mount procfs first, here, PID 1 of the container's pid namespace
   * (procfs shows the pid namespace of whoever mounts it), in the mounts' order; then report the
   * step's end on the error pipe, {0, 0} or {14 (mount), errno}. argv[5]: its data, if any. */
  if (argc >= 5) {
    int report[2] = {0, 0};
    long err = parse(argv[2]);
    n = sys6(165, (long)"proc", (long)argv[3], (long)"proc", parse(argv[4]), argc > 5 ? (long)argv[5] : 0, 0);
    if (n < 0) {
      report[0] = 14;
      report[1] = (int)-n;
    }
    sys(1, err, report, sizeof(report));
    if (n < 0) return 127;
  }
  fd = parse(argv[1]);
  /* pread64: the file's offset is where its writer left it, at the end. A pipe (box oci create
   * writes the spec once the container is built, see spawnStaged) is read to its EOF. */
  n = sys6(17, fd, (long)image, sizeof(image), 0, 0, 0);
  if (n == -29) {
    while (got < (long)sizeof(image) && (n = sys6(0, fd, (long)(image + got), sizeof(image) - got, 0, 0, 0)) != 0) {
      if (n > 0) got += n;
      else if (n != -4) break;
    }
  } else {
    while (n > 0 && (got += n) < (long)sizeof(image)) n = sys6(17, fd, (long)(image + got), sizeof(image) - got, got, 0, 0);
  }
  sys(3, fd, 0, 0);
  head = (long *)image;
  relocs = head[1];
  if (got < 16 || relocs < 0 || 16 + relocs * 8 > got) return 127;
  base = image + 16 + relocs * 8;
  for (i = 0; i < relocs; i++) *(long *)(base + head[2 + i]) += (long)base;
  child((struct spawn_spec *)(base + head[0]));
  return 127;
}

FREESTANDING_START(stage2_main);
