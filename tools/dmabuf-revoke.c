// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf-revoke: list, query and revoke dma-bufs managed by the
 * dmabuf_revoke_shim module, including buffers held by other processes.
 * Plain C, libc only. See dmabuf-revoke(8).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/dmabuf_revoke.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define DEV_PATH	"/dev/dmabuf_revoke"
#define MAX_HOLDERS	4096

/* Exit codes (documented in dmabuf-revoke(8)). */
enum {
	EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_PERM = 3, EX_NOTARGET = 4,
	EX_NOTDMABUF = 5, EX_UNMANAGED = 6, EX_INCOMPLETE = 7, EX_INTR = 8,
	EX_NOSHIM = 9, EX_BUSY = 10,
};

static bool json;
static const char *prog = "dmabuf-revoke";

static int fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--json] COMMAND [TARGET] [OPTIONS]\n"
		"\n"
		"commands:\n"
		"  list                 every managed dma-buf, its state and who holds it\n"
		"  query TARGET         describe one dma-buf\n"
		"  revoke TARGET        revoke it for good (needs CAP_SYS_ADMIN)\n"
		"  revoke --exporter NAME\n"
		"                       revoke every managed dma-buf of that exporter (as\n"
		"                       'list' names it) in one call (needs CAP_SYS_ADMIN)\n"
		"  version              ABI version and features of the loaded shim\n"
		"\n"
		"TARGET (the dma-buf):\n"
		"  --pid PID --fd N     file descriptor N of process PID (pidfd_getfd)\n"
		"  --fd N               file descriptor N of this process\n"
		"  --inode INO          the buffer with this inode, as 'list' shows it\n"
		"\n"
		"options:\n"
		"  --timeout MS         revoke: how long to wait for importers and fences\n"
		"                       (default 5000, at most 600000; with --exporter, for\n"
		"                       all the buffers together)\n"
		"  --json               machine-readable output\n"
		"  -h, --help           this text\n"
		"\n"
		"exit status: 0 done, 1 failed, 2 usage, 3 no privilege, 4 no such\n"
		"process/fd/buffer, 5 not a dma-buf, 6 not managed by the shim,\n"
		"7 revoke incomplete, 8 interrupted, 9 shim not loaded, 10 busy (nothing\n"
		"changed; with --exporter: on some of the buffers).\n",
		prog);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int open_shim(int *fd)
{
	*fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return EX_OK;
	if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
		return fail(EX_NOSHIM, "%s is missing: the dmabuf_revoke_shim module is not loaded (try: modprobe dmabuf_revoke_shim)",
			    DEV_PATH);
	if (errno == EACCES || errno == EPERM)
		return fail(EX_PERM, "cannot open %s: permission denied (its mode keeps you out; run as root, or see README \"Privilege policy\")",
			    DEV_PATH);
	return fail(EX_FAIL, "cannot open %s: %s", DEV_PATH, strerror(errno));
}

/* A process's dma-buf holdings, found through /proc. */
struct holder {
	unsigned long ino;
	int pid;
	int fd;			/* -1: an mmap, not an fd */
	char comm[32];
};

static bool is_dmabuf_link(const char *path, unsigned long *ino)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n <= 0)
		return false;
	target[n] = 0;
	/* dma-buf files are named "/dmabuf:<name>" (dmabuffs_dname()). */
	if (!strstr(target, "dmabuf:") || stat(path, &st))
		return false;
	*ino = st.st_ino;
	return true;
}

static void read_comm(int pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	/* A process may exit at any point of a scan: no name then. */
	snprintf(comm, len, "?");
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = 0;
	else
		snprintf(comm, len, "?");
	fclose(f);
}

