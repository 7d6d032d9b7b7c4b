// SPDX-License-Identifier: GPL-2.0
/*
 * DMABUF_REVOKE_IOC_REVOKE_BATCH: revoke many managed buffers in one call,
 * with the fixed costs (the syscall, the privilege check, the argument
 * copies) paid once and the waits overlapping.
 *
 * The buffers are found first: in fd mode every fd is checked before
 * anything is revoked; in exporter mode they are taken from drs_buffers.
 * Then the revoke of every buffer is started, each under its own
 * reservation lock (polled against the deadline, as for REVOKE), and only
 * then is each one finished, against the same deadline: while the first
 * buffer's fences, importers and callbacks are waited for, those of all
 * the others are already on their way, so a batch takes about as long as
 * its slowest buffer, not the sum.
 */
#include <linux/capability.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "dmabuf_revoke_compat.h"
#include "shim.h"
#include "trace.h"

/* Report flags that say a started revoke is not complete yet. */
#define DRS_PENDING	(DMABUF_REVOKE_REPORT_INCOMPLETE |		\
			 DMABUF_REVOKE_REPORT_FENCES |			\
			 DMABUF_REVOKE_REPORT_CALLBACKS |		\
			 DMABUF_REVOKE_REPORT_USER_MAPPINGS)

/* One distinct buffer of the batch. */
struct drs_batch_item {
	struct drs_buf *b;
	struct dmabuf_revoke_result res;
	bool started;		/* dmabuf_revoke_start() ran: finish it */
};

/* Fd mode: one fd, its buffer, and which item that buffer became. */
struct drs_batch_fd {
	struct dma_buf *dmabuf;	/* a reference, from drs_get_managed() */
	u32 idx;		/* index in the user's array */
	u32 item;
};

