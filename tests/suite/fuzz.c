// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl fuzzer: a bounded, seeded random sequence of ioctls on the three
 * devices, with random commands, sizes, flags, fds and pointers. It passes
 * when every call returns (no hang, no crash of the caller) and the kernel
 * log stays clean (the harness scans it). FUZZ_SEED (default 1) replays a
 * run; FUZZ_CALLS (default 100000) bounds it.
 *
 * Sizes a valid call could turn into large allocations (BAR sizes) are kept
 * small, so the fuzzer tests input handling, not the VM's memory.
 */
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "suite.h"

#define ROUND	5000		/* calls per child process */
#define POOL	12

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const unsigned long known[] = {
	DMABUF_REVOKE_IOC_VERSION, DMABUF_REVOKE_IOC_REVOKE,
	DMABUF_REVOKE_IOC_QUERY, DMABUF_REVOKE_IOC_LIST,
	DMABUF_REVOKE_IOC_REVOKE_BATCH,
	VRE_IOC_SETUP, VRE_IOC_EXPORT, VRE_IOC_RESET, VRE_IOC_MEMORY,
	VRE_IOC_BAR_RW, VRE_IOC_FENCE, VRE_IOC_STATS,
	IIT_IOC_MAP, IIT_IOC_UNMAP, IIT_IOC_DMA, IIT_IOC_REMAP, IIT_IOC_PIN,
	IIT_IOC_UNPIN, IIT_IOC_QUERY, IIT_IOC_VMAP, IIT_IOC_VUNMAP,
	IIT_IOC_VMAP_READ, IIT_IOC_CPU,
};

struct fuzz {
	int dev[3];		/* shim, exporter, importer */
	int pool[POOL];		/* fds to plant in structs */
	uint8_t *arg;		/* 2 pages, the second PROT_NONE */
	uint8_t *scratch;
};

static void plant(struct fuzz *f, uint64_t *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 4) {
		uint32_t *w = (uint32_t *)(f->arg + i);
		unsigned int c = rnd(s) % 10;

		if (i == 0)		/* size: mostly plausible */
			*w = c < 7 ? len : c < 8 ? 0 : (uint32_t)rnd(s) % 256;
		else if (i == 4)	/* flags: mostly zero */
			*w = c < 7 ? 0 : 1u << (rnd(s) % 32);
		else if (c < 3)
			*w = f->pool[rnd(s) % POOL];
		else if (c < 5)
			*w = 0;
		else if (c < 6)
			*w = (uint32_t)(rnd(s) % 16) * PAGE;
		else if (c < 7 && !(i & 7) && i + 8 <= len)
			*(uint64_t *)w = (uintptr_t)f->scratch +
					 rnd(s) % PAGE, i += 4;
		else
			*w = (uint32_t)rnd(s);
	}
}