/* Every fd and mapping of a dma-buf in every process we may look at. */
static size_t scan_holders(struct holder *h, size_t max)
{
	struct dirent *pe, *fe;
	DIR *proc = opendir("/proc"), *fds;
	size_t n = 0;

	if (!proc)
		return 0;
	while ((pe = readdir(proc)) && n < max) {
		int pid = atoi(pe->d_name);
		char path[PATH_MAX], line[512], comm[32];
		FILE *maps;

		if (pid <= 0)
			continue;
		read_comm(pid, comm, sizeof(comm));
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		while (fds && (fe = readdir(fds)) && n < max) {
			unsigned long ino;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid,
				 fe->d_name);
			if (!is_dmabuf_link(path, &ino))
				continue;
			h[n] = (struct holder){ .ino = ino, .pid = pid,
						.fd = atoi(fe->d_name) };
			snprintf(h[n].comm, sizeof(h[n].comm), "%s", comm);
			n++;
		}
		if (fds)
			closedir(fds);
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
		maps = fopen(path, "r");
		while (maps && fgets(line, sizeof(line), maps) && n < max) {
			unsigned long ino;

			if (!strstr(line, "/dmabuf:") ||
			    sscanf(line, "%*s %*s %*s %*s %lu", &ino) != 1)
				continue;
			h[n] = (struct holder){ .ino = ino, .pid = pid, .fd = -1 };
			snprintf(h[n].comm, sizeof(h[n].comm), "%s", comm);
			n++;
		}
		if (maps)
			fclose(maps);
	}
	closedir(proc);
	return n;
}

/* The Tgid line of /proc/@pid/status (also there for a thread's id), or 0. */
static int tgid_of(int pid)
{
	char path[64], line[128];
	int tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	if (f)
		fclose(f);
	return tgid;
}

/*
 * Has the process behind @pidfd exited (a zombie, or reaped)? A pidfd
 * polls readable once the whole thread group has exited.
 */
static bool process_exited(int pidfd, int pid)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	char path[64], line[256], *state;
	FILE *f;
	bool gone = true;

	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
		return true;
	/* Exiting but not yet a zombie: /proc says so, or is gone. */
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f && fgets(line, sizeof(line), f)) {
		state = strrchr(line, ')');
		gone = state && state[1] == ' ' &&
		       (state[2] == 'Z' || state[2] == 'X');
	}
	if (f)
		fclose(f);
	return gone;
}

/*
 * Take fd @tfd of process @pid into ours. The process may exit, be reaped
 * or close the fd at any moment: every such race is "no such process" or
 * "no such fd" (EX_NOTARGET), said in words.
 */
static int grab_fd(int pid, int tfd, int *out)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), err, tgid;

	if (pidfd < 0) {
		err = errno;
		if (err == ENOSYS)
			return fail(EX_FAIL, "this kernel has no pidfd_open() (needs Linux 5.6 or later)");
		/*
		 * ESRCH: no such pid. EINVAL: the pid has no process (any
		 * more: it is being reaped), or it is a thread's id; newer
		 * kernels answer a thread's id with ENOENT.
		 */
		tgid = err == EINVAL || err == ENOENT ? tgid_of(pid) : 0;
		if (tgid > 0 && tgid != pid)
			return fail(EX_NOTARGET, "there is no process %d: %d is a thread of process %d (try --pid %d)",
				    pid, pid, tgid, tgid);
		if (tgid == pid)
			return fail(EX_NOTARGET, "process %d cannot be opened: it is exiting, or is a kernel thread (which holds no dma-buf fds)",
				    pid);
		if (err == ESRCH || err == EINVAL || err == ENOENT)
			return fail(EX_NOTARGET, "there is no process %d (check the id with 'list' or ps; it may just have exited)",
				    pid);
		return fail(EX_FAIL, "cannot open process %d (pidfd_open: %s); check the id and try again",
			    pid, strerror(err));
	}
	*out = (int)syscall(SYS_pidfd_getfd, pidfd, tfd, 0);
	err = errno;
	if (*out >= 0) {
		close(pidfd);
		return EX_OK;
	}
	/* A zombie has no files left: EBADF, as for a closed fd. */
	if (err == ESRCH || (err == EBADF && process_exited(pidfd, pid))) {
		close(pidfd);
		return fail(EX_NOTARGET, "there is no process %d any more: it exited before its fd %d could be taken",
			    pid, tfd);
	}
	close(pidfd);
	if (err == EBADF)
		return fail(EX_NOTARGET, "process %d has no file descriptor %d (it may just have closed it; see 'list')",
			    pid, tfd);
	if (err == EPERM || err == EACCES)
		return fail(EX_PERM, "not allowed to take fd %d of process %d (needs ptrace rights over it: run as root)",
			    tfd, pid);
	if (err == ENOSYS)
		return fail(EX_FAIL, "this kernel has no pidfd_getfd() (needs Linux 5.6 or later)");
	if (err == EMFILE || err == ENFILE)
		return fail(EX_FAIL, "cannot take fd %d of process %d: too many open files here; raise the limit (ulimit -n) and try again",
			    tfd, pid);
	return fail(EX_FAIL, "cannot take fd %d of process %d (pidfd_getfd: %s)",
		    tfd, pid, strerror(err));
}

