/*
 * The fork→exec window of box, in C because Bun cannot run JavaScript in a forked child
 * (see docs/ARCHITECTURE.md). Built by `bun run build` without libc headers (-nostdlib) and
 * using raw system calls only: the child is a copy of a multi-threaded process, and glibc
 * wrappers such as setresuid() would try to signal threads that do not exist in the child.
 * The child never returns to JavaScript and never allocates.
 */
long syscall(long number, ...);
int *__errno_location(void);
int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);

/* glibc's syscall() returns -1 and sets errno; box wants -errno. */
#define SC(...) (syscall(__VA_ARGS__) < 0 ? -(long)*__errno_location() : 0)

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define O_WRONLY 1
#define SYS_close 3
#define SYS_ioctl 16
#define SYS_fcntl 72
#define SYS_chdir 80
#define SYS_mount 165
#define SYS_setsid 112
#define SYS_setgroups 116
#define SYS_setresuid 117
#define SYS_setresgid 119
#define SYS_capset 126
#define SYS_prctl 157
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_execve 59
#define SYS_exit_group 231
#define SYS_unshare 272
#define SYS_dup3 292
#define SYS_close_range 436
#define SYS_setns 308
#define SYS_clone 56
#define SYS_getpid 39
#define SYS_execveat 322
#define SYS_getcwd 79
#define AT_EMPTY_PATH 0x1000
#define F_SETFD 2
#define SYS_pause 34

#define SIGCHLD 17
#define CLONE_VM 0x100
#define CLONE_VFORK 0x4000
#define CLONE_PARENT 0x8000
#define CLONE_NEWUSER 0x10000000
#define SIG_BLOCK 0
#define SIG_SETMASK 2
#define NSIG 64
#define F_DUPFD_CLOEXEC 1030
#define TIOCSCTTY 0x540E
#define PR_SET_PDEATHSIG 1
#define PR_SET_DUMPABLE 4
#define PR_CAPBSET_READ 23
#define PR_CAPBSET_DROP 24
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#define PR_SET_KEEPCAPS 8
#define PR_SET_NO_NEW_PRIVS 38
#define SYS_prlimit64 302
#define SYS_seccomp 317
#define SECCOMP_SET_MODE_FILTER 1
#define SECCOMP_FILTER_FLAG_NEW_LISTENER 8
#define SYS_sendmsg 46
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#define MSG_NOSIGNAL 0x4000
#define CLOSE_RANGE_CLOEXEC 4
#define CAPS_V3 0x20080522
#define EPERM 1
#define EINTR 4
#define EACCES 13
#define EXDEV 18
#define EPIPE 32

struct iovec { void *base; unsigned long len; };
struct msghdr { void *name; unsigned int namelen; struct iovec *iov; unsigned long iovlen; void *control; unsigned long controllen; int flags; };

