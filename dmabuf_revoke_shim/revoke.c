// SPDX-License-Identifier: GPL-2.0
/* The exporter API: export a revocable buffer, revoke it, ask about it. */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dmabuf_revoke_compat.h"
#include "shim.h"
#include "trace.h"

/**
 * dmabuf_revoke_export - export a dma-buf that can be revoked
 * @exp_info: as for dma_buf_export(); @exp_info->ops stays the exporter's
 *	and must outlive the buffer.
 * @cfg: optional: strict mode and the revoke-complete callback. Copied.
 *
 * The buffer is exported *dynamic*: the shim supplies pin/unpin (forwarding
 * to the exporter's, if any) and never lets the core cache a mapping, so
 * every mapping passes through a check of the revoked state. Consequently
 * the exporter's &dma_buf_ops.map_dma_buf and &dma_buf_ops.unmap_dma_buf are
 * always called with @dmabuf->resv held and must not take it themselves.
 * Private (MAP_PRIVATE) user mappings are refused with -EINVAL; all mmaps of
 * one buffer must install the same vm_ops; fault-around is disabled.
 *
 * Context: process context, may sleep.
 * Return: the new dma-buf, or an ERR_PTR: -EINVAL for bad arguments (the
 * same the core would reject), -ENOMEM, or what dma_buf_export() returns.
 */
struct dma_buf *dmabuf_revoke_export(const struct dma_buf_export_info *exp_info,
				     const struct dmabuf_revoke_config *cfg)
{
	const struct dma_buf_ops *ops = exp_info ? exp_info->ops : NULL;
	struct dma_buf_export_info info;
	struct dma_buf *dmabuf;
	struct drs_buf *b;

	/* The core WARNs on these; an exporter bug should get an errno. */
	if (!ops || !exp_info->priv || !ops->map_dma_buf ||
	    !ops->unmap_dma_buf || !ops->release || !ops->pin != !ops->unpin)
		return ERR_PTR(-EINVAL);
	if (drs_ops_are_ours(ops))
		return ERR_PTR(-EINVAL);
	if (cfg && (cfg->flags & ~DMABUF_REVOKE_EXPORT_STRICT))
		return ERR_PTR(-EINVAL);

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return ERR_PTR(-ENOMEM);
	b->exp_ops = ops;
	if (cfg)
		b->cfg = *cfg;
	spin_lock_init(&b->lock);
	INIT_LIST_HEAD(&b->attachments);
	INIT_LIST_HEAD(&b->mms);
	mutex_init(&b->revoke_lock);
	init_waitqueue_head(&b->unmap_wq);
	drs_wrap_ops(b);

	/*
	 * P5: the core holds exp_info->owner until after ->release returns,
	 * and the trampolines are our code: make the core hold the shim, and
	 * hold the exporter ourselves, dropping it once its release returned.
	 */
	b->exp_owner = exp_info->owner;
	if (!try_module_get(b->exp_owner)) {
		kfree(b);
		return ERR_PTR(-ENOENT);
	}
	info = *exp_info;
	info.ops = &b->ops;
	info.owner = THIS_MODULE;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		module_put(b->exp_owner);
		mutex_destroy(&b->revoke_lock);
		kfree(b);
		return dmabuf;
	}
	b->dmabuf = dmabuf;
	b->ino = file_inode(dmabuf->file)->i_ino;
	trace_dmabuf_revoke_export(b->ino, dmabuf,
				   b->cfg.flags & DMABUF_REVOKE_EXPORT_STRICT);

	mutex_lock(&drs_buffers_lock);
	list_add_tail(&b->node, &drs_buffers);
	mutex_unlock(&drs_buffers_lock);
	return dmabuf;
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke_export, DRS_NS);

/**
 * dmabuf_revoke_is_managed - was @dmabuf exported through the shim?
 * @dmabuf: any dma-buf.
 *
 * Return: true if dmabuf_revoke() can act on @dmabuf.
 */
bool dmabuf_revoke_is_managed(const struct dma_buf *dmabuf)
{
	return dmabuf && drs_ops_are_ours(dmabuf->ops);
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke_is_managed, DRS_NS);

/**
 * dmabuf_revoke_is_revoked - has a revoke of @dmabuf started?
 * @dmabuf: any dma-buf.
 *
 * Return: true once dmabuf_revoke() has flipped the state; false for
 * buffers that are live or not managed.
 */
bool dmabuf_revoke_is_revoked(const struct dma_buf *dmabuf)
{
	return dmabuf_revoke_is_managed(dmabuf) && drs_revoked(to_drs(dmabuf));
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke_is_revoked, DRS_NS);

/*
 * Wait until every mmap that passed our trampoline before the state flipped
 * has been linked into the file's i_mmap tree (mmap_region() links the VMA
 * after ->mmap returns, with mmap_lock held for writing).
 */