/* Find a process holding dma-buf @ino and take its fd (or its mapping). */
static int grab_inode(unsigned long ino, int *out)
{
	struct holder *h = calloc(MAX_HOLDERS, sizeof(*h));
	size_t n, i;
	int ret = -1;

	if (!h)
		return fail(EX_FAIL, "out of memory");
	n = scan_holders(h, MAX_HOLDERS);
	for (i = 0; i < n && ret != EX_OK; i++) {
		int pidfd;

		if (h[i].ino != ino || h[i].fd < 0)
			continue;
		if (h[i].pid == getpid()) {
			*out = dup(h[i].fd);
			ret = *out >= 0 ? EX_OK : EX_FAIL;
			continue;
		}
		/*
		 * The same struct file, not a re-open of /proc/PID/fd/N (that
		 * would be a new file without the dma-buf behind it). Quietly
		 * try the next holder if this one went away.
		 */
		pidfd = (int)syscall(SYS_pidfd_open, h[i].pid, 0);
		if (pidfd < 0)
			continue;
		*out = (int)syscall(SYS_pidfd_getfd, pidfd, h[i].fd, 0);
		close(pidfd);
		if (*out >= 0)
			ret = EX_OK;
	}
	free(h);
	if (ret == EX_OK)
		return EX_OK;
	return fail(EX_NOTARGET, "no process holds an fd of dma-buf inode %lu that can be opened (see 'list'); buffers held only by the kernel or by mappings cannot be reached from user space",
		    ino);
}

struct target {
	int pid, fd;
	unsigned long ino;
	bool have_pid, have_fd, have_ino;
};

static int get_target(const struct target *t, int *out)
{
	if (t->have_ino && !t->have_fd && !t->have_pid)
		return grab_inode(t->ino, out);
	if (!t->have_fd || t->have_ino) {
		usage(stderr);
		return EX_USAGE;
	}
	if (t->have_pid)
		return grab_fd(t->pid, t->fd, out);
	*out = dup(t->fd);
	if (*out < 0)
		return fail(EX_NOTARGET, "this process has no file descriptor %d", t->fd);
	return EX_OK;
}

/* The exporter name of any dma-buf, from fdinfo, for messages. */
static void exp_name_of(int fd, char *name, size_t len)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	snprintf(name, len, "an unknown exporter");
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "exp_name:", 9)) {
			char *v = line + 9;

			while (isspace((unsigned char)*v))
				v++;
			v[strcspn(v, "\n")] = 0;
			snprintf(name, len, "%.63s", v);
		}
	if (f)
		fclose(f);
}

static int explain(int err, int fd, const char *what)
{
	char name[64];

	switch (err) {
	case EPERM:
		if (!strcmp(what, "REVOKE"))
			return fail(EX_PERM, "REVOKE needs CAP_SYS_ADMIN: run as root (without it, only the process that allocated the buffer from a revocable heap may revoke it)");
		return fail(EX_PERM, "%s needs CAP_SYS_ADMIN: run as root", what);
	case EBADF:
		return fail(EX_NOTARGET, "the target is not an open file descriptor");
	case EINVAL:
		return fail(EX_NOTDMABUF, "the target is not a dma-buf");
	case ENOENT:
		exp_name_of(fd, name, sizeof(name));
		return fail(EX_UNMANAGED, "this dma-buf (exported by %s) is not managed by dmabuf-revoke; it was left untouched",
			    name);
	case EINTR:
		return fail(EX_INTR, "interrupted while waiting: the buffer is revoked if the revoke had started ('query' tells); run the command again to finish it and see the report");
	case ETIMEDOUT:
		return fail(EX_BUSY, "the buffer's locks were held by someone else for the whole timeout, so the revoke could not start; nothing changed - try again, or with a longer --timeout");
	case ENOTTY:
		return fail(EX_FAIL, "the loaded shim does not know this command (is it older than this tool?)");
	default:
		return fail(EX_FAIL, "%s failed: %s", what, strerror(err));
	}
}