/* Layout shared with spawn.ts (all fields 64-bit). */
struct spawn_spec {
  long clone_flags;      /* namespaces created with the child */
  long path;             /* char* : executable */
  long argv;             /* char** */
  long envp;             /* char** */
  long nfds;             /* number of (src, dst) pairs */
  long fds;              /* int* : src0, dst0, src1, dst1 ... */
  long ncgroups;         /* cgroup files (tasks / cgroup.procs) the child writes "0" into */
  long cgroups;          /* int* */
  long unshare_flags;    /* namespaces entered after joining the cgroups (cgroup, time) */
  long setsid;           /* start a new session */
  long ctty;             /* make fd 0 the controlling terminal */
  long set_user;         /* switch to uid/gid/groups */
  long uid;
  long gid;
  long ngroups;          /* -1: no setgroups (refused in a user namespace whose setgroups is "deny") */
  long groups;           /* unsigned int* */
  long set_caps;         /* limit capabilities to cap_keep */
  long cap_keep;         /* bit mask of capabilities to keep (those box itself lacks are left out) */
  long cwd;              /* char* or 0 */
  long errfd;            /* close-on-exec pipe: the child reports {stage, errno} here */
  long pdeathsig;        /* signal when the parent dies, or 0 */
  long nmounts;          /* mounts made after the namespaces are entered */
  long mounts;           /* long* : source, target, fstype, flags, data for each (char* or 0) */
  long nsetns;           /* namespaces to join (box exec): open fds of /proc/PID/ns/... */
  long setns_fds;        /* int* */
  long fork_inner;       /* after setns: fork once more (a joined pid namespace takes only children) */
  long pidfd;            /* close-on-exec pipe: with fork_inner, the outer child writes the inner one's
                          * pid here, and only it (errfd reaches the shim, which a container might read) */
  long shim_fd;          /* the exec shim (shim.c) in a sealed memfd, or -1: exec `path` directly */
  long shim_argv;        /* char** : the shim's argv (error fd, candidate paths, the payload's argv) */
  long nrlimits;         /* resource limits set before the user switch (--ulimit) */
  long rlimits;          /* long* : resource, soft, hard for each */
  long no_new_privs;     /* PR_SET_NO_NEW_PRIVS: execve grants no privileges (setuid bits, file caps) */
  long seccomp_len;      /* instructions of the seccomp filter, or 0 for none */
  long seccomp_filter;   /* struct sock_filter* */
  long userns_fd;        /* a user namespace to enter last (after the mounts), or -1; needs fork_inner */
  long own_maps;         /* char*[3] or 0: with CLONE_NEWUSER, the child writes its own setgroups, uid_map
                          * and gid_map first (the one id an unprivileged user may map: its own) */
  long join_userns_first; /* a user namespace to enter before the setns list (rootless exec: it owns
                          * the other namespaces), or -1; the child then has a memory of its own,
                          * as the kernel requires of a process entering a user namespace */
  long exec_fd;          /* a sealed memfd of box's own (the health timer) to exec with argv instead of
                          * `path`, or -1; not with shim_fd */
  long cap_sets;         /* with set_caps: the four sets below as given (an OCI process's), instead of
                          * cap_keep as effective and permitted for root and nothing for another user */
  long cap_effective;
  long cap_permitted;
  long cap_inheritable;
  long cap_ambient;
  long ready_fd;         /* box oci create: once in every namespace, the child writes ready_msg here */
  long ready_msg;        /* char* */
  long ready_len;
  long start_fifo;       /* and then waits for `box oci start`'s byte on this FIFO (open O_RDWR), or -1 */
  long seccomp_flags;    /* SECCOMP_FILTER_FLAG_* for the filter */
  long agent_socket;     /* a filter that notifies: a socket connected to the seccomp agent, or -1 */
  long agent_msg;        /* char* : what goes with the listener (runc's container process state) */
  long agent_len;
};

struct sock_fprog { unsigned short len; void *filter; };

struct cap_header { unsigned int version; int pid; };
struct cap_data { unsigned int effective, permitted, inheritable; };

/* The steps' names, for a report on stderr (box_exec: nobody reads an error pipe); in the
 * order of spawn.ts's STAGES. */
static const char *const stage_names[] = {
  "spawn", "prctl PR_SET_PDEATHSIG", "dup3", "cgroup join", "unshare", "setsid", "ioctl TIOCSCTTY",
  "prctl PR_CAPBSET_DROP", "setgroups", "setresgid", "setresuid", "capset", "chdir", "execve", "mount",
  "setns", "clone", "prlimit64", "prctl PR_SET_NO_NEW_PRIVS", "seccomp", "setns user namespace",
  "write setgroups, uid_map, gid_map", "chdir: the working directory is outside the container",
  "close_range", "getcwd", "wait for start",
};

static long text_length(const char *t) {
  long n = 0;
  while (t[n]) n++;
  return n;
}

static void write_text(const char *t) { syscall(SYS_write, 2, t, text_length(t)); }

/* A failed step: {stage, errno} on the error pipe, or with none (errfd < 0: box_exec) one line on
 * stderr, the container's; then exit 127, as a command that cannot be run. */
static void fail(long errfd, int stage, long ret) {
  int report[2];
  report[0] = stage;
  report[1] = (int)-ret;
  if (errfd >= 0) {
    syscall(SYS_write, errfd, report, sizeof(report));
  } else {
    char number[12];
    int i = 11, e = (int)-ret;
    number[i] = 0;
    do number[--i] = (char)('0' + e % 10); while ((e /= 10) && i > 0);
    write_text("box: starting the container's process: ");
    write_text(stage >= 0 && stage < (int)(sizeof(stage_names) / sizeof(stage_names[0])) ? stage_names[stage] : "spawn");
    write_text(": errno ");
    write_text(number + i);
    write_text("\n");
  }
  syscall(SYS_exit_group, 127);
}

