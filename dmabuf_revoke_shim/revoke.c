// SPDX-License-Identifier: GPL-2.0
/* The exporter API: export a revocable buffer, revoke it, ask about it. */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched.h>
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

	b = kmem_cache_zalloc(drs_buf_cache, GFP_KERNEL);
	if (!b)
		return ERR_PTR(-ENOMEM);
	b->counts = alloc_percpu(u64);
	if (!b->counts) {
		kmem_cache_free(drs_buf_cache, b);
		return ERR_PTR(-ENOMEM);
	}
	b->exp_ops = ops;
	if (cfg) {
		b->cfg.revoked = cfg->revoked;
		b->cfg.unmapped = cfg->unmapped;
		b->cfg.data = cfg->data;
		b->cfg.owner = get_pid(cfg->owner);	/* put at release */
		if (cfg->flags & DMABUF_REVOKE_EXPORT_STRICT)
			set_bit(DRS_STRICT, &b->flags);
	}
	spin_lock_init(&b->lock);
	INIT_LIST_HEAD(&b->attachments);
	drs_wrap_ops(b);

	/*
	 * P5: the core holds exp_info->owner until after ->release returns,
	 * and the trampolines are our code: make the core hold the shim, and
	 * hold the exporter ourselves, dropping it once its release returned.
	 */
	b->exp_owner = exp_info->owner;
	if (!try_module_get(b->exp_owner)) {
		put_pid(b->cfg.owner);
		free_percpu(b->counts);
		kmem_cache_free(drs_buf_cache, b);
		return ERR_PTR(-ENOENT);
	}
	info = *exp_info;
	info.ops = &b->ops;
	info.owner = THIS_MODULE;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		module_put(b->exp_owner);
		put_pid(b->cfg.owner);
		free_percpu(b->counts);
		kmem_cache_free(drs_buf_cache, b);
		return dmabuf;
	}
	b->dmabuf = dmabuf;
	/* Dropped in drs_release(); see struct drs_buf. */
	b->inode = file_inode(dmabuf->file);
	ihold(b->inode);
	trace_dmabuf_revoke_export(drs_ino(b), dmabuf,
				   test_bit(DRS_STRICT, &b->flags));

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

/**
 * dmabuf_revoke_is_owner - does the calling process own @dmabuf?
 * @dmabuf: any dma-buf.
 *
 * The owner is the thread group its exporter named in
 * &dmabuf_revoke_config.owner (a revocable heap names the allocating
 * process). A struct pid is never reused while referenced, so a process
 * that took the owner's PID number after it exited is not the owner.
 *
 * Return: true if @dmabuf is managed and owned by current's thread group.
 */
bool dmabuf_revoke_is_owner(const struct dma_buf *dmabuf)
{
	struct pid *owner;

	if (!dmabuf_revoke_is_managed(dmabuf))
		return false;
	owner = to_drs(dmabuf)->cfg.owner;
	return owner && owner == task_tgid(current);
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke_is_owner, DRS_NS);

/*
 * Caller holds b->lock (the list is stable). After the flip every count
 * changes under it too (drs_unmap_revoked(), drs_orphan_maps()), so the
 * entries and mappings_remaining agree; pins change under resv only, which
 * a report does not take: those it reads as a snapshot.
 */
static void drs_report_remaining(struct drs_buf *b,
				 struct dmabuf_revoke_result *res)
{
	struct dmabuf_revoke_report *r = &res->report;
	struct dmabuf_revoke_entry *e;
	struct drs_attach *a;
	unsigned int maps;

	r->nr_entries = 0;
	r->mappings_remaining = READ_ONCE(b->nr_maps);
	list_for_each_entry(a, &b->attachments, node) {
		maps = READ_ONCE(a->maps);
		if (!maps)
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
			e->mappings = maps;
			e->pins = READ_ONCE(a->pins);
			strscpy(e->device, dev_name(a->attach->dev),
				sizeof(e->device));
		}
		r->nr_entries++;
	}
	/* Orphans (drs_orphan_maps()) have no entry, but remain all the same. */
	if (r->nr_entries || r->mappings_remaining)
		r->flags |= DMABUF_REVOKE_REPORT_INCOMPLETE;
}