static const char *state_words(__u32 state)
{
	if (!(state & DMABUF_REVOKE_STATE_REVOKED))
		return "live";
	return state & DMABUF_REVOKE_STATE_COMPLETE ? "revoked" :
						      "revoked (not complete)";
}

static void print_holders(unsigned long ino, const struct holder *h, size_t n)
{
	size_t i;
	bool any = false;

	for (i = 0; i < n; i++) {
		if (h[i].ino != ino)
			continue;
		if (json) {
			printf("%s{\"pid\": %d, \"comm\": ", any ? ", " : "",
			       h[i].pid);
			json_str(h[i].comm);
			printf(", \"fd\": %d}", h[i].fd);
		} else if (h[i].fd >= 0) {
			printf("%s%d (%s) fd %d", any ? ", " : "", h[i].pid,
			       h[i].comm, h[i].fd);
		} else {
			printf("%s%d (%s) mmap", any ? ", " : "", h[i].pid,
			       h[i].comm);
		}
		any = true;
	}
	if (!any && !json)
		printf("none visible");
}

static void print_query(const struct dmabuf_revoke_query *q,
			const struct holder *h, size_t nh)
{
	if (json) {
		printf("{\"inode\": %llu, \"size\": %llu, \"exporter\": ",
		       (unsigned long long)q->inode,
		       (unsigned long long)q->buf_size);
		json_str(q->exp_name);
		printf(", \"state\": \"%s\", \"revoked\": %s, \"complete\": %s, \"strict\": %s, "
		       "\"attachments\": %u, \"dynamic\": %u, \"static\": %u, "
		       "\"mappings\": %u, \"pins\": %u, \"user_mappings\": %u, \"vmaps\": %u",
		       q->state & DMABUF_REVOKE_STATE_REVOKED ? "revoked" : "live",
		       q->state & DMABUF_REVOKE_STATE_REVOKED ? "true" : "false",
		       q->state & DMABUF_REVOKE_STATE_COMPLETE ? "true" : "false",
		       q->state & DMABUF_REVOKE_STATE_STRICT ? "true" : "false",
		       q->attachments, q->dynamic_attachments,
		       q->static_attachments, q->mappings, q->pins,
		       q->user_mappings, q->vmaps);
		if (h) {
			printf(", \"holders\": [");
			print_holders(q->inode, h, nh);
			printf("]");
		}
		printf("}");
		return;
	}
	printf("dma-buf inode %llu: %s, %llu bytes, exported by %s%s%s\n",
	       (unsigned long long)q->inode, state_words(q->state),
	       (unsigned long long)q->buf_size, q->exp_name,
	       q->state & DMABUF_REVOKE_STATE_STRICT ? " (strict)" : "",
	       q->state & DMABUF_REVOKE_STATE_OWNER ?
	       " (yours: you may revoke it)" : "");
	printf("  attachments: %u (%u dynamic, %u static); device mappings: %u; pins: %u\n",
	       q->attachments, q->dynamic_attachments, q->static_attachments,
	       q->mappings, q->pins);
	printf("  user mappings: %u; kernel vmaps: %u\n", q->user_mappings,
	       q->vmaps);
	if (h) {
		printf("  held by: ");
		print_holders(q->inode, h, nh);
		printf("\n");
	}
}

static int cmd_version(int shim)
{
	struct dmabuf_revoke_version v = { .size = sizeof(v) };

	if (ioctl(shim, DMABUF_REVOKE_IOC_VERSION, &v))
		return explain(errno, -1, "VERSION");
	if (json)
		printf("{\"abi_major\": %u, \"abi_minor\": %u, \"features\": %llu}\n",
		       v.major, v.minor, (unsigned long long)v.features);
	else
		printf("dmabuf-revoke ABI %u.%u, features 0x%llx%s\n", v.major,
		       v.minor, (unsigned long long)v.features,
		       v.features & DMABUF_REVOKE_FEAT_VMAP_SEALED ? "" :
		       v.features & DMABUF_REVOKE_FEAT_VMAP_FAILS ?
		       " (on this kernel a vmap after revoke shares a vmap held across it, else fails)" :
		       " (on this kernel a vmap after revoke shares a vmap held across it, else gets zeroed memory)");
	return EX_OK;
}