static void drs_wait_inflight_mmaps(struct drs_buf *b)
{
	struct drs_mm *m;
	struct mm_struct *mm;
	unsigned int i, done = 0;

	for (;;) {
		mm = NULL;
		i = 0;
		spin_lock(&b->lock);
		list_for_each_entry(m, &b->mms, node) {
			if (i++ == done) {
				mm = m->mm;
				mmgrab(mm);
				break;
			}
		}
		spin_unlock(&b->lock);
		if (!mm)
			return;
		mmap_read_lock(mm);
		mmap_read_unlock(mm);
		mmdrop(mm);
		done++;
	}
}

/* Caller holds b->lock. */
static void drs_report_remaining(struct drs_buf *b,
				 struct dmabuf_revoke_result *res)
{
	struct dmabuf_revoke_report *r = &res->report;
	struct dmabuf_revoke_entry *e;
	struct drs_attach *a;

	r->nr_entries = 0;
	r->mappings_remaining = b->nr_maps;
	r->user_mappings = b->user_vmas;
	list_for_each_entry(a, &b->attachments, node) {
		if (!a->maps)
			continue;
		if (res->entries && r->nr_entries < res->max_entries) {
			e = &res->entries[r->nr_entries];
			memset(e, 0, sizeof(*e));
			if (!a->attach->importer_ops)
				e->reason = DMABUF_REVOKE_REMAIN_STATIC;
			else if (!a->notifiable)
				e->reason = DMABUF_REVOKE_REMAIN_NO_NOTIFY;
			else
				e->reason = DMABUF_REVOKE_REMAIN_TIMEOUT;
			e->mappings = a->maps;
			e->pins = a->pins;
			strscpy(e->device, dev_name(a->attach->dev),
				sizeof(e->device));
		}
		r->nr_entries++;
	}
	if (r->nr_entries)
		r->flags |= DMABUF_REVOKE_REPORT_INCOMPLETE;
}

/* Flip the state, tell importers, cut user mappings. Caller: revoke_lock. */
static void drs_start_revoke(struct drs_buf *b, bool have_file,
			     struct dmabuf_revoke_report *r)
{
	struct dma_buf *dmabuf = b->dmabuf;
	struct drs_attach *a;

	dma_resv_lock(dmabuf->resv, NULL);
	WRITE_ONCE(b->revoked, true);
	/*
	 * P3: with the op gone, dma_buf_vmap() fails with a clean -EINVAL
	 * (where it tests the op under resv, see the compat header). The mmap
	 * op is never cleared: dma_buf_mmap() and the fd's mmap test it and
	 * then re-read it with no lock held, so a racing caller would call
	 * NULL; drs_mmap() refuses instead, and a failing mmap does not WARN.
	 */
	if (DRS_VMAP_CAN_FAIL)
		WRITE_ONCE(b->ops.vmap, NULL);

	spin_lock(&b->lock);
	list_for_each_entry(a, &b->attachments, node) {
		r->attachments++;
		if (a->notifiable)
			r->notified++;
		else
			r->static_attachments++;
		trace_dmabuf_revoke_notify(b->ino, a->attach, a->notifiable);
	}
	spin_unlock(&b->lock);
	/* R8: one notification per dynamic attachment, under resv. */
	drs_notify_importers(dmabuf);
	dma_resv_unlock(dmabuf->resv);

	/* R9(a): callbacks that entered before the flip have now left. */
	synchronize_srcu(&drs_srcu);

	/*
	 * R6: zap every user mapping of the buffer; later faults reach
	 * drs_vm_fault() and get SIGBUS. Without a file reference the release
	 * is already under way, and no VMA can exist (each holds the file).
	 */
	if (have_file) {
		drs_wait_inflight_mmaps(b);
		unmap_mapping_range(dmabuf->file->f_mapping, 0, 0, 1);
	}
}

/**
 * dmabuf_revoke - permanently revoke a managed dma-buf
 * @dmabuf: a buffer from dmabuf_revoke_export(). The caller must keep the
 *	&struct dma_buf alive (a reference, or the exporter's own lock that its
 *	release callback also takes); a buffer whose last file reference is
 *	already gone is revoked without touching its file.
 * @timeout: jiffies to wait for fences and for dynamic importers to unmap;
 *	MAX_SCHEDULE_TIMEOUT waits for ever (kernel callers only).
 * @flags: %DMABUF_REVOKE_INTERRUPTIBLE to let signals end the waits.
 * @result: optional; receives the report and the attachments that still
 *	map the buffer.
 *
 * From the first call on, every access path fails: attach, map, pin, mmap
 * and begin_cpu_access with -ENODEV, vmap with -EINVAL (on 6.1 cores a vmap
 * gets zeroed private memory instead, see %DMABUF_REVOKE_FEAT_VMAP_FAILS);
 * user mappings are zapped and fault with SIGBUS; dynamic importers get one
 * move_notify/invalidate_mappings. When this returns, no
 * exporter callback other than teardown is running or will run, the
 * buffer's fences have signalled (else %DMABUF_REVOKE_REPORT_FENCES), and
 * importers' mappings are gone or listed (%DMABUF_REVOKE_REPORT_INCOMPLETE).
 * The exporter's revoked() callback then runs, once. A later call only
 * waits again and reports, with %DMABUF_REVOKE_REPORT_ALREADY set.
 *
 * Context: process context, sleeps. Must not be called with dmabuf->resv
 * held, nor with a lock that the exporter's mmap, fault or (un)map paths take.
 * Return: 0 (see @result for what remains), -ENOENT if @dmabuf is not
 * managed, -EINTR if a signal interrupted an interruptible wait (the buffer
 * is revoked all the same; call again to wait for completion).
 */