/**
 * dmabuf_revoke_exporter_priv - is @dmabuf one of mine, and what is its priv?
 * @dmabuf: any dma-buf.
 * @ops: the &dma_buf_ops the caller exports with (through the shim or not).
 *
 * Exporters that recognise their own buffers by comparing @dmabuf->ops with
 * their ops (DRM PRIME self-import, VFIO's private interconnect to iommufd)
 * see the shim's ops copy on managed buffers; this answers the question
 * for both kinds. A managed buffer may be revoked: check
 * dmabuf_revoke_is_revoked() before handing out its memory by a private
 * path, and prefer a path that goes through the core (attach and map),
 * which the shim checks.
 *
 * Return: @dmabuf->priv if @dmabuf was exported with @ops, directly or
 * through dmabuf_revoke_export(); NULL otherwise.
 */
void *dmabuf_revoke_exporter_priv(const struct dma_buf *dmabuf,
				  const struct dma_buf_ops *ops)
{
	if (!dmabuf || !ops)
		return NULL;
	if (dmabuf->ops == ops ||
	    (drs_ops_are_ours(dmabuf->ops) && to_drs(dmabuf)->exp_ops == ops))
		return dmabuf->priv;
	return NULL;
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke_exporter_priv, DRS_NS);

static long drs_left(const struct drs_budget *w)
{
	long left;

	if (w->forever)
		return MAX_SCHEDULE_TIMEOUT;
	left = (long)(w->deadline - jiffies);
	return left > 0 ? left : 0;
}

/*
 * One tick of a lock poll. Neither mutexes, ww_mutexes nor mmap_lock offer a
 * timed acquire; polling with trylock bounds the wait, which a blocking
 * acquire behind a hostile holder would not.
 */
static int drs_tick(const struct drs_budget *w)
{
	if (w->intr && signal_pending(current))
		return -EINTR;
	if (!drs_left(w))
		return -ETIMEDOUT;
	if (w->intr)
		schedule_timeout_interruptible(1);
	else
		schedule_timeout_uninterruptible(1);
	return 0;
}

/*
 * The revoke lock orders the R11 callbacks and the complete state (a bit
 * lock: a mutex would cost the buffer 32 bytes). @w NULL: wait for ever,
 * uninterruptibly. Else as drs_lock_resv().
 */
int drs_lock_revoke(struct drs_buf *b, const struct drs_budget *w)
{
	int ret;

	if (!w || !w->bounded_locks)
		return wait_on_bit_lock(&b->flags, DRS_LOCK,
					w && w->intr ? TASK_INTERRUPTIBLE :
						       TASK_UNINTERRUPTIBLE);
	while (test_and_set_bit_lock(DRS_LOCK, &b->flags)) {
		ret = drs_tick(w);
		if (ret)
			return ret;
	}
	return 0;
}

void drs_unlock_revoke(struct drs_buf *b)
{
	clear_bit_unlock(DRS_LOCK, &b->flags);
	smp_mb__after_atomic();		/* the release before the wake's test */
	wake_up_bit(&b->flags, DRS_LOCK);
}