/*
 * Every managed buffer (LIST): *@qp gets a malloc()ed array of *@n
 * entries. Returns EX_OK or an exit code, having said why.
 */
static int fetch_list(int shim, struct dmabuf_revoke_query **qp, __u32 *n)
{
	struct dmabuf_revoke_list l = { .size = sizeof(l) };
	struct dmabuf_revoke_query *q = NULL;

	/* Ask for the count, then for the entries (buffers may come and go). */
	for (;;) {
		__u32 cap = l.count + 8;

		free(q);
		q = calloc(cap, sizeof(*q));
		if (!q)
			return fail(EX_FAIL, "out of memory");
		l.count = cap > DMABUF_REVOKE_LIST_MAX ? DMABUF_REVOKE_LIST_MAX : cap;
		l.entries = (uintptr_t)q;
		if (ioctl(shim, DMABUF_REVOKE_IOC_LIST, &l)) {
			free(q);
			return explain(errno, -1, "LIST");
		}
		if (l.count <= cap || cap >= DMABUF_REVOKE_LIST_MAX)
			break;
	}
	*qp = q;
	*n = l.count < DMABUF_REVOKE_LIST_MAX ? l.count : DMABUF_REVOKE_LIST_MAX;
	return EX_OK;
}

static int cmd_list(int shim)
{
	struct dmabuf_revoke_query *q;
	struct holder *h;
	__u32 i, n;
	size_t nh;
	int ret = fetch_list(shim, &q, &n);

	if (ret)
		return ret;
	h = calloc(MAX_HOLDERS, sizeof(*h));
	nh = h ? scan_holders(h, MAX_HOLDERS) : 0;
	if (json)
		printf("[");
	for (i = 0; i < n; i++) {
		if (json && i)
			printf(", ");
		print_query(&q[i], h, nh);
	}
	if (json)
		printf("]\n");
	else if (!n)
		printf("no managed dma-bufs\n");
	free(h);
	free(q);
	return EX_OK;
}

static int cmd_query(int shim, const struct target *t)
{
	struct dmabuf_revoke_query q = { .size = sizeof(q) };
	int fd, ret = get_target(t, &fd);

	if (ret)
		return ret;
	q.fd = fd;
	if (ioctl(shim, DMABUF_REVOKE_IOC_QUERY, &q))
		ret = explain(errno, fd, "QUERY");
	else
		print_query(&q, NULL, 0);
	if (!ret && json)
		printf("\n");
	close(fd);
	return ret;
}

static const char *why(__u32 reason)
{
	switch (reason) {
	case DMABUF_REVOKE_REMAIN_STATIC:
		return "static importer: it cannot be told";
	case DMABUF_REVOKE_REMAIN_NO_NOTIFY:
		return "its importer has no invalidation callback";
	case DMABUF_REVOKE_REMAIN_TIMEOUT:
		return "told, but did not unmap in time";
	default:
		return "unknown";
	}
}