/* The kernel's struct sigaction on x86_64. */
struct kernel_sigaction { void *handler; unsigned long flags; void *restorer; unsigned long mask; };

/* The listener goes to the agent from here, with the filter already in (the agent answers the
 * calls it notifies, so this one must not be among them: sendmsg is refused in such a profile);
 * runc's parent sends it instead, but this child's parent waits (CLONE_VFORK) until the exec. */
static void load_seccomp(struct spawn_spec *s, long agent) {
  struct sock_fprog prog = { (unsigned short)s->seccomp_len, (void *)s->seccomp_filter };
  /* With a listener, seccomp(2) returns its descriptor. */
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->seccomp_flags | (agent >= 0 ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0), &prog);
  if (r < 0) fail(s->errfd, 19, -(long)*__errno_location());
  if (agent >= 0) {
    struct iovec iov = { (void *)s->agent_msg, (unsigned long)s->agent_len };
    /* struct cmsghdr (len, level, type) and one descriptor, padded to CMSG_SPACE(sizeof(int)). */
    union { char bytes[24]; unsigned long align; } control;
    struct msghdr msg = { 0, 0, &iov, 1, control.bytes, sizeof(control.bytes), 0 };
    long listener = r;
    *(unsigned long *)control.bytes = 20;
    *(int *)(control.bytes + 8) = SOL_SOCKET;
    *(int *)(control.bytes + 12) = SCM_RIGHTS;
    *(int *)(control.bytes + 16) = (int)listener;
    do r = syscall(SYS_sendmsg, agent, &msg, MSG_NOSIGNAL);
    while (r < 0 && *__errno_location() == EINTR);
    if (r < 0) fail(s->errfd, 26, -(long)*__errno_location());
    syscall(SYS_close, listener);
    syscall(SYS_close, agent);
  }
}

/* Closes every descriptor above 2 but the payload's (the dup3 targets), the error pipe and the
 * shim, with close_range over the gaps between them. */
static void close_host_fds(struct spawn_spec *s, long shim, long ready, long fifo, long agent) {
  int keep[69];
  int n = 0, i, j, next = 3;
  long r;
  for (i = 0; i < s->nfds && i < 64; i++) keep[n++] = ((int *)s->fds)[2 * i + 1];
  keep[n++] = (int)s->errfd;
  if (shim >= 0) keep[n++] = (int)shim;
  if (ready >= 0) keep[n++] = (int)ready;
  if (fifo >= 0) keep[n++] = (int)fifo;
  if (agent >= 0) keep[n++] = (int)agent;
  for (i = 1; i < n; i++)
    for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  for (i = 0; i < n; i++) {
    if (keep[i] > next && (r = SC(SYS_close_range, next, keep[i] - 1, 0)) < 0) fail(s->errfd, 23, r);
    if (keep[i] >= next) next = keep[i] + 1;
  }
  if ((r = SC(SYS_close_range, next, ~0U, 0)) < 0) fail(s->errfd, 23, r);
}

