/*
 * What box's freestanding C programs (the watcher, the health timer) share: raw system calls on
 * x86_64, number parsing, the monotonic clock, their parameters in the environment. No libc.
 */
#ifndef BOX_FREESTANDING_H
#define BOX_FREESTANDING_H

typedef unsigned long size_t;

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

struct pollfd { int fd; short events, revents; };

static long parse(const char *s) {
  long v = 0, sign = 1;
  if (*s == '-') sign = -1, s++;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v * sign;
}

__attribute__((unused)) static long now_ms(void) {
  long ts[2];
  sys(228 /* clock_gettime */, 1 /* CLOCK_MONOTONIC */, ts, 0);
  return ts[0] * 1000 + ts[1] / 1000000;
}

/* The value of <prefix><i> (e.g. BOX_W3) in the environment, "" when missing. */
__attribute__((unused)) static char *param(char **envp, const char *prefix, int i) {
  char **e;
  for (e = envp; *e; e++) {
    char *p = *e;
    const char *q = prefix;
    while (*q && *p == *q) p++, q++;
    if (*q || *p < '0' || *p > '9' || parse(p) != i) continue;
    while (*p >= '0' && *p <= '9') p++;
    if (*p == '=') return p + 1;
  }
  return "";
}

/* The program's entry: main(sp) with the kernel's initial stack, its return the exit status. */
#define FREESTANDING_START(main) \
  __asm__(".global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call " #main "\n mov %eax, %edi\n mov $231, %eax\n syscall\n hlt\n")

#endif
