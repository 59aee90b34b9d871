/* A UDP echo server for the network tests (busybox's nc has no UDP): answers every datagram on
 * the port given as argv[1] with "echo:" and the datagram. Freestanding, like box's watcher, so
 * that building it needs no libc development files; x86_64 only. */
typedef unsigned long size_t;

static long call(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return r;
}

int echo_main(long *sp) {
  char **argv = (char **)(sp + 1);
  unsigned port = 0;
  for (char *p = argv[1]; p && *p; p++) port = port * 10 + (unsigned)(*p - '0');
  unsigned char addr[16] = {2, 0, (unsigned char)(port >> 8), (unsigned char)port};
  long fd = call(41 /* socket */, 2, 2, 0, 0, 0, 0);
  if (fd < 0 || call(49 /* bind */, fd, (long)addr, 16, 0, 0, 0) < 0) return 1;
  char buf[2048] = "echo:";
  for (;;) {
    unsigned char from[16];
    int fromlen = 16;
    long n = call(45 /* recvfrom */, fd, (long)(buf + 5), sizeof buf - 5, 0, (long)from, (long)&fromlen);
    if (n >= 0) call(44 /* sendto */, fd, (long)buf, n + 5, 0, (long)from, fromlen);
  }
}

__asm__(".global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call echo_main\n mov %eax, %edi\n mov $231, %eax\n syscall\n hlt\n");