int drs_lock_resv(struct dma_resv *resv, const struct drs_budget *w)
{
	int ret;

	if (!w->bounded_locks) {
		if (!w->intr)
			return dma_resv_lock(resv, NULL);
		return dma_resv_lock_interruptible(resv, NULL);
	}
	while (!dma_resv_trylock(resv)) {
		ret = drs_tick(w);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Flip the state and tell importers (R2-R8). From here on every access path
 * refuses. Caller holds dmabuf->resv, which serialises flips.
 */
static void drs_flip(struct drs_buf *b, struct dmabuf_revoke_report *r,
		     bool sync)
{
	struct dma_buf *dmabuf = b->dmabuf;
	struct dma_buf_attachment *attach;
	struct drs_attach *a;
	bool told;

	/*
	 * 6.1: drs_vmap() must hand out scratch memory after the flip and may
	 * not fail there (P3); allocate it while failing is still harmless.
	 * Allocating under resv is allowed: dma_resv_lockdep() primes
	 * reclaim inside it.
	 */
	if (!DRS_VMAP_CAN_FAIL && !DRS_VMAP_OP_MAY_FAIL && b->exp_ops->vmap) {
		struct drs_cold *c = drs_get_cold(b);

		if (c && !c->dead_vmap)
			drs_alloc_dead_vmap(b, c, GFP_KERNEL | __GFP_NOWARN);
	}

	/*
	 * The buffer's mapping counts become whole with the flip, under the
	 * lock QUERY reads them with, so it sees both or neither: from here
	 * on drs_unmap_revoked() counts them down (struct drs_buf).
	 */
	spin_lock(&b->lock);
	list_for_each_entry(a, &b->attachments, node)
		drs_count_maps(b, a->maps, a->notifiable);
	/* The scratch vmap before the flip: drs_vmap() reads them in turn. */
	smp_mb__before_atomic();
	set_bit(DRS_REVOKED, &b->flags);
	spin_unlock(&b->lock);
	/*
	 * Pairs with drs_enter(): a callback sees the flip, or we see it -
	 * once every CPU ran a barrier (drs_sync_readers(): here, or once
	 * after a series of deferred flips, or at the latest in the finish).
	 */
	drs_sync_note_flip();
	if (sync)
		drs_sync_readers();
	/*
	 * P3: with the op gone, dma_buf_vmap() fails with a clean -EINVAL
	 * (where it tests the op under resv, see the compat header). The mmap
	 * op is never cleared: dma_buf_mmap() and the fd's mmap test it and
	 * then re-read it with no lock held, so a racing caller would call
	 * NULL; drs_mmap() refuses instead, and a failing mmap does not WARN.
	 */
	if (DRS_VMAP_CAN_FAIL)
		WRITE_ONCE(b->ops.vmap, NULL);

	/*
	 * Count from the core's own list, under the lock it is walked with:
	 * an attachment whose attach callback returned but that the core has
	 * not linked yet is not told, so it is not counted as told.
	 */
	list_for_each_entry(attach, &dmabuf->attachments, node) {
		told = drs_attach_can_notify(attach);
		r->attachments++;
		if (told)
			r->notified++;
		else
			r->static_attachments++;
		trace_dmabuf_revoke_notify(drs_ino(b), attach, told);
	}
	/* R8: one notification per dynamic attachment, under resv. */
	drs_notify_importers(dmabuf);
}

/*
 * mmaps that passed drs_mmap() before the flip may not be linked yet (see
 * struct drs_pending). Once we held their mm's mmap_lock they are, and the
 * zap that follows reaches them. Returns -EINTR, -ETIMEDOUT, or 0.
 */
static int drs_settle_pending(struct drs_buf *b, const struct drs_budget *w)
{
	struct drs_cold *c = drs_cold(b);
	struct drs_pending *p;
	LIST_HEAD(todo);
	int ret = 0;

	/* Never mapped; an mmap that begins now sees the flip (drs_mmap()). */
	if (!c)
		return 0;
	spin_lock(&b->lock);
	list_splice_init(&c->pending, &todo);
	spin_unlock(&b->lock);

	while ((p = list_first_entry_or_null(&todo, struct drs_pending, node))) {
		/*
		 * Any process can hold its own mmap_lock for long: poll it
		 * whenever there is a deadline or a signal to honour.
		 */
		if (w->forever && !w->intr) {
			mmap_read_lock(p->mm);
		} else {
			while (!mmap_read_trylock(p->mm)) {
				ret = drs_tick(w);
				if (ret)
					goto out;
			}
		}
		mmap_read_unlock(p->mm);
		list_del(&p->node);
		mmdrop(p->mm);
		kfree(p);
	}
out:
	/* What is left is waited for again by the next revoke call. */
	spin_lock(&b->lock);
	list_splice(&todo, &c->pending);
	spin_unlock(&b->lock);
	return ret;
}

/*
 * R6: zap every user mapping of the buffer; later faults reach our vm_ops
 * and get SIGBUS. Through the inode, which we hold: dmabuf->file may be gone
 * (R18). Then the ranges of other files an exporter moved VMAs to.
 */
static void drs_zap(struct drs_buf *b)
{
	struct drs_cold *c = drs_cold(b);
	struct drs_alias *al;

	unmap_mapping_range(b->inode->i_mapping, 0, 0, 1);
	if (!c)
		return;
	mutex_lock(&c->alias_lock);
	list_for_each_entry(al, &c->aliases, node)
		unmap_mapping_range(al->file->f_mapping,
				    (loff_t)al->start << PAGE_SHIFT,
				    (loff_t)(al->end - al->start) << PAGE_SHIFT,
				    1);
	mutex_unlock(&c->alias_lock);
}

/* The per-CPU counts of @b, summed (see DRS_CNT_ACTIVE_BITS). */
static u64 drs_counts(struct drs_buf *b)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(b->counts, cpu));
	return sum;
}