static int child(void *arg) {
  struct spawn_spec *s = (struct spawn_spec *)arg;
  long r;
  int i;
  int *fds = (int *)s->fds;
  int moved[64];
  long shim, program, ready = -1, fifo = -1, agent = -1, cwd_entered = 0;
  unsigned long keep = 0;
  char zero = '0';
  unsigned long empty = 0;
  struct kernel_sigaction dfl = {0, 0, 0, 0};
  /* The child shares the parent's memory until exec: none of Bun's handlers may run here. And
   * the payload starts with default dispositions, not the SIGPIPE Bun ignores. */
  for (i = 1; i <= NSIG; i++)
    if (i != 9 && i != 19) syscall(SYS_rt_sigaction, i, &dfl, 0, 8);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, 0, 8);
  if (s->own_maps) {
    static const char *files[3] = {"/proc/self/setgroups", "/proc/self/uid_map", "/proc/self/gid_map"};
    for (i = 0; i < 3; i++) {
      const char *text = ((const char **)s->own_maps)[i];
      long len = 0, fd = syscall(SYS_open, files[i], O_WRONLY, 0);
      while (text[len]) len++;
      if (fd < 0) fail(s->errfd, 21, -(long)*__errno_location());
      if ((r = SC(SYS_write, fd, text, len)) < 0) fail(s->errfd, 21, r);
      syscall(SYS_close, fd);
    }
  }
  if (s->pdeathsig && (r = SC(SYS_prctl, PR_SET_PDEATHSIG, s->pdeathsig, 0, 0, 0)) < 0) fail(s->errfd, 1, r);
  /* Move every source out of the way first so a source never clobbers another's target. */
  for (i = 0; i < s->nfds && i < 64; i++) {
    moved[i] = (int)syscall(SYS_fcntl, fds[2 * i], F_DUPFD_CLOEXEC, 100);
    if (moved[i] < 0) fail(s->errfd, 2, -(long)*__errno_location());
  }
  /* Out of the targets' way too; close-on-exec, as execveat of a static ELF allows. */
  program = s->shim_fd >= 0 ? s->shim_fd : s->exec_fd;
  shim = program >= 0 ? syscall(SYS_fcntl, program, F_DUPFD_CLOEXEC, 100) : -1;
  if (program >= 0 && shim < 0) fail(s->errfd, 2, -(long)*__errno_location());
  if (s->ready_fd >= 0 && (ready = syscall(SYS_fcntl, s->ready_fd, F_DUPFD_CLOEXEC, 100)) < 0) fail(s->errfd, 2, -(long)*__errno_location());
  if (s->start_fifo >= 0 && (fifo = syscall(SYS_fcntl, s->start_fifo, F_DUPFD_CLOEXEC, 100)) < 0) fail(s->errfd, 2, -(long)*__errno_location());
  if (s->agent_socket >= 0 && (agent = syscall(SYS_fcntl, s->agent_socket, F_DUPFD_CLOEXEC, 100)) < 0) fail(s->errfd, 2, -(long)*__errno_location());
  /* Everything above fd 2 closes at exec, but for the targets dup3 makes below. */
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  for (i = 0; i < s->nfds && i < 64; i++)
    if ((r = SC(SYS_dup3, moved[i], fds[2 * i + 1], 0)) < 0) fail(s->errfd, 2, r);
  for (i = 0; i < s->ncgroups; i++)
    if ((r = SC(SYS_write, ((int *)s->cgroups)[i], &zero, 1)) < 0) fail(s->errfd, 3, r);
  if (s->join_userns_first >= 0 && (r = SC(SYS_setns, s->join_userns_first, CLONE_NEWUSER)) < 0) fail(s->errfd, 20, r);
  for (i = 0; i < s->nsetns; i++)
    if ((r = SC(SYS_setns, ((int *)s->setns_fds)[i], 0)) < 0) fail(s->errfd, 15, r);
  if (s->fork_inner) {
    /* The inner child becomes the caller's child (CLONE_PARENT) in the joined pid namespace,
     * where the container's processes see it at once: it is born not dumpable (its memory is a
     * copy of this one's), so none of them may open its descriptors (box's, until execve). This
     * outer one reports its pid and exits, which lets the caller run on. */
    syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
    r = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
    if (r < 0) fail(s->errfd, 16, -(long)*__errno_location());
    if (r > 0) {
      int inner = (int)r;
      syscall(SYS_write, s->pidfd, &inner, sizeof(inner));
      syscall(SYS_exit_group, 0);
    }
  }
  if (s->unshare_flags && (r = SC(SYS_unshare, s->unshare_flags)) < 0) fail(s->errfd, 4, r);
  /* e.g. cgroupfs, which shows the cgroup namespace of whoever mounts it: this child's. */
  for (i = 0; i < s->nmounts; i++) {
    long *m = (long *)s->mounts + 5 * i;
    if ((r = SC(SYS_mount, m[0], m[1], m[2], m[3], m[4])) < 0) fail(s->errfd, 14, r);
  }
  /* Before the user switch and the user namespace: raising a hard limit needs CAP_SYS_RESOURCE
   * in the host's user namespace, which either takes away. */
  for (i = 0; i < s->nrlimits; i++) {
    long *l = (long *)s->rlimits + 3 * i;
    if ((r = SC(SYS_prlimit64, 0, l[0], &l[1], 0)) < 0) fail(s->errfd, 17, r);
  }
  /* Last of the namespaces: every one above is owned by the host's user namespace and needs its
   * capabilities to enter or mount in. The kernel lets only a process with a memory of its own
   * enter a user namespace: this is the inner child (fork_inner), never the one sharing Bun's. */
  if (s->userns_fd >= 0 && (r = SC(SYS_setns, s->userns_fd, CLONE_NEWUSER)) < 0) fail(s->errfd, 20, r);
  if (s->setsid && (r = SC(SYS_setsid)) < 0) fail(s->errfd, 5, r);
  if (s->ctty && (r = SC(SYS_ioctl, 0, TIOCSCTTY, 0)) < 0) fail(s->errfd, 6, r);
  /* No descriptor of box's (store roots, the host's /proc, cgroup directories) may outlive this
   * point, the last that uses one: a working directory or program path through /proc/self/fd/N
   * would reach the host (CVE-2024-21626). Close-on-exec is not enough, since chdir and execve
   * come before the exec. Before the filter, which may not allow close_range (older profiles). */
  close_host_fds(s, shim, ready, fifo, agent);
  /* As runc: the working directory is entered first with every privilege (one the user cannot
   * reach but box can: root's 0700 home for another uid), and again after the user switch only
   * where that was refused (one that only the user may reach). Before create reports, so that a
   * missing one fails the create. */
  if (s->cwd) {
    r = SC(SYS_chdir, s->cwd);
    if (r == 0) cwd_entered = 1;
    else if (r != -EACCES && r != -EPERM) fail(s->errfd, 12, r);
  }
  /* box oci create (runc's model): the process is in every namespace and cgroup of the container
   * now, which is what "created" promises its clients; it reports so and waits here, before the
   * user switch, for `box oci start`'s byte. The FIFO was opened O_RDWR by the init, so no
   * permission or path of the host is needed for it from inside. */
  if (ready >= 0) {
    if ((r = SC(SYS_write, ready, s->ready_msg, s->ready_len)) < 0) fail(s->errfd, 25, r);
    syscall(SYS_close, ready);
    /* Whoever reads the error pipe (box oci create) is done with it: from here a failure is one
     * line on the container's stderr. */
    if (s->errfd >= 0) {
      syscall(SYS_close, s->errfd);
      s->errfd = -1;
    }
  }
  if (fifo >= 0) {
    char go;
    do r = syscall(SYS_read, fifo, &go, 1);
    while (r < 0 && *__errno_location() == EINTR);
    if (r != 1) fail(s->errfd, 25, r < 0 ? -(long)*__errno_location() : -EPIPE);
    /* Kept (close-on-exec) until the execve: `box oci start` returns once no writer is left. */
  }
  /* Without no_new_privs the filter must go in while every capability is still there (loading
   * one needs CAP_SYS_ADMIN then); what runs after it here (prctl, setgroups, setres[ug]id,
   * capset, chdir, getcwd, execveat, execve) Docker's profile allows. With no_new_privs it goes in
   * last, just before execve, so that a profile refusing any of those cannot stop the start. */
  if (s->seccomp_len && !s->no_new_privs) load_seccomp(s, agent);
  /* What is kept is what was asked for and is still in the bounding set: a capability box itself
   * lacks (a host may have taken some from it) is never given. Reading past the last one the
   * kernel knows says EINVAL. */
  if (s->set_caps) {
    for (i = 0; i < 64 && (r = syscall(SYS_prctl, PR_CAPBSET_READ, i, 0, 0, 0)) >= 0; i++) {
      if (r == 1 && ((s->cap_keep >> i) & 1)) keep |= 1UL << i;
      else if (r == 1 && (r = SC(SYS_prctl, PR_CAPBSET_DROP, i, 0, 0, 0)) < 0) fail(s->errfd, 7, r);
    }
    if (!s->cap_sets && s->set_user && s->uid != 0) keep = 0;
    /* Another user keeps its permitted set through the switch only so (runc's order): the sets
     * are set after it, and what is ambient survives its execve. */
    if (s->cap_sets && (r = SC(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0)) < 0) fail(s->errfd, 11, r);
  }
  if (s->set_user) {
    if (s->ngroups >= 0 && (r = SC(SYS_setgroups, s->ngroups, s->groups)) < 0) fail(s->errfd, 8, r);
    if ((r = SC(SYS_setresgid, s->gid, s->gid, s->gid)) < 0) fail(s->errfd, 9, r);
    if ((r = SC(SYS_setresuid, s->uid, s->uid, s->uid)) < 0) fail(s->errfd, 10, r);
  }
  if (s->set_caps) {
    struct cap_header h;
    struct cap_data d[2];
    h.version = CAPS_V3;
    h.pid = 0;
    unsigned long eff = keep, prm = keep, inh = 0, amb = 0;
    /* Each set within what the bounding set kept; ambient only where permitted and inheritable
     * allow it, as the kernel requires (runc leaves out what it cannot raise, too). */
    if (s->cap_sets) {
      prm = (unsigned long)s->cap_permitted & keep;
      eff = (unsigned long)s->cap_effective & prm;
      inh = (unsigned long)s->cap_inheritable & keep;
      amb = (unsigned long)s->cap_ambient & prm & inh;
    }
    d[0].effective = (unsigned int)eff;
    d[1].effective = (unsigned int)(eff >> 32);
    d[0].permitted = (unsigned int)prm;
    d[1].permitted = (unsigned int)(prm >> 32);
    d[0].inheritable = (unsigned int)inh;
    d[1].inheritable = (unsigned int)(inh >> 32);
    if ((r = SC(SYS_capset, &h, d)) < 0) fail(s->errfd, 11, r);
    if ((r = SC(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) < 0) fail(s->errfd, 11, r);
    for (i = 0; i < 64; i++)
      if (((amb >> i) & 1) && (r = SC(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0)) < 0) fail(s->errfd, 11, r);
  }
  if (s->cwd && !cwd_entered && (r = SC(SYS_chdir, s->cwd)) < 0) fail(s->errfd, 12, r);
  /* And the directory reached must be inside the container's root: the kernel says
   * "(unreachable)" for one that is not (a link through another process's /proc/PID/cwd). */
  if (s->cwd) {
    char where[4096];
    if ((r = SC(SYS_getcwd, where, sizeof(where))) < 0) fail(s->errfd, 24, r);
    if (where[0] != '/') fail(s->errfd, 22, -EXDEV);
  }
  if (s->no_new_privs && (r = SC(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0) fail(s->errfd, 18, r);
  /* Until execve, this child shares box's memory (CLONE_VM) and holds its error pipe with the
   * payload's credentials: nobody in the container may read them through /proc/PID/mem or fd
   * (execve makes it dumpable again). */
  syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (s->seccomp_len && s->no_new_privs) load_seccomp(s, agent);
  if (s->exec_fd >= 0) {
    r = SC(SYS_execveat, shim, "", s->argv, s->envp, AT_EMPTY_PATH);
  } else if (shim >= 0) {
    /* The shim reports a failed execve of the payload itself, on the same pipe. */
    if (s->errfd >= 0 && (r = SC(SYS_fcntl, s->errfd, F_SETFD, 0)) < 0) fail(s->errfd, 2, r);
    r = SC(SYS_execveat, shim, "", s->shim_argv, s->envp, AT_EMPTY_PATH);
  } else {
    r = SC(SYS_execve, s->path, s->argv, s->envp);
  }
  fail(s->errfd, 13, r);
  return 0;
}

/* Only the JavaScript main thread spawns, and the parent waits (CLONE_VFORK) until the child
 * has exec'd or failed, so one stack serves every child. */
static char child_stack[64 * 1024] __attribute__((aligned(16)));

/*
 * The child's steps on the calling thread itself, which becomes the process (box oci's init at
 * start: the container's process keeps its pid, as under runc). No namespace is entered here that
 * needs a single-threaded caller (a user namespace): the caller is multi-threaded, and its other
 * threads end at execve. Returns only if the spec asks for what cannot be done so.
 */
long box_exec(struct spawn_spec *s) {
  if (s->fork_inner || s->userns_fd >= 0 || s->join_userns_first >= 0 || s->own_maps || s->setsid) return -22;
  child(s);
  return -22;
}

/*
 * Returns the child's pid, or -errno when clone itself failed. CLONE_VM|CLONE_VFORK, as
 * posix_spawn does: no copy of Bun's page tables, so starting a child costs the same whatever
 * the size of the parent. Signals stay blocked in the parent across the clone so that the
 * child starts with none pending to a handler it must not run.
 */
long box_spawn(struct spawn_spec *s) {
  unsigned long all = ~0UL, saved;
  long pid;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &saved, 8);
  pid = clone(child, child_stack + sizeof(child_stack), (int)(s->clone_flags | (s->join_userns_first >= 0 ? 0 : CLONE_VM) | CLONE_VFORK | SIGCHLD), s);
  if (pid < 0) pid = -(long)*__errno_location();
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &saved, 0, 8);
  return pid;
}