static int cmd_revoke(int shim, const struct target *t, unsigned int timeout)
{
	struct dmabuf_revoke_entry e[64];
	struct dmabuf_revoke_revoke rv = {
		.size = sizeof(rv), .timeout_ms = timeout,
		.entries = (uintptr_t)e, .max_entries = 64,
	};
	struct dmabuf_revoke_report *r = &rv.report;
	struct dmabuf_revoke_query q = { .size = sizeof(q) };
	bool incomplete;
	int fd, ret = get_target(t, &fd);
	__u32 i, n, listed = 0, detached = 0;
	bool known;

	if (ret)
		return ret;
	memset(e, 0, sizeof(e));
	rv.fd = fd;
	if (ioctl(shim, DMABUF_REVOKE_IOC_REVOKE, &rv)) {
		ret = explain(errno, fd, "REVOKE");
		close(fd);
		return ret;
	}
	q.fd = fd;
	ioctl(shim, DMABUF_REVOKE_IOC_QUERY, &q);
	close(fd);
	incomplete = r->flags & (DMABUF_REVOKE_REPORT_INCOMPLETE |
				 DMABUF_REVOKE_REPORT_FENCES |
				 DMABUF_REVOKE_REPORT_CALLBACKS |
				 DMABUF_REVOKE_REPORT_USER_MAPPINGS);
	for (i = 0; i < r->nr_entries && i < 64; i++)
		listed += e[i].mappings;
	/*
	 * Mappings with no attachment to list: their importer detached.
	 * Known only when every entry came back.
	 */
	known = r->nr_entries <= 64;
	if (known && r->mappings_remaining > listed)
		detached = r->mappings_remaining - listed;
	if (json) {
		char num[16];

		snprintf(num, sizeof(num), "%u", detached);
		printf("{\"inode\": %llu, \"already_revoked\": %s, \"complete\": %s, "
		       "\"fences_pending\": %s, \"attachments\": %u, \"notified\": %u, "
		       "\"static\": %u, \"mappings_remaining\": %u, "
		       "\"detached_mappings\": %s, \"user_mappings\": %u, "
		       "\"vmaps\": %u, \"remaining\": [",
		       (unsigned long long)q.inode,
		       r->flags & DMABUF_REVOKE_REPORT_ALREADY ? "true" : "false",
		       incomplete ? "false" : "true",
		       r->flags & DMABUF_REVOKE_REPORT_FENCES ? "true" : "false",
		       r->attachments, r->notified, r->static_attachments,
		       r->mappings_remaining, known ? num : "null",
		       r->user_mappings, r->vmaps);
		for (i = 0; i < r->nr_entries && i < 64; i++) {
			printf("%s{\"device\": ", i ? ", " : "");
			json_str(e[i].device);
			printf(", \"mappings\": %u, \"pins\": %u, \"reason\": ",
			       e[i].mappings, e[i].pins);
			json_str(why(e[i].reason));
			printf("}");
		}
		printf("]}\n");
		return incomplete ? EX_INCOMPLETE : EX_OK;
	}
	if (r->flags & DMABUF_REVOKE_REPORT_ALREADY)
		printf("dma-buf inode %llu was already revoked; nothing new to do\n",
		       (unsigned long long)q.inode);
	else
		printf("revoked dma-buf inode %llu (%llu bytes, exported by %s)\n"
		       "  importers told to drop their mappings: %u of %u attachments\n",
		       (unsigned long long)q.inode,
		       (unsigned long long)q.buf_size, q.exp_name, r->notified,
		       r->attachments);
	printf("  user mappings zapped (they now fault with SIGBUS): %u\n",
	       r->user_mappings);
	if (r->vmaps)
		printf("  kernel vmaps taken before the revoke, still held: %u\n",
		       r->vmaps);
	for (i = 0; i < r->nr_entries && i < 64; i++)
		printf("  still mapped by %s (%u mapping%s): %s\n", e[i].device,
		       e[i].mappings, e[i].mappings == 1 ? "" : "s",
		       why(e[i].reason));
	if (detached)
		printf("  still mapped by importers that detached without unmapping (a bug in the importer; these mappings never go away): %u\n",
		       detached);
	if (r->flags & DMABUF_REVOKE_REPORT_FENCES)
		printf("  fences have not signalled within the timeout\n");
	if (r->flags & DMABUF_REVOKE_REPORT_CALLBACKS)
		printf("  a call into the exporter that began before the revoke was still running\n");
	if (r->flags & DMABUF_REVOKE_REPORT_USER_MAPPINGS)
		printf("  a process mapping the buffer held its memory lock for the whole timeout; its mapping is not confirmed gone\n");
	if (incomplete && detached && detached == r->mappings_remaining &&
	    !(r->flags & ~(DMABUF_REVOKE_REPORT_ALREADY |
			   DMABUF_REVOKE_REPORT_INCOMPLETE))) {
		printf("result: incomplete - the buffer is revoked, but %u device mapping%s remain%s that no one will ever unmap; waiting longer will not help\n",
		       detached, detached == 1 ? "" : "s",
		       detached == 1 ? "s" : "");
		return EX_INCOMPLETE;
	}
	n = r->mappings_remaining;
	if (incomplete && n) {
		printf("result: incomplete - the buffer is revoked, but %u device mapping%s remain%s%s; run the command again to wait longer\n",
		       n, n == 1 ? "" : "s", n == 1 ? "s" : "",
		       r->flags & ~(DMABUF_REVOKE_REPORT_ALREADY |
				    DMABUF_REVOKE_REPORT_INCOMPLETE) ?
		       " and other work is pending (above)" : "");
		return EX_INCOMPLETE;
	}
	if (incomplete) {
		printf("result: incomplete - the buffer is revoked, but other work is pending (above); run the command again to wait longer\n");
		return EX_INCOMPLETE;
	}
	printf("result: complete - nothing can reach the memory any more\n");
	return EX_OK;
}