int dmabuf_revoke(struct dma_buf *dmabuf, long timeout, unsigned int flags,
		  struct dmabuf_revoke_result *result)
{
	bool intr = flags & DMABUF_REVOKE_INTERRUPTIBLE;
	struct dmabuf_revoke_result local = { };
	struct dmabuf_revoke_report *r;
	struct drs_buf *b;
	bool have_file;
	long left;
	int ret = 0;

	if (!dmabuf_revoke_is_managed(dmabuf))
		return -ENOENT;
	if (flags & ~DMABUF_REVOKE_INTERRUPTIBLE)
		return -EINVAL;
	b = to_drs(dmabuf);
	if (!result)
		result = &local;
	r = &result->report;
	memset(r, 0, sizeof(*r));

	have_file = drs_file_tryget(dmabuf->file);
	if (intr) {
		if (mutex_lock_interruptible(&b->revoke_lock)) {
			ret = -EINTR;
			goto out_fput;
		}
	} else {
		mutex_lock(&b->revoke_lock);
	}

	trace_dmabuf_revoke_start(b->ino, b->revoked);
	if (b->revoked)
		r->flags |= DMABUF_REVOKE_REPORT_ALREADY;
	else
		drs_start_revoke(b, have_file, r);

	/* R9(b): every fence, down to BOOKKEEP usage. */
	left = dma_resv_wait_timeout(dmabuf->resv, DMA_RESV_USAGE_BOOKKEEP,
				     intr, timeout);
	if (left < 0) {
		ret = -EINTR;
		goto out_unlock;
	}
	if (!left) {
		r->flags |= DMABUF_REVOKE_REPORT_FENCES;
		left = 0;
	}

	/* R9(c): importers we told unmap, or are listed below. */
	if (intr)
		left = wait_event_interruptible_timeout(b->unmap_wq,
							!READ_ONCE(b->notifiable_maps),
							left);
	else
		left = wait_event_timeout(b->unmap_wq,
					  !READ_ONCE(b->notifiable_maps), left);
	if (left < 0) {
		ret = -EINTR;
		goto out_unlock;
	}

	spin_lock(&b->lock);
	drs_report_remaining(b, result);
	spin_unlock(&b->lock);
	r->vmaps = READ_ONCE(dmabuf->vmapping_counter);

	if (!(r->flags & DMABUF_REVOKE_REPORT_FENCES)) {
		WRITE_ONCE(b->complete, true);
		/* R11: once, with no shim or dma-buf lock held but ours. */
		if (!b->cb_done && b->cfg.revoked) {
			b->cb_done = true;
			b->cfg.revoked(dmabuf, b->cfg.data, r);
		}
	}
out_unlock:
	trace_dmabuf_revoke_end(b->ino, ret, r);
	mutex_unlock(&b->revoke_lock);
out_fput:
	if (have_file)
		fput(dmabuf->file);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke, DRS_NS);

/* QUERY's numbers. */
void drs_fill_counts(struct drs_buf *b, struct dmabuf_revoke_query *q)
{
	struct dma_buf *dmabuf = b->dmabuf;
	struct drs_attach *a;

	q->state = 0;
	if (drs_revoked(b))
		q->state |= DMABUF_REVOKE_STATE_REVOKED;
	if (READ_ONCE(b->complete))
		q->state |= DMABUF_REVOKE_STATE_COMPLETE;
	if (b->cfg.flags & DMABUF_REVOKE_EXPORT_STRICT)
		q->state |= DMABUF_REVOKE_STATE_STRICT;
	q->buf_size = dmabuf->size;
	q->inode = b->ino;
	strscpy(q->exp_name, dmabuf->exp_name ?: "", sizeof(q->exp_name));

	spin_lock(&b->lock);
	list_for_each_entry(a, &b->attachments, node) {
		q->attachments++;
		if (a->attach->importer_ops)
			q->dynamic_attachments++;
		else
			q->static_attachments++;
		q->pins += a->pins;
	}
	q->mappings = b->nr_maps;
	q->user_mappings = b->user_vmas;
	spin_unlock(&b->lock);
	q->vmaps = READ_ONCE(dmabuf->vmapping_counter);
}
