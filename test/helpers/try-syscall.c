/* Makes one system call and prints its result, for the seccomp tests (busybox has no tool for
 * most calls): `try-syscall [i386] NR [ARG...]`, numbers decimal or 0x hex; prints "ok N" or
 * "errno E". With i386 the call goes through int 0x80 (the 32-bit entry, other numbers).
 * Freestanding, like box's watcher; x86_64 only. */
static long call(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return r;
}

static long call32(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}

static long number(const char *s) {
  long v = 0;
  if (s[0] == '0' && s[1] == 'x')
    for (s += 2; *s; s++) v = v * 16 + (*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10);
  else
    for (; *s; s++) v = v * 10 + (*s - '0');
  return v;
}

static void out(const char *word, long v) {
  char buf[40];
  int n = 0, i = 0;
  while (word[n]) { buf[n] = word[n]; n++; }
  buf[n++] = ' ';
  char digits[24];
  if (v == 0) digits[i++] = '0';
  while (v > 0) { digits[i++] = (char)('0' + v % 10); v /= 10; }
  while (i) buf[n++] = digits[--i];
  buf[n++] = '\n';
  call(1, 1, (long)buf, n, 0, 0, 0);
}

int try_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  long a[7] = {0};
  int i386 = argc > 1 && argv[1][0] == 'i' && argv[1][1] == '3';
  for (long i = 1 + i386; i < argc && i - i386 <= 7; i++) a[i - 1 - i386] = number(argv[i]);
  long r = i386 ? call32(a[0], a[1], a[2], a[3]) : call(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
  if (r < 0 && r > -4096) out("errno", -r);
  else out("ok", r);
  return 0;
}

__asm__(".global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call try_main\n mov %eax, %edi\n mov $231, %eax\n syscall\n hlt\n");