static int drs_batch_fd_cmp(const void *a, const void *b)
{
	const struct drs_batch_fd *x = a, *y = b;

	if (x->dmabuf != y->dmabuf)
		return x->dmabuf < y->dmabuf ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Exporter mode: take every buffer on drs_buffers whose exporter QUERY
 * would name @name, into a fresh array in *@items.
 *
 * Lifetime: a buffer is on drs_buffers from its export until drs_release()
 * unlinks it, under drs_buffers_lock, before anything of it is torn down;
 * drs_release() then waits until b->finishers is zero, and the dma-buf
 * core frees neither the &struct dma_buf nor its reservation object before
 * ->release returns. So a finisher reference taken under that lock, on a
 * buffer still listed, keeps the buffer, its dma_buf and its resv valid
 * until it is put - even if its last file reference goes meanwhile (its
 * release then waits for the batch, which is bounded by the batch's
 * timeout). dmabuf_revoke_start() takes its own reference for the finish.
 *
 * The reservation locks are taken after drs_buffers_lock is dropped, so
 * no lock order between the two arises, and a reservation lock another
 * task holds hostage stalls this batch (until its deadline) but never
 * every export and release of managed buffers behind drs_buffers_lock.
 */
static int drs_batch_find_exporter(const char *name,
				   struct drs_batch_item **items, u32 *nr)
{
	char exp_name[sizeof_field(struct dmabuf_revoke_query, exp_name)];
	struct drs_batch_item *it = NULL;
	struct drs_buf *b;
	u32 n, i, cap = 0;

	for (;;) {
		n = 0;
		mutex_lock(&drs_buffers_lock);
		list_for_each_entry(b, &drs_buffers, node) {
			/* As QUERY reports it: cut to its field. */
			strscpy(exp_name, b->dmabuf->exp_name ?: "",
				sizeof(exp_name));
			if (strcmp(exp_name, name))
				continue;
			if (n < cap) {
				drs_finisher_get(b);
				it[n].b = b;
			}
			n++;
		}
		mutex_unlock(&drs_buffers_lock);
		if (n <= cap)
			break;
		/* More buffers than room (more were exported): again. */
		for (i = 0; i < cap; i++)
			drs_finisher_put(it[i].b);
		kvfree(it);
		if (signal_pending(current))
			return -EINTR;
		cap = n + n / 4 + 16;
		it = kvcalloc(cap, sizeof(*it), GFP_KERNEL);
		if (!it)
			return -ENOMEM;
	}
	*items = it;
	*nr = n;
	return 0;
}

/*
 * Fd mode: a reference to each fd's buffer, every fd checked before any
 * buffer is touched; then one item per distinct buffer. On an fd's error,
 * *@bad is its index.
 */
static int drs_batch_get_fds(const struct dmabuf_revoke_batch *bt,
			     struct drs_batch_fd **fdsp,
			     struct drs_batch_item **items, u32 *nr, s32 *bad)
{
	struct drs_batch_item *it = NULL;
	struct drs_batch_fd *f;
	struct dma_buf *dmabuf;
	s32 *ufds;
	u32 i, n = 0;
	int ret = 0;

	ufds = vmemdup_user(u64_to_user_ptr(bt->fds),
			    (size_t)bt->count * sizeof(*ufds));
	if (IS_ERR(ufds))
		return PTR_ERR(ufds);
	f = kvcalloc(bt->count, sizeof(*f), GFP_KERNEL);
	if (!f) {
		kvfree(ufds);
		return -ENOMEM;
	}
	for (i = 0; i < bt->count; i++) {
		dmabuf = drs_get_managed(ufds[i]);
		if (IS_ERR(dmabuf)) {
			ret = PTR_ERR(dmabuf);
			*bad = i;
			break;
		}
		f[i].dmabuf = dmabuf;
		f[i].idx = i;
	}
	kvfree(ufds);
	if (ret)
		goto err_put;

	/* The same buffer twice is revoked and counted once. */
	sort(f, bt->count, sizeof(*f), drs_batch_fd_cmp, NULL);
	it = kvcalloc(bt->count, sizeof(*it), GFP_KERNEL);
	if (!it) {
		ret = -ENOMEM;
		goto err_put;
	}
	for (i = 0; i < bt->count; i++) {
		if (!i || f[i].dmabuf != f[i - 1].dmabuf)
			it[n++].b = to_drs(f[i].dmabuf);
		f[i].item = n - 1;
	}
	*fdsp = f;
	*items = it;
	*nr = n;
	return 0;

err_put:
	while (i--)
		dma_buf_put(f[i].dmabuf);
	kvfree(f);
	return ret;
}

/*
 * Start every revoke, then finish every started one, all within @w.
 * Returns 0 or -EINTR; the reports say the rest.
 */
static int drs_batch_run(struct drs_batch_item *it, u32 n,
			 const struct drs_budget *w)
{
	struct dma_buf *dmabuf;
	int ret = 0, err;
	u32 i;

	for (i = 0; i < n; i++) {
		dmabuf = it[i].b->dmabuf;
		err = signal_pending(current) ? -EINTR :
		      drs_lock_resv(dmabuf->resv, w);
		if (err == -ETIMEDOUT) {
			/* Held by others until the deadline: untouched. */
			it[i].res.report.flags = DMABUF_REVOKE_REPORT_NOT_STARTED;
			continue;
		}
		if (err) {
			ret = err;
			break;
		}
		/* -ENOENT: its release began, nothing can reach it. */
		it[i].started = !drs_start(dmabuf, &it[i].res, false);
		dma_resv_unlock(dmabuf->resv);
		cond_resched();
	}
	/* Every flip above made visible to every CPU's callbacks at once. */
	drs_sync_readers();

	/*
	 * Even after a signal, finish what started: each finish then returns
	 * at its first wait that is not over yet, but zaps what it can.
	 */
	for (i = 0; i < n; i++) {
		if (!it[i].started)
			continue;
		err = drs_finish(it[i].b, w, &it[i].res);
		trace_dmabuf_revoke_end(drs_ino(it[i].b), err, &it[i].res.report);
		/* Last: a release waiting for us may free the buffer. */
		drs_finisher_put(it[i].b);
		if (err)
			ret = err;
		cond_resched();
	}
	return ret;
}

/* Check the argument struct; 0 or -EINVAL. */
static int drs_batch_check(const struct dmabuf_revoke_batch *bt)
{
	size_t len = strnlen(bt->exp_name, sizeof(bt->exp_name));

	if ((bt->flags & ~DMABUF_REVOKE_BATCH_EXPORTER) || bt->reserved ||
	    bt->timeout_ms > DMABUF_REVOKE_MAX_TIMEOUT_MS)
		return -EINVAL;
	if (bt->flags & DMABUF_REVOKE_BATCH_EXPORTER) {
		/* A name, NUL-terminated and zero-padded; no fd fields. */
		if (!len || len == sizeof(bt->exp_name) ||
		    memchr_inv(bt->exp_name + len, 0,
			       sizeof(bt->exp_name) - len) ||
		    bt->fds || bt->reports || bt->count)
			return -EINVAL;
		return 0;
	}
	if (len || memchr_inv(bt->exp_name, 0, sizeof(bt->exp_name)) ||
	    bt->count > DMABUF_REVOKE_BATCH_MAX || (bt->count && !bt->fds))
		return -EINVAL;
	return 0;
}

/* Fd mode: each fd's report, in the order of the user's array. */
static int drs_batch_copy_reports(const struct dmabuf_revoke_batch *bt,
				  const struct drs_batch_fd *f,
				  const struct drs_batch_item *it)
{
	struct dmabuf_revoke_report *r;
	u32 i;
	int ret;

	r = kvcalloc(bt->count, sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	for (i = 0; i < bt->count; i++)
		r[f[i].idx] = it[f[i].item].res.report;
	ret = drs_copy_array(bt->reports, r, sizeof(*r),
			     DMABUF_REVOKE_REPORT_SIZE_VER0, bt->count);
	kvfree(r);
	return ret;
}

/**
 * drs_ioc_revoke_batch - DMABUF_REVOKE_IOC_REVOKE_BATCH
 * @uarg: the user's &struct dmabuf_revoke_batch.
 *
 * Revokes the managed buffers behind a list of fds, or every managed buffer
 * of one exporter, as REVOKE revokes one (dmabuf_revoke() with
 * %DMABUF_REVOKE_INTERRUPTIBLE), but in two passes against one deadline:
 * every revoke starts under its buffer's reservation lock, then every one
 * is finished. A buffer whose lock is held by others until the deadline is
 * left untouched (%DMABUF_REVOKE_REPORT_NOT_STARTED); the others go on.
 *
 * Context: process context, sleeps; no lock held.
 * Return: 0 (the counts, and in fd mode each fd's report, are written
 * back); -EPERM without CAP_SYS_ADMIN; -EINVAL for a bad argument struct;
 * -EBADF, -EINVAL or -ENOENT for an fd that is not open, not a dma-buf or
 * not managed (its index in error_index, written back; nothing revoked);
 * -EINTR if a signal ended the waits (the revokes that started stand);
 * -ENOMEM; -EFAULT; -E2BIG as for every struct.
 */
int drs_ioc_revoke_batch(void __user *uarg)
{
	struct drs_batch_item *it = NULL;
	struct dmabuf_revoke_batch bt;
	struct drs_batch_fd *f = NULL;
	struct drs_budget w;
	u32 usize, n = 0, i;
	s32 bad = -1;
	int ret;

	/* As for REVOKE: holding the fds is no right to revoke. */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = drs_copy_in(&bt, sizeof(bt), DMABUF_REVOKE_BATCH_SIZE_VER0, uarg,
			  &usize);
	if (ret)
		return ret;
	ret = drs_batch_check(&bt);
	if (ret)
		return ret;

	if (bt.flags & DMABUF_REVOKE_BATCH_EXPORTER)
		ret = drs_batch_find_exporter(bt.exp_name, &it, &n);
	else if (bt.count)
		ret = drs_batch_get_fds(&bt, &f, &it, &n, &bad);
	if (ret) {
		if (bad >= 0) {
			bt.error_index = bad;
			/* The errno is the answer; the index is a help. */
			drs_copy_out(uarg, &bt, sizeof(bt), usize);
		}
		return ret;
	}

	drs_budget_init(&w, msecs_to_jiffies(bt.timeout_ms ?:
					     DMABUF_REVOKE_DEFAULT_TIMEOUT_MS),
			DMABUF_REVOKE_INTERRUPTIBLE);
	ret = drs_batch_run(it, n, &w);

	bt.error_index = -1;
	bt.revoked = 0;
	bt.already = 0;
	bt.incomplete = 0;
	bt.not_started = 0;
	for (i = 0; i < n; i++) {
		u32 flags = it[i].res.report.flags;

		if (!it[i].started)
			bt.not_started++;
		else if (flags & DMABUF_REVOKE_REPORT_ALREADY)
			bt.already++;
		else
			bt.revoked++;
		if (it[i].started && (flags & DRS_PENDING))
			bt.incomplete++;
	}
	if (!ret && f && bt.reports)
		ret = drs_batch_copy_reports(&bt, f, it);
	if (!ret)
		ret = drs_copy_out(uarg, &bt, sizeof(bt), usize);

	if (f) {
		for (i = 0; i < bt.count; i++)
			dma_buf_put(f[i].dmabuf);
		kvfree(f);
	} else {
		for (i = 0; i < n; i++)
			drs_finisher_put(it[i].b);
	}
	kvfree(it);
	return ret;
}