static const char *plural(__u32 n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/*
 * revoke --exporter NAME: every managed buffer of one exporter, in one
 * REVOKE_BATCH call with one timeout for all of them.
 */
static int cmd_revoke_exporter(int shim, const char *name,
			       unsigned int timeout)
{
	struct dmabuf_revoke_version v = { .size = sizeof(v) };
	struct dmabuf_revoke_batch bt = {
		.size = sizeof(bt), .flags = DMABUF_REVOKE_BATCH_EXPORTER,
		.timeout_ms = timeout,
	};
	struct dmabuf_revoke_query *q = NULL;
	__u32 i, n = 0, shown = 0, total;
	int err, ret = EX_OK;

	if (ioctl(shim, DMABUF_REVOKE_IOC_VERSION, &v) ||
	    !(v.features & DMABUF_REVOKE_FEAT_BATCH))
		return fail(EX_FAIL, "the loaded shim is older than this tool and cannot revoke by exporter; revoke each buffer with 'revoke --inode' (see 'list')");
	snprintf(bt.exp_name, sizeof(bt.exp_name), "%s", name);
	if (ioctl(shim, DMABUF_REVOKE_IOC_REVOKE_BATCH, &bt)) {
		err = errno;
		switch (err) {
		case EPERM:
			return fail(EX_PERM, "revoking needs CAP_SYS_ADMIN: run as root");
		case EINTR:
			return fail(EX_INTR, "interrupted while waiting: the buffers of %s whose revoke had started are revoked ('list' tells); run the command again to finish and see the counts",
				    name);
		case ENOTTY:
			return fail(EX_FAIL, "the loaded shim does not know this command (is it older than this tool?)");
		case ENOMEM:
			return fail(EX_FAIL, "the kernel is out of memory for a batch this large; try again later");
		default:
			return fail(EX_FAIL, "revoking the buffers of %s failed: %s",
				    name, strerror(err));
		}
	}
	total = bt.revoked + bt.already + bt.not_started;
	if (!total) {
		if (json) {
			printf("{\"exporter\": ");
			json_str(name);
			printf(", \"buffers\": 0}\n");
		}
		return fail(EX_NOTARGET, "no managed dma-buf is exported by '%s', so nothing was revoked (the exporter names are in 'list')",
			    name);
	}
	/* Which buffers are not complete yet, for the report. */
	if (bt.incomplete && fetch_list(shim, &q, &n))
		n = 0;
	if (json) {
		printf("{\"exporter\": ");
		json_str(name);
		printf(", \"buffers\": %u, \"revoked\": %u, \"already_revoked\": %u, "
		       "\"incomplete\": %u, \"not_started\": %u, \"complete\": %s, "
		       "\"incomplete_inodes\": [",
		       total, bt.revoked, bt.already, bt.incomplete,
		       bt.not_started,
		       bt.incomplete || bt.not_started ? "false" : "true");
	} else {
		printf("exporter %s: %u dma-%s revoked now, %u %s already revoked, %u %s incomplete\n",
		       name, bt.revoked, plural(bt.revoked, "buf", "bufs"),
		       bt.already, plural(bt.already, "was", "were"),
		       bt.incomplete, plural(bt.incomplete, "is", "are"));
	}
	for (i = 0; i < n; i++) {
		if (strcmp(q[i].exp_name, name) ||
		    !(q[i].state & DMABUF_REVOKE_STATE_REVOKED) ||
		    (q[i].state & DMABUF_REVOKE_STATE_COMPLETE))
			continue;
		if (json)
			printf("%s%llu", shown ? ", " : "",
			       (unsigned long long)q[i].inode);
		else
			printf("%s%llu", shown ? ", " : "  not complete yet: dma-buf inode ",
			       (unsigned long long)q[i].inode);
		shown++;
	}
	free(q);
	if (json) {
		printf("]}\n");
	} else {
		if (shown)
			printf(" ('query --inode' says what each still waits for)\n");
		if (bt.not_started)
			printf("result: %u dma-%s could not be revoked - %s locks were held by someone else for the whole timeout, so nothing changed on %s; try again, or with a longer --timeout\n",
			       bt.not_started, plural(bt.not_started, "buf", "bufs"),
			       plural(bt.not_started, "its", "their"),
			       plural(bt.not_started, "it", "them"));
		else if (bt.incomplete)
			printf("result: incomplete - every buffer is revoked, but importers still map %u of them or other work is pending; run the command again to wait longer (mappings an importer left at its detach never go)\n",
			       bt.incomplete);
		else
			printf("result: complete - nothing can reach the memory of any of them any more\n");
	}
	if (bt.not_started)
		ret = EX_BUSY;
	else if (bt.incomplete)
		ret = EX_INCOMPLETE;
	return ret;
}

static bool parse_num(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && !*end && *v <= max;
}

int main(int argc, char **argv)
{
	struct target t = { 0 };
	unsigned long v, timeout = 0;
	const char *cmd = NULL, *exporter = NULL;
	int i, shim, ret;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EX_OK;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--exporter")) {
			if (!val || !*val ||
			    strlen(val) >= sizeof(((struct dmabuf_revoke_batch *)0)->exp_name)) {
				fail(EX_USAGE, "--exporter needs an exporter name as 'list' shows it (at most 31 bytes)");
				return EX_USAGE;
			}
			exporter = val;
			i++;
		} else if (!strcmp(a, "--pid") || !strcmp(a, "--fd") ||
			   !strcmp(a, "--inode") || !strcmp(a, "--timeout")) {
			unsigned long max = !strcmp(a, "--inode") ? ULONG_MAX :
					    !strcmp(a, "--timeout") ?
					    DMABUF_REVOKE_MAX_TIMEOUT_MS : INT_MAX;

			if (!parse_num(val, max, &v)) {
				fail(EX_USAGE, "%s needs a number%s", a,
				     !strcmp(a, "--timeout") ?
				     " of milliseconds, at most 600000" : "");
				return EX_USAGE;
			}
			i++;
			if (!strcmp(a, "--pid")) {
				t.pid = (int)v;
				t.have_pid = true;
			} else if (!strcmp(a, "--fd")) {
				t.fd = (int)v;
				t.have_fd = true;
			} else if (!strcmp(a, "--inode")) {
				t.ino = v;
				t.have_ino = true;
			} else {
				timeout = v;
			}
		} else if (!cmd && a[0] != '-') {
			cmd = a;
		} else {
			fail(EX_USAGE, "unexpected argument '%s'", a);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (!cmd) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(cmd, "list") && strcmp(cmd, "query") &&
	    strcmp(cmd, "revoke") && strcmp(cmd, "version")) {
		fail(EX_USAGE, "unknown command '%s'", cmd);
		usage(stderr);
		return EX_USAGE;
	}
	if (exporter && (strcmp(cmd, "revoke") || t.have_pid || t.have_fd ||
			 t.have_ino)) {
		fail(EX_USAGE, "--exporter goes with 'revoke' alone: it revokes every buffer of the exporter, so it takes no --pid, --fd or --inode");
		return EX_USAGE;
	}
	ret = open_shim(&shim);
	if (ret)
		return ret;
	if (!strcmp(cmd, "list"))
		ret = cmd_list(shim);
	else if (!strcmp(cmd, "version"))
		ret = cmd_version(shim);
	else if (!strcmp(cmd, "query"))
		ret = cmd_query(shim, &t);
	else if (exporter)
		ret = cmd_revoke_exporter(shim, exporter, (unsigned int)timeout);
	else
		ret = cmd_revoke(shim, &t, (unsigned int)timeout);
	close(shim);
	return ret;
}