/* No callback inside the exporter: the callback field sums to zero. */
static bool drs_idle(struct drs_buf *b)
{
	return !(drs_counts(b) & (DRS_CNT_ATTACH - 1));
}

static bool drs_unmapped(struct drs_buf *b)
{
	return !READ_ONCE(b->notifiable_maps);
}

/*
 * Wait until @done, within the budget: 1 if done, 0 if not, or -EINTR. On
 * the hashed queue drs_wake() wakes: wait_var_event() has no form that is
 * both interruptible and timed on every supported kernel, so its loop is
 * spelt out (kernel/sched/wait_bit.c).
 */
static int drs_wait_for(struct drs_buf *b, const struct drs_budget *w,
			bool (*done)(struct drs_buf *b))
{
	struct wait_queue_head *wq = __var_waitqueue(b);
	struct wait_bit_queue_entry wbq;
	long left = drs_left(w);
	int ret = 0;

	init_wait_var_entry(&wbq, b, 0);
	for (;;) {
		/* Sets the task state with a full barrier, then we test. */
		if (prepare_to_wait_event(wq, &wbq.wq_entry,
					  w->intr ? TASK_INTERRUPTIBLE :
						    TASK_UNINTERRUPTIBLE)) {
			ret = -EINTR;
			break;
		}
		if (done(b) || !left)
			break;
		left = schedule_timeout(left);
	}
	finish_wait(wq, &wbq.wq_entry);
	return ret ?: done(b);
}

void drs_budget_init(struct drs_budget *w, long timeout, unsigned int flags)
{
	w->intr = flags & DMABUF_REVOKE_INTERRUPTIBLE;
	w->bounded_locks = w->intr;
	w->forever = timeout == MAX_SCHEDULE_TIMEOUT;
	w->deadline = jiffies + (w->forever ? 0 : max(timeout, 0L));
}

/**
 * dmabuf_revoke_start - begin a permanent revoke, under the exporter's locks
 * @dmabuf: a buffer from dmabuf_revoke_export().
 * @result: optional; its report is cleared and receives whether the buffer
 *	was revoked before (%DMABUF_REVOKE_REPORT_ALREADY) and the
 *	attachments this call told. Pass the same @result to
 *	dmabuf_revoke_finish().
 *
 * The first phase of dmabuf_revoke(), for exporters that revoke from inside
 * their own critical sections (device reset, memory disable, eviction), as
 * vfio_pci_dma_buf_move() does: from the moment it returns, attach, map,
 * pin, mmap, vmap (6.2+), begin_cpu_access and faults are refused, and each
 * dynamic importer has been sent one move_notify/invalidate_mappings. It
 * does not sleep on anything a holder of @dmabuf->resv may not (it may
 * allocate with GFP_KERNEL, as the core allows under resv).
 *
 * Every successful call must be followed by exactly one
 * dmabuf_revoke_finish(), with no lock held; until then the shim keeps
 * @dmabuf alive: a release of the buffer waits for it.
 *
 * Context: process context, interrupts enabled (it runs a barrier on every
 * CPU); @dmabuf->resv held (asserted), and any exporter lock that nests
 * outside it.
 * Return: 0, or -ENOENT if @dmabuf is not managed or its release has begun
 * (then nothing can reach it, and there is nothing to finish).
 */
