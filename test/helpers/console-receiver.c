// The caller's side of runc's --console-socket, as containerd's shim does it: listen on a unix
// socket, accept one connection, receive one descriptor (SCM_RIGHTS) and the name sent with it,
// then print the name and copy whatever the terminal says to stdout until it closes.
// Usage: console-receiver SOCKET [INPUT]  (INPUT, if given, is typed into the terminal)
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
  unlink(argv[1]);
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) || listen(s, 1)) { perror("listen"); return 1; }
  printf("listening\n");
  fflush(stdout);
  int c = accept(s, 0, 0);
  if (c < 0) { perror("accept"); return 1; }
  char name[4096] = {0};
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {name, sizeof name - 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  if (recvmsg(c, &msg, 0) <= 0) { perror("recvmsg"); return 1; }
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int))) { fprintf(stderr, "no descriptor\n"); return 1; }
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  printf("name=%s\n", name);
  fflush(stdout);
  if (argc > 2) write(fd, argv[2], strlen(argv[2]));
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) write(1, buf, n);
  return 0;
}