/*
 * A process that only holds a new user namespace until it is SIGKILLed: the caller writes its
 * uid_map and gid_map (the kernel takes maps only for a live process), opens
 * /proc/PID/ns/user, then kills and reaps it. A copy of the caller's memory rather than
 * CLONE_VM, because a child in a new user namespace that shares its memory would leave the
 * parent blocked (CLONE_VFORK) or running on the child's stack. Every signal stays blocked in
 * it, so no handler of Bun's runs in the copy; it dies with its parent.
 */
long box_userns_holder(void) {
  unsigned long all = ~0UL, saved;
  long pid;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &saved, 8);
  pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    syscall(SYS_prctl, PR_SET_PDEATHSIG, 9, 0, 0, 0);
    for (;;) syscall(SYS_pause);
  }
  if (pid < 0) pid = -(long)*__errno_location();
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &saved, 0, 8);
  return pid;
}

/*
 * A copy of the mount at `path` inside the mount namespace `ns_fd` (another container's
 * /dev/shm, for --ipc container:NAME): a detached tree, as open_tree(OPEN_TREE_CLONE) makes, in
 * the caller's descriptor table. The namespace is entered by a child process that shares the
 * caller's memory and descriptors (CLONE_VM|CLONE_FILES) but not its root and working directory,
 * so that no thread of the caller's ever stands in the other namespace: a thread of Bun's
 * started meanwhile would share a root that one of its threads had moved there (and leaving it
 * again then fails with EINVAL). `path` is resolved inside that namespace's root. Returns the
 * tree's descriptor, or -(stage << 16 | errno) with stage 1 setns, 2 open /, 3 openat2, 4 open_tree.
 */