int dmabuf_revoke_start(struct dma_buf *dmabuf,
			struct dmabuf_revoke_result *result)
{
	return drs_start(dmabuf, result, true);
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke_start, DRS_NS);

/**
 * dmabuf_revoke_start_deferred - dmabuf_revoke_start() for one of many
 * @dmabuf: a buffer from dmabuf_revoke_export().
 * @result: as for dmabuf_revoke_start().
 *
 * The same as dmabuf_revoke_start(), except that the barrier that makes the
 * refusal of attach, mmap, begin_cpu_access and faults take effect - one
 * full barrier on every CPU - is left to dmabuf_revoke_sync(), so that an
 * exporter revoking many buffers at once (a device reset) pays it once:
 * call dmabuf_revoke_sync() after the last of them, still under the locks
 * that keep your own access paths out. Map, pin and (6.2+) vmap are refused
 * at once, as are those calls that already see the flip; a callback that
 * slips in before the barrier is waited for by dmabuf_revoke_finish(), which
 * runs the barrier itself if nobody did.
 *
 * Context: as dmabuf_revoke_start().
 * Return: as dmabuf_revoke_start().
 */
int dmabuf_revoke_start_deferred(struct dma_buf *dmabuf,
				 struct dmabuf_revoke_result *result)
{
	return drs_start(dmabuf, result, false);
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke_start_deferred, DRS_NS);

/**
 * dmabuf_revoke_sync - complete a series of dmabuf_revoke_start_deferred()
 *
 * Runs a full memory barrier on every CPU: from its return on, every revoke
 * started before it refuses all new access, as one dmabuf_revoke_start()
 * does at once.
 *
 * Context: process context, interrupts enabled; may sleep (on another
 * caller's barrier), and may be called with @dmabuf->resv or the
 * exporter's locks held.
 */
void dmabuf_revoke_sync(void)
{
	drs_sync_readers();
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke_sync, DRS_NS);

/*
 * dmabuf_revoke_start(); with @sync false the caller runs
 * drs_sync_readers() itself before it finishes (a batch: once for all).
 */
int drs_start(struct dma_buf *dmabuf, struct dmabuf_revoke_result *result,
	      bool sync)
{
	struct dmabuf_revoke_result local;
	struct drs_buf *b;

	if (!dmabuf_revoke_is_managed(dmabuf))
		return -ENOENT;
	dma_resv_assert_held(dmabuf->resv);
	b = to_drs(dmabuf);
	if (!result)
		result = &local;
	memset(&result->report, 0, sizeof(result->report));

	/*
	 * The release has begun and no longer waits for finishers: nothing
	 * can reach the buffer any more (no file, attachment or mapping is
	 * left), and a finish would outlive it. An exporter whose own lock
	 * keeps the dma_buf valid while its release blocks on that lock gets
	 * here; its release frees the buffer as soon as the lock is dropped.
	 */
	if (test_bit(DRS_RELEASED, &b->flags))
		return -ENOENT;
	trace_dmabuf_revoke_start(drs_ino(b), drs_revoked(b));
	if (drs_revoked(b))
		result->report.flags |= DMABUF_REVOKE_REPORT_ALREADY;
	else
		drs_flip(b, &result->report, sync);
	drs_finisher_get(b);
	return 0;
}

/*
 * The revoked callback reported mappings left: tell the exporter when the
 * last one goes (drs_unmap() kicks drs_unmapped_work). Caller: DRS_LOCK.
 */
static void drs_await_unmap(struct drs_buf *b)
{
	bool none;

	spin_lock(&b->lock);
	set_bit(DRS_AWAIT_UNMAP, &b->flags);
	none = !READ_ONCE(b->nr_maps);
	spin_unlock(&b->lock);
	if (none)
		drs_unmapped_kick();
}

/* Nothing maps the buffer any more: complete, and say so once. */
void drs_unmapped_now(struct drs_buf *b)
{
	bool go;

	drs_lock_revoke(b, NULL);
	spin_lock(&b->lock);
	go = !READ_ONCE(b->nr_maps) &&
	     test_and_clear_bit(DRS_AWAIT_UNMAP, &b->flags);
	spin_unlock(&b->lock);
	if (go) {
		set_bit(DRS_COMPLETE, &b->flags);
		if (b->cfg.unmapped)
			b->cfg.unmapped(b->dmabuf, b->cfg.data);
	}
	drs_unlock_revoke(b);
}

