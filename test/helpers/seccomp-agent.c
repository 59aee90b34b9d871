// A seccomp agent, as a bundle's linux.seccomp.listenerPath names one: it listens on a unix
// socket; each connection brings one listener (SCM_RIGHTS) with runc's container process state,
// which it prints as one line. Every mkdir/mkdirat a listener notifies is answered "done" without
// being done, so the container sees success and no directory: only the agent can have answered.
// It ends after SECONDS without anything to do.
// Usage: seccomp-agent SOCKET SECONDS
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LISTENERS 16

static int receive(int s) {
  int c = accept(s, 0, 0);
  if (c < 0) return -1;
  char state[8192] = {0};
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {state, sizeof state - 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n = recvmsg(c, &msg, 0);
  close(c);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (n <= 0 || !cm || cm->cmsg_type != SCM_RIGHTS) {
    printf("no listener\n");
    return -1;
  }
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  printf("%s\n", state);
  return fd;
}

static void answer(int fd) {
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  memset(&req, 0, sizeof req);
  if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return;
  memset(&resp, 0, sizeof resp);
  resp.id = req.id;
  if (req.data.nr == SYS_mkdir || req.data.nr == SYS_mkdirat) {
    printf("answered %s\n", req.data.nr == SYS_mkdir ? "mkdir" : "mkdirat");
  } else {
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  }
  ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  setvbuf(stdout, 0, _IOLBF, 0);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
  unlink(argv[1]);
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) || listen(s, 4)) {
    perror("listen");
    return 1;
  }
  printf("listening\n");
  struct pollfd p[1 + MAX_LISTENERS];
  int n = 1;
  p[0] = (struct pollfd){s, POLLIN, 0};
  for (;;) {
    int r = poll(p, n, atoi(argv[2]) * 1000);
    if (r <= 0) break;
    if ((p[0].revents & POLLIN) && n < 1 + MAX_LISTENERS) {
      int fd = receive(s);
      if (fd >= 0) p[n++] = (struct pollfd){fd, POLLIN, 0};
    }
    for (int i = 1; i < n; i++) {
      if (p[i].revents & POLLIN) answer(p[i].fd);
      // The listener's processes have all gone: it is of no more use.
      if (p[i].revents & (POLLHUP | POLLERR)) {
        close(p[i].fd);
        p[i--] = p[--n];
      }
    }
  }
  return 0;
}