struct mount_copy { long ns_fd; long path; long result; };

#define SYS_open_tree 428
#define CLONE_NEWNS 0x00020000
#define SYS_openat2 437
#define OPEN_TREE_CLONE 1
#define O_PATH 010000000
#define O_DIRECTORY 0200000
#define O_CLOEXEC_ 02000000
#define AT_RECURSIVE 0x8000
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT 0x10
#define CLONE_FILES 0x400

struct open_how { unsigned long long flags, mode, resolve; };

static int copy_mount_child(void *arg) {
  struct mount_copy *c = (struct mount_copy *)arg;
  struct open_how how = { O_PATH | O_DIRECTORY | O_CLOEXEC_, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  long r, root, dir;
  if ((r = SC(SYS_setns, c->ns_fd, CLONE_NEWNS)) < 0) { c->result = -(1L << 16 | -r); syscall(SYS_exit_group, 0); }
  if ((root = syscall(SYS_open, "/", O_PATH | O_DIRECTORY | O_CLOEXEC_, 0)) < 0) { c->result = -(2L << 16 | *__errno_location()); syscall(SYS_exit_group, 0); }
  dir = syscall(SYS_openat2, root, c->path, &how, sizeof(how));
  if (dir < 0) { c->result = -(3L << 16 | *__errno_location()); syscall(SYS_close, root); syscall(SYS_exit_group, 0); }
  r = syscall(SYS_open_tree, dir, "", OPEN_TREE_CLONE | O_CLOEXEC_ | AT_EMPTY_PATH);
  c->result = r < 0 ? -(4L << 16 | *__errno_location()) : r;
  syscall(SYS_close, dir);
  syscall(SYS_close, root);
  syscall(SYS_exit_group, 0);
  return 0;
}

long box_copy_mount(struct mount_copy *c) {
  static char stack[16 * 1024] __attribute__((aligned(16)));
  unsigned long all = ~0UL, saved;
  long pid;
  c->result = -(1L << 16);
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &saved, 8);
  pid = clone(copy_mount_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, c);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &saved, 0, 8);
  return pid < 0 ? -(long)*__errno_location() : pid;
}