static bool drs_awaits_unmap(struct drs_buf *b)
{
	return test_bit(DRS_AWAIT_UNMAP, &b->flags) && !READ_ONCE(b->nr_maps);
}

/*
 * One work item for all buffers, not one per buffer (32 bytes each): it
 * runs cfg.unmapped for every buffer whose last device mapping went after
 * an incomplete revoke. Rare, so a walk of drs_buffers is fine. A buffer
 * found on the list is held as a finisher, which its release waits for
 * after taking it off the list.
 */
static void drs_unmapped_fn(struct work_struct *work)
{
	struct drs_buf *b;
	bool found;

	do {
		found = false;
		mutex_lock(&drs_buffers_lock);
		list_for_each_entry(b, &drs_buffers, node) {
			if (drs_awaits_unmap(b)) {
				drs_finisher_get(b);
				found = true;
				break;
			}
		}
		mutex_unlock(&drs_buffers_lock);
		if (found) {
			/* Clears DRS_AWAIT_UNMAP: no map comes after a revoke. */
			drs_unmapped_now(b);
			drs_finisher_put(b);
		}
	} while (found);
}

static DECLARE_WORK(drs_unmapped_work, drs_unmapped_fn);

/* Callable under dmabuf->resv and in atomic context. */
void drs_unmapped_kick(void)
{
	schedule_work(&drs_unmapped_work);
}

/* Module exit: no buffer is left, but the work may still be returning. */
void drs_unmapped_flush(void)
{
	cancel_work_sync(&drs_unmapped_work);
}

/* The waits of a revoke, in R9's order. 0, or -EINTR. */
int drs_finish(struct drs_buf *b, const struct drs_budget *w,
	       struct dmabuf_revoke_result *result)
{
	struct dmabuf_revoke_report *r = &result->report;
	struct dma_buf *dmabuf = b->dmabuf;
	struct drs_cold *c;
	int ret, done;
	long left;

	/*
	 * R9(a): callbacks that entered before the flip have now left - all
	 * of them counted once a barrier ran on every CPU after the flip
	 * (a deferred start leaves that to dmabuf_revoke_sync() or to us).
	 */
	if (!drs_sync_flips_done())
		drs_sync_readers();
	done = drs_wait_for(b, w, drs_idle);
	if (done < 0)
		return done;
	if (!done)
		r->flags |= DMABUF_REVOKE_REPORT_CALLBACKS;

	/* R6: mmaps under way are linked, then every mapping is zapped. */
	ret = drs_settle_pending(b, w);
	if (ret == -ETIMEDOUT)
		r->flags |= DMABUF_REVOKE_REPORT_USER_MAPPINGS;
	else if (ret)
		return ret;
	drs_zap(b);

	/* R9(b): every fence, down to BOOKKEEP usage. */
	left = drs_resv_wait_all(dmabuf->resv, w->intr, drs_left(w));
	if (left < 0)
		return -EINTR;
	if (!left)
		r->flags |= DMABUF_REVOKE_REPORT_FENCES;

	/*
	 * R9(c): importers we told unmap, or are listed below; mappings left
	 * at a detach are not waited for, only counted (drs_orphan_maps()).
	 */
	done = drs_wait_for(b, w, drs_unmapped);
	if (done < 0)
		return done;

	c = drs_cold(b);
	spin_lock(&b->lock);
	drs_report_remaining(b, result);
	r->user_mappings = c ? c->user_vmas : 0;
	spin_unlock(&b->lock);
	r->vmaps = drs_vmaps_snapshot(dmabuf);