static void fuzz_one(struct fuzz *f, uint64_t *s)
{
	unsigned long cmd = known[rnd(s) % (sizeof(known) / sizeof(known[0]))];
	int fd = f->dev[rnd(s) % 3];
	unsigned int c = rnd(s) % 10;
	size_t len;
	void *arg;

	if (c == 0)		/* same number, another size */
		cmd = (cmd & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
		      ((rnd(s) % 512) << _IOC_SIZESHIFT);
	else if (c == 1)	/* anything at all */
		cmd = (uint32_t)rnd(s);
	else if (c == 2)	/* a planted fd instead of a device */
		fd = f->pool[rnd(s) % POOL];
	len = _IOC_SIZE(cmd) ? _IOC_SIZE(cmd) : 64;
	if (len > PAGE)
		len = PAGE;
	memset(f->arg, 0, PAGE);
	plant(f, s, len);
	/* Keep BAR sizes small: SETUP's sizes are its first u64 array. */
	if (cmd == VRE_IOC_SETUP) {
		struct vre_setup *su = (struct vre_setup *)f->arg;
		unsigned int b;

		su->nr_bars %= VRE_MAX_BARS + 2;
		for (b = 0; b < VRE_MAX_BARS; b++)
			su->bar_size[b] &= 0x7000;
	}
	/* No deliberate leaks: the contract group tests IIT_UNMAP_LEAK. */
	if (_IOC_NR(cmd) == _IOC_NR(IIT_IOC_UNMAP) &&
	    _IOC_TYPE(cmd) == IIT_IOC_MAGIC)
		((struct iit_id *)f->arg)->flags &= ~IIT_UNMAP_LEAK;
	/* A revoke may wait for its timeout: keep the waits short. */
	if (_IOC_NR(cmd) == _IOC_NR(DMABUF_REVOKE_IOC_REVOKE) &&
	    _IOC_TYPE(cmd) == DMABUF_REVOKE_IOC_MAGIC)
		((struct dmabuf_revoke_revoke *)f->arg)->timeout_ms %= 50;
	if (_IOC_NR(cmd) == _IOC_NR(DMABUF_REVOKE_IOC_REVOKE_BATCH) &&
	    _IOC_TYPE(cmd) == DMABUF_REVOKE_IOC_MAGIC)
		((struct dmabuf_revoke_batch *)f->arg)->timeout_ms %= 50;
	switch (rnd(s) % 10) {
	case 0:
		arg = NULL;
		break;
	case 1:			/* runs into the PROT_NONE page */
		arg = f->arg + PAGE - (rnd(s) % 16);
		memmove(arg, f->arg, f->arg + PAGE - (uint8_t *)arg);
		break;
	case 2:
		arg = (void *)(uintptr_t)0xffff888000000000ULL;
		break;
	default:
		arg = f->arg;
	}
	ioctl(fd, cmd, arg);
}

static int fuzz_round(uint64_t seed, unsigned int calls)
{
	struct fuzz f = { 0 };
	int vdev, i;
	uint64_t s = seed;
	unsigned int n;
	uint64_t bar = 4 * PAGE;

	f.dev[0] = drs_fd();
	f.dev[1] = vre_device(1, &bar);
	f.dev[2] = iit_open();
	f.arg = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f.scratch = malloc(2 * PAGE);
	if (f.dev[1] < 0 || f.dev[2] < 0 || f.arg == MAP_FAILED || !f.scratch)
		return 2;
	mprotect(f.arg + PAGE, PAGE, PROT_NONE);
	/* dma-bufs (managed, plain, strict), other files, bad numbers */
	f.pool[0] = vre_export(f.dev[1], 0, 0, PAGE, 0);
	f.pool[1] = vre_export(f.dev[1], 0, PAGE, PAGE, VRE_EXPORT_PLAIN);
	f.pool[2] = vre_export(f.dev[1], 0, 0, 2 * PAGE, VRE_EXPORT_STRICT);
	vdev = vre_buffer(&f.pool[3], PAGE, VRE_EXPORT_MMAP_FAULT);
	f.pool[4] = vdev;
	f.pool[5] = open("/dev/null", O_RDWR);
	f.pool[6] = -1;
	f.pool[7] = 9999;
	f.pool[8] = f.dev[1];
	f.pool[9] = f.dev[2];
	f.pool[10] = drs_fd();
	f.pool[11] = 0;
	for (n = 0; n < calls; n++)
		fuzz_one(&f, &s);
	for (i = 0; i < POOL; i++)
		if (f.pool[i] > 2)
			close(f.pool[i]);
	return 0;
}

static void t_fuzz(void)
{
	const char *e = getenv("FUZZ_CALLS"), *se = getenv("FUZZ_SEED");
	unsigned long total = e ? strtoul(e, NULL, 0) : 100000, done = 0;
	uint64_t seed = se ? strtoull(se, NULL, 0) : 1;
	unsigned int rounds = 0, bad = 0;

	while (done < total) {
		unsigned int calls = total - done < ROUND ? total - done : ROUND;
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			alarm(300);	/* a hung call fails the round */
			_exit(fuzz_round(seed * 1000003 + rounds + 1, calls));
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			if (bad++ < 3)
				tap_diag("fuzz: round %u (seed %llu) ended with status 0x%x",
					 rounds, (unsigned long long)seed, status);
		}
		done += calls;
		rounds++;
	}
	tap_diag("fuzz: %lu ioctl calls in %u rounds, seed %llu", done, rounds,
		 (unsigned long long)seed);
	tap_ok(!bad, "fuzz: %lu random ioctl calls on the three devices, every round ended cleanly",
	       done);
}

const struct suite_case fuzz_cases[] = {
	{ "fuzz", t_fuzz },
	{ NULL, NULL },
};
