// SPDX-License-Identifier: GPL-2.0
/*
 * Allocate a buffer from the revocable heap, hand it to another process,
 * then take it back - as an ordinary user: the process that allocates a
 * buffer owns it and may revoke it; whoever receives the fd may not.
 *
 *   cc -o revocable-heap revocable-heap.c && ./revocable-heap
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/dma-heap.h>
#include <linux/dmabuf_revoke.h>

#define SIZE 4096

/* Pass an fd over a UNIX socket (SCM_RIGHTS), or receive one. */
static int pass_fd(int sock, int fd)
{
	char c = 0, cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	if (fd < 0)
		return recvmsg(sock, &m, 0) == 1 && (cm = CMSG_FIRSTHDR(&m)) ?
		       *(int *)CMSG_DATA(cm) : -1;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static sigjmp_buf gone;

static void on_sigbus(int sig)
{
	siglongjmp(gone, sig);
}

/* The other process: maps what it was given and reads it, twice. */
static int consumer(int sock)
{
	int fd = pass_fd(sock, -1);
	volatile char *p;
	char c;

	p = fd < 0 ? MAP_FAILED : mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	printf("consumer: reads \"%s\"\n", (const char *)p);
	if (write(sock, "r", 1) != 1 || read(sock, &c, 1) != 1)
		return 1;
	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(gone, 1) == 0) {
		c = p[0];
		printf("consumer: still reads it - the revoke failed\n");
		return 1;
	}
	printf("consumer: the buffer is gone (SIGBUS)\n");
	return 0;
}

int main(void)
{
	struct dma_heap_allocation_data alloc = {
		.len = SIZE, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	struct dmabuf_revoke_revoke rv = { .size = sizeof(rv) };
	int heap, ctl, sv[2], status;
	char *p, c;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* both processes print */
	heap = open("/dev/dma_heap/revocable", O_RDWR | O_CLOEXEC);
	ctl = open("/dev/dmabuf_revoke", O_RDWR | O_CLOEXEC);
	if (heap < 0 || ctl < 0 || ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc)) {
		perror("revocable heap (modprobe dmabuf_revoke_heap)");
		return 1;
	}
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, alloc.fd, 0);
	if (p == MAP_FAILED || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	strcpy(p, "hello from the owner");
	munmap(p, SIZE);

	pid = fork();
	if (pid == 0)
		_exit(consumer(sv[1]));
	if (pass_fd(sv[0], alloc.fd) || read(sv[0], &c, 1) != 1)
		return 1;

	/* Take it back: every mapping, attachment and access path dies. */
	rv.fd = alloc.fd;
	if (ioctl(ctl, DMABUF_REVOKE_IOC_REVOKE, &rv)) {
		perror("DMABUF_REVOKE_IOC_REVOKE");
		return 1;
	}
	printf("owner: revoked it (%u user mapping zapped)\n",
	       rv.report.user_mappings);
	if (write(sv[0], "g", 1) != 1 || waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