	if (r->flags & (DMABUF_REVOKE_REPORT_FENCES |
			DMABUF_REVOKE_REPORT_CALLBACKS |
			DMABUF_REVOKE_REPORT_USER_MAPPINGS))
		return 0;
	ret = drs_lock_revoke(b, w);
	if (ret)
		/* Its holder is another revoke that completes it, or release. */
		return ret == -ETIMEDOUT ? 0 : ret;
	/* "Complete" means nothing can reach the memory: nothing maps it. */
	if (!(r->flags & DMABUF_REVOKE_REPORT_INCOMPLETE))
		set_bit(DRS_COMPLETE, &b->flags);
	/* R11: once, with no shim or dma-buf lock held but ours. */
	if (!test_and_set_bit(DRS_CB_DONE, &b->flags)) {
		if (b->cfg.revoked)
			b->cfg.revoked(dmabuf, b->cfg.data, r);
		if (r->flags & DMABUF_REVOKE_REPORT_INCOMPLETE)
			drs_await_unmap(b);
	}
	drs_unlock_revoke(b);
	return 0;
}

/**
 * dmabuf_revoke_finish - wait until a started revoke holds
 * @dmabuf: a buffer passed to dmabuf_revoke_start().
 * @timeout: jiffies to wait for in-flight callbacks, mmaps under way,
 *	fences and dynamic importers to unmap; MAX_SCHEDULE_TIMEOUT waits for
 *	ever (kernel callers only).
 * @flags: %DMABUF_REVOKE_INTERRUPTIBLE: signals end the waits, and lock
 *	acquisitions end by @timeout too, whatever other tasks hold.
 * @result: optional; the one given to dmabuf_revoke_start(), completed
 *	with what remains.
 *
 * The second phase of dmabuf_revoke(). When it returns without a flag in
 * the report saying otherwise, no exporter callback other than teardown is
 * running or will run (else %DMABUF_REVOKE_REPORT_CALLBACKS), every user
 * mapping is zapped (else %DMABUF_REVOKE_REPORT_USER_MAPPINGS), the
 * buffer's fences have signalled (else %DMABUF_REVOKE_REPORT_FENCES), and
 * importers' mappings are gone (else %DMABUF_REVOKE_REPORT_INCOMPLETE, with
 * an entry per attachment that still maps it; what an importer left mapped
 * when it detached has no entry and never goes).
 * The exporter's revoked() callback then runs, once, from this call, with
 * none of the shim's or the core's locks held. Whatever is still pending is
 * waited for again by a later dmabuf_revoke().
 *
 * Context: process context, sleeps; no dma-buf or exporter lock held that
 * the exporter's mmap, fault or callbacks take.
 * Return: 0 (see @result), or -EINTR if a signal ended an interruptible
 * wait (the buffer stays revoked; dmabuf_revoke() waits again).
 */
int dmabuf_revoke_finish(struct dma_buf *dmabuf, long timeout,
			 unsigned int flags, struct dmabuf_revoke_result *result)
{
	struct dmabuf_revoke_result local = { };
	struct drs_budget w;
	struct drs_buf *b;
	int ret;

	if (!dmabuf_revoke_is_managed(dmabuf))
		return -ENOENT;
	b = to_drs(dmabuf);
	if (!result)
		result = &local;
	drs_budget_init(&w, timeout, flags & DMABUF_REVOKE_INTERRUPTIBLE);
	ret = drs_finish(b, &w, result);
	trace_dmabuf_revoke_end(drs_ino(b), ret, &result->report);
	/* Last: a release waiting for us may free the buffer. */
	drs_finisher_put(b);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke_finish, DRS_NS);

