// SPDX-License-Identifier: Apache-2.0
//
// A stand-in for runc's contrib/cmd/recvtty, the console-socket receiver that
// runc's bats integration suite starts for every test (helpers.bash and
// update.bats), built by scripts/runc-bats.sh with `cc -O2`.
//
//   recvtty [--mode single|null] [--pid-file FILE] [--no-stdin] SOCKET
//
// The runtime connects to SOCKET and sends the pty master with SCM_RIGHTS.
// - single: accept one connection, clear ONLCR on the master (as runc's
//   recvtty does), then copy master -> stdout, and stdin -> master unless
//   --no-stdin, until the master side ends.
// - null: accept any number of connections and discard what each master
//   yields. One process, no threads or children: killing it (the suite does
//   `kill -9`) closes every master, which hangs up the containers.
//
// It is C rather than a script because the suite starts it in the
// background and does not wait for the socket: a slow start-up (a Python
// interpreter on a loaded machine) loses the race against `runc run
// --console-socket` ("connect: no such file or directory").
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define MAX_MASTERS 1024

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "[recvtty] fatal error: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

// The pty master sent over conn, or -1.
static int receive_master(int conn)
{
	char byte;
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	ssize_t n;
	do {
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			return fd;
		}
	}
	return -1;
}

// Write all of buf to fd; 0 on success.
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void handle_single(int listener, int no_stdin)
{
	int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		fail("accept", strerror(errno));
	close(listener); // let another instance take over the path
	int master = receive_master(conn);
	close(conn);
	if (master < 0)
		fail("no pty master received on the console socket", NULL);
	struct termios t;
	if (tcgetattr(master, &t) == 0) {
		t.c_oflag &= ~(tcflag_t)ONLCR;
		tcsetattr(master, TCSANOW, &t);
	}

	struct pollfd fds[2] = {{.fd = master, .events = POLLIN}, {.fd = no_stdin ? -1 : 0, .events = POLLIN}};
	char buf[65536];
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll", strerror(errno));
		}
		if (fds[0].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) // EOF, or EIO once the slave side is closed
				break;
			if (write_all(1, buf, (size_t)n) != 0)
				break;
		}
		if (fds[1].revents) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0 || write_all(master, buf, (size_t)n) != 0)
				fds[1].fd = -1; // stdin is done; keep copying output
		}
	}
	close(master);
}

static void handle_null(int listener)
{
	static struct pollfd fds[MAX_MASTERS + 1];
	nfds_t count = 1;
	char buf[65536];
	fds[0] = (struct pollfd){.fd = listener, .events = POLLIN};
	for (;;) {
		if (poll(fds, count, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll", strerror(errno));
		}
		for (nfds_t i = 1; i < count; i++) {
			if (!fds[i].revents)
				continue;
			ssize_t n = read(fds[i].fd, buf, sizeof(buf));
			if (n > 0 || (n < 0 && errno == EINTR))
				continue;
			close(fds[i].fd);
			fds[i--] = fds[--count];
		}
		if (fds[0].revents & POLLIN) {
			int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
			if (conn < 0)
				continue;
			int master = receive_master(conn);
			close(conn);
			if (master < 0)
				continue;
			if (count > MAX_MASTERS) {
				close(master);
				continue;
			}
			fds[count++] = (struct pollfd){.fd = master, .events = POLLIN};
		}
	}
}

int main(int argc, char **argv)
{
	const char *mode = "single", *pid_file = NULL, *path = NULL;
	int no_stdin = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--mode") || !strcmp(a, "-mode") || !strcmp(a, "-m")) {
			if (++i == argc)
				fail("--mode needs a value", NULL);
			mode = argv[i];
		} else if (!strncmp(a, "--mode=", 7)) {
			mode = a + 7;
		} else if (!strcmp(a, "--pid-file") || !strcmp(a, "-pid-file")) {
			if (++i == argc)
				fail("--pid-file needs a value", NULL);
			pid_file = argv[i];
		} else if (!strncmp(a, "--pid-file=", 11)) {
			pid_file = a + 11;
		} else if (!strcmp(a, "--no-stdin") || !strcmp(a, "-no-stdin")) {
			no_stdin = 1;
		} else if (a[0] == '-' && a[1] != '\0') {
			fail("unknown flag", a);
		} else if (path) {
			fail("need to specify a single socket path", NULL);
		} else {
			path = a;
		}
	}
	if (!path)
		fail("need to specify a single socket path", NULL);
	if (strcmp(mode, "single") && strcmp(mode, "null"))
		fail("need to select a valid mode", mode);

	if (pid_file) {
		FILE *f = fopen(pid_file, "we");
		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0)
			fail("write pid file", pid_file);
	}

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path))
		fail("socket path too long", path);
	strcpy(addr.sun_path, path);
	int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0)
		fail("socket", strerror(errno));
	if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(listener, 64) < 0)
		fail(path, strerror(errno));

	if (!strcmp(mode, "single"))
		handle_single(listener, no_stdin);
	else
		handle_null(listener);
	return 0;
}