/**
 * dmabuf_revoke - permanently revoke a managed dma-buf
 * @dmabuf: a buffer from dmabuf_revoke_export(). The caller must keep the
 *	&struct dma_buf alive (a reference, or the exporter's own lock that its
 *	release callback also takes); its file may already be gone.
 * @timeout: as for dmabuf_revoke_finish().
 * @flags: %DMABUF_REVOKE_INTERRUPTIBLE for user-space callers: signals end
 *	the waits, and every wait, lock acquisition included, ends by
 *	@timeout, whatever other tasks hold.
 * @result: optional; receives the report and the attachments that still
 *	map the buffer.
 *
 * dmabuf_revoke_start() under @dmabuf->resv, then dmabuf_revoke_finish().
 * From the first call on, every access path fails: attach, map, pin, mmap
 * and begin_cpu_access with -ENODEV, vmap with -EINVAL (on 6.1 cores see
 * %DMABUF_REVOKE_FEAT_VMAP_SEALED); user mappings are zapped and fault with
 * SIGBUS; dynamic importers get one move_notify/invalidate_mappings. A later
 * call only waits again and reports, with %DMABUF_REVOKE_REPORT_ALREADY.
 *
 * Context: process context, sleeps. Must not be called with dmabuf->resv
 * held (use dmabuf_revoke_start() there), nor with a lock that the
 * exporter's mmap, fault or (un)map paths take.
 * Return: 0 (see @result for what remains), -ENOENT if @dmabuf is not
 * managed, -EINTR if a signal interrupted an interruptible wait, or, for an
 * interruptible call only, -ETIMEDOUT if the reservation lock was held by
 * others for the whole @timeout, so that the revoke could not start
 * (nothing changed then). After -EINTR the buffer is revoked if the revoke
 * started (QUERY tells); call again to wait.
 */
int dmabuf_revoke(struct dma_buf *dmabuf, long timeout, unsigned int flags,
		  struct dmabuf_revoke_result *result)
{
	struct dmabuf_revoke_result local = { };
	struct drs_budget w;
	struct drs_buf *b;
	int ret;

	if (!dmabuf_revoke_is_managed(dmabuf))
		return -ENOENT;
	if (flags & ~DMABUF_REVOKE_INTERRUPTIBLE)
		return -EINVAL;
	b = to_drs(dmabuf);
	if (!result)
		result = &local;
	memset(&result->report, 0, sizeof(result->report));

	drs_budget_init(&w, timeout, flags);
	ret = drs_lock_resv(dmabuf->resv, &w);
	if (ret)
		return ret;
	ret = dmabuf_revoke_start(dmabuf, result);
	dma_resv_unlock(dmabuf->resv);
	if (ret)
		return ret;
	/* The deadline runs on from the lock acquisition. */
	ret = drs_finish(b, &w, result);
	trace_dmabuf_revoke_end(drs_ino(b), ret, &result->report);
	drs_finisher_put(b);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke, DRS_NS);

/* QUERY's numbers. */
void drs_fill_counts(struct drs_buf *b, struct dmabuf_revoke_query *q)
{
	struct dma_buf *dmabuf = b->dmabuf;
	struct drs_cold *c = drs_cold(b);
	u64 sum = drs_counts(b);
	unsigned int maps = 0;
	struct drs_attach *a;
	s64 all, dyn;

	q->state = 0;
	if (drs_revoked(b))
		q->state |= DMABUF_REVOKE_STATE_REVOKED;
	if (test_bit(DRS_COMPLETE, &b->flags))
		q->state |= DMABUF_REVOKE_STATE_COMPLETE;
	if (test_bit(DRS_STRICT, &b->flags))
		q->state |= DMABUF_REVOKE_STATE_STRICT;
	q->buf_size = dmabuf->size;
	q->inode = drs_ino(b);
	strscpy(q->exp_name, dmabuf->exp_name ?: "", sizeof(q->exp_name));

	/* A racing sum may be off by the changes under way: clamp it. */
	drs_count_field(&sum, DRS_CNT_ACTIVE_BITS);
	all = max_t(s64, drs_count_field(&sum, DRS_CNT_ATTACH_BITS), 0);
	dyn = clamp_t(s64, drs_count_field(&sum, DRS_CNT_DYNAMIC_BITS), 0, all);
	q->attachments = all;
	q->dynamic_attachments = dyn;
	q->static_attachments = all - dyn;
	spin_lock(&b->lock);
	list_for_each_entry(a, &b->attachments, node) {
		q->pins += READ_ONCE(a->pins);
		maps += READ_ONCE(a->maps);
	}
	/* Before the flip the records count what the buffer does not. */
	q->mappings = b->nr_maps + (drs_revoked(b) ? 0 : maps);
	q->user_mappings = c ? c->user_vmas : 0;
	spin_unlock(&b->lock);
	q->vmaps = drs_vmaps_snapshot(dmabuf);
}
