// SPDX-License-Identifier: GPL-2.0
/*
 * The trampolines the dma-buf core calls instead of the exporter's
 * dma_buf_ops, and the vm_operations wrapper of user mappings.
 *
 * Every access path checks the revoked state before it reaches the exporter:
 * - callbacks the core calls with dmabuf->resv held (pin, map_dma_buf) are
 *   serialised against revoke by that lock, since revoke sets the state
 *   under it;
 * - the others (attach, mmap, vmap, begin_cpu_access, faults) run between
 *   drs_enter() and drs_leave(), and revoke waits for the buffer's count of
 *   them to drop to zero after setting the state, so none is still running
 *   in the exporter when it returns (R9a). The count is per buffer: another
 *   buffer's slow callback never delays this one's revoke.
 * Teardown (unpin, unmap_dma_buf, detach, vunmap, end_cpu_access, release)
 * is always forwarded.
 */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kcsan-checks.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/rcupdate.h>
#include <linux/rhashtable.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dmabuf_revoke_compat.h"
#include "shim.h"
#include "trace.h"

struct kmem_cache *drs_attach_cache;
struct kmem_cache *drs_buf_cache;

/*
 * A full barrier on every CPU: the revoke side of drs_enter() (see there),
 * paid once per revoke - or once per batch of them. drs_sync_seq counts
 * them like an rcu_seq: odd while one runs; they run one at a time.
 */
static DEFINE_MUTEX(drs_sync_lock);
static unsigned long drs_sync_seq;

static void drs_mb_ipi(void *unused)
{
	/* Orders this CPU's drs_enter()/drs_leave() against the flip. */
	smp_mb();
}

void drs_sync_readers(void)
{
	mutex_lock(&drs_sync_lock);
	/* Odd: one runs. Ordered before the IPIs (on_each_cpu() is too). */
	smp_store_release(&drs_sync_seq, drs_sync_seq + 1);
	on_each_cpu(drs_mb_ipi, NULL, 1);
	/* Even: ended, after every CPU's barrier; drs_sync_flips_done() acquires. */
	smp_store_release(&drs_sync_seq, drs_sync_seq + 1);
	mutex_unlock(&drs_sync_lock);
}

/*
 * The value drs_sync_seq must reach before the latest flip of any buffer
 * is known to every CPU: once a barrier run that began after that flip has
 * ended (the end of the next one, or of the one after it if one runs now,
 * whose IPIs may predate the flip). One value for all buffers rather than
 * one per buffer (8 bytes each): a finish compares with a value at least
 * its own buffer's, so it may run a barrier another buffer's later flip
 * needed - time, never correctness.
 */
static atomic_long_t drs_flip_snap;

/* After a flip, before the revoke lets go of resv. */
void drs_sync_note_flip(void)
{
	long snap, old;

	/* The flip before this read; pairs with the IPIs' barriers. */
	smp_mb();
	snap = (READ_ONCE(drs_sync_seq) + 3) & ~1UL;
	old = atomic_long_read(&drs_flip_snap);
	while (ULONG_CMP_LT((unsigned long)old, (unsigned long)snap) &&
	       !atomic_long_try_cmpxchg(&drs_flip_snap, &old, snap))
		;
}

/* Has every CPU run a barrier since the latest flip noted? */
bool drs_sync_flips_done(void)
{
	unsigned long snap = atomic_long_read(&drs_flip_snap);

	/* Pairs with the release that ended the barrier run. */
	return ULONG_CMP_GE(smp_load_acquire(&drs_sync_seq), snap);
}

/*
 * The shim keeps a record (struct drs_attach) only of attachments that pin
 * or map the buffer: made by the first pin or map, dropped at detach. Pin,
 * unpin, map and unmap all run with dmabuf->resv held (a managed buffer is
 * dynamic), and so does every change of the list; b->lock is taken on top
 * of it for the readers that do not hold resv (reports, QUERY).
 *
 * A hot path never walks the list (issue 14: the cost of a map must not
 * grow with the number of importers): drs_find() tries the buffer's last
 * hit (@cursor: one importer's pin, map, unmap and unpin in a row), then
 * drs_records, one table for all buffers keyed by the attachment pointer -
 * unique while attached, and a record leaves the table at detach, before
 * the core frees the attachment. A table per buffer would cost every buffer
 * its buckets (issue 14's budget); the shared one costs a record a hash
 * link, and a detach an RCU-deferred free because a lookup for another
 * buffer's attachment may be walking the same bucket.
 */
static struct rhashtable drs_records;

static const struct rhashtable_params drs_records_params = {
	.key_len = sizeof_field(struct drs_attach, attach),
	.key_offset = offsetof(struct drs_attach, attach),
	.head_offset = offsetof(struct drs_attach, hash),
	.automatic_shrinking = true,
};

int drs_records_init(void)
{
	return rhashtable_init(&drs_records, &drs_records_params);
}

/* At module exit: every buffer is gone, so must every record be. */
void drs_records_exit(void)
{
	/* One left would be a detach that forgot it (run.sh unloads us). */
	WARN_ON(atomic_read(&drs_records.nelems));
	/* The frees drs_unrecord() deferred, before their cache goes. */
	rcu_barrier();
	rhashtable_destroy(&drs_records);
}

/*
 * Into and out of the index. The table's bucket lock is bit 0 of the
 * bucket's head pointer, which the lock holder then reads with plain loads
 * while another CPU - often the table's resize worker - spins with
 * test_and_set_bit_lock() on the same word (include/linux/rhashtable.h:
 * rht_lock() and rht_ptr(), 5.10 to 7.2). Nothing changes under the
 * reader, but strict KCSAN reports the pair, and the plain side is the
 * core's inline code compiled into this module, so it is silenced here,
 * for these two calls only. Lookups read the buckets with marked loads.
 */
static int drs_index_add(struct drs_attach *a)
{
	int ret;

	kcsan_disable_current();
	ret = rhashtable_insert_fast(&drs_records, &a->hash,
				     drs_records_params);
	kcsan_enable_current();
	return ret;
}

static void drs_index_del(struct drs_attach *a)
{
	kcsan_disable_current();
	rhashtable_remove_fast(&drs_records, &a->hash, drs_records_params);
	kcsan_enable_current();
}

static void drs_record_free(struct rcu_head *rcu)
{
	kmem_cache_free(drs_attach_cache,
			container_of(rcu, struct drs_attach, rcu));
}

/* drs_find() past the last hit; out of line, for the hit's sake. */
static noinline struct drs_attach *
drs_find_indexed(struct drs_buf *b, const struct dma_buf_attachment *attach)
{
	struct drs_attach *a;

	if (list_empty(&b->attachments))
		return NULL;
	a = rhashtable_lookup_fast(&drs_records, &attach, drs_records_params);
	if (a)
		b->cursor = a;
	return a;
}

/* Caller holds resv: @attach's record cannot come or go meanwhile. */
static inline struct drs_attach *
drs_find(struct drs_buf *b, const struct dma_buf_attachment *attach)
{
	struct drs_attach *a = b->cursor;

	if (likely(a && a->attach == attach))
		return a;
	return drs_find_indexed(b, attach);
}

/* drs_find(), or a new record; NULL when out of memory. Caller: resv. */
static struct drs_attach *drs_record(struct drs_buf *b,
				     struct dma_buf_attachment *attach)
{
	struct drs_attach *a = drs_find(b, attach);

	if (a)
		return a;
	/* Allocating under resv is allowed: dma_resv_lockdep() says so. */
	a = kmem_cache_zalloc(drs_attach_cache, GFP_KERNEL);
	if (!a)
		return NULL;
	a->attach = attach;
	a->notifiable = drs_attach_can_notify(attach);
	/* Fails only when the table cannot take one more (memory): no op. */
	if (drs_index_add(a)) {
		kmem_cache_free(drs_attach_cache, a);
		return NULL;
	}
	/* Newest first, as the core links its own list. */
	spin_lock(&b->lock);
	list_add(&a->node, &b->attachments);
	spin_unlock(&b->lock);
	b->cursor = a;
	return a;
}

/* What @attach adds to its buffer's counts: QUERY's attachment numbers. */
static u64 drs_attach_count(const struct dma_buf_attachment *attach)
{
	return DRS_CNT_ATTACH + (attach->importer_ops ? DRS_CNT_DYNAMIC : 0);
}

static int drs_attach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	struct drs_buf *b = to_drs(dmabuf);
	int ret = 0;

	if (!drs_enter(b)) {
		trace_dmabuf_revoke_refused(drs_ino(b), "attach", -ENODEV);
		return -ENODEV;
	}
	/* The core sets importer_ops before calling ops->attach. */
	if (test_bit(DRS_STRICT, &b->flags) &&
	    !drs_attach_can_notify(attach)) {
		/* R13: this importer could never be told to let go. */
		ret = -EOPNOTSUPP;
		trace_dmabuf_revoke_refused(drs_ino(b), "attach-strict", ret);
	} else if (b->exp_ops->attach) {
		ret = b->exp_ops->attach(dmabuf, attach);
	}
	drs_leave_count(b, ret ? 0 : drs_attach_count(attach));
	return ret;
}

/*
 * An importer detached with @a's mappings live - its bug: the core unmaps
 * at detach only the mapping it cached itself (drivers/dma-buf/dma-buf.c,
 * dma_buf_detach(), 5.10 to 7.2). They still count, as the device may still
 * reach the memory, but for good and as mappings no one can tell: the
 * attachment is gone, so no invalidation can reach it and no unmap can
 * follow. A revoke must neither wait for them nor call the buffer done
 * (drs_report_remaining()). Caller: resv and b->lock. True when a revoke
 * may be waiting on the count this took to zero.
 */
static noinline bool drs_orphan_maps(struct drs_buf *b, struct drs_attach *a)
{
	lockdep_assert_held(&b->lock);
	/* Before the flip the buffer's counts lack them; after, hold them. */
	if (!drs_revoked(b)) {
		drs_count_maps(b, a->maps, false);
		return false;
	}
	if (!a->notifiable)
		return false;
	WRITE_ONCE(b->notifiable_maps, b->notifiable_maps - a->maps);
	return !b->notifiable_maps;
}

/*
 * Drop @attach's record, if it has one. Out of line: the table's removal
 * would otherwise cost every detach its registers, record or not.
 */
static noinline void drs_unrecord(struct drs_buf *b,
				  struct dma_buf_attachment *attach)
{
	struct dma_resv *resv = b->dmabuf->resv;
	unsigned int orphans = 0;
	bool told = false;
	struct drs_attach *a;

	dma_resv_lock(resv, NULL);
	a = drs_find(b, attach);
	if (a) {
		drs_index_del(a);
		spin_lock(&b->lock);
		list_del(&a->node);
		orphans = a->maps;
		if (unlikely(orphans))
			told = drs_orphan_maps(b, a);
		spin_unlock(&b->lock);
		if (b->cursor == a)
			b->cursor = NULL;
	}
	dma_resv_unlock(resv);
	if (told) {
		smp_mb();	/* the count before drs_wake()'s test */
		drs_wake(b);
	}
	/* The core frees @attach only after ops->detach returns. */
	if (unlikely(orphans))
		pr_warn_ratelimited("dmabuf_revoke_shim: %s detached from dma-buf %lu with %u device mapping(s) live; they count as remaining for good\n",
				    dev_name(attach->dev), drs_ino(b), orphans);
	/* The list's readers hold resv or b->lock; the index's, RCU. */
	if (a)
		call_rcu(&a->rcu, drs_record_free);
}

static void drs_detach(struct dma_buf *dmabuf,
		       struct dma_buf_attachment *attach)
{
	struct drs_buf *b = to_drs(dmabuf);

	if (b->exp_ops->detach)
		b->exp_ops->detach(dmabuf, attach);
	this_cpu_sub(*b->counts, drs_attach_count(attach));

	/*
	 * A record exists only if this attachment pinned or mapped, which
	 * happened before this detach: an empty list means none (list_add()
	 * and list_del() write the head with WRITE_ONCE()). Else look
	 * under resv, which dma_buf_detach() has just released before calling
	 * us (5.10 to 7.2: it unlinks the attachment under resv, then calls
	 * ops->detach), and nothing pins or maps an attachment being detached.
	 */
	if (!list_empty(&b->attachments))
		drs_unrecord(b, attach);
}

/*
 * pin and map_dma_buf: the core calls them with dmabuf->resv held, because
 * a managed buffer is always dynamic (it has pin/unpin); revoke flips the
 * state under the same lock.
 */
static int drs_pin(struct dma_buf_attachment *attach)
{
	struct drs_buf *b = to_drs(attach->dmabuf);
	struct drs_attach *a;
	int ret = 0;

	dma_resv_assert_held(attach->dmabuf->resv);
	/* -ENODEV, not -EBUSY: 7.x WARNs when pin fails with -EBUSY. */
	if (drs_revoked(b)) {
		trace_dmabuf_revoke_refused(drs_ino(b), "pin", -ENODEV);
		return -ENODEV;
	}
	a = drs_record(b, attach);
	if (!a)
		return -ENOMEM;
	if (b->exp_ops->pin)
		ret = b->exp_ops->pin(attach);
	if (ret)
		return ret;
	/* The counts change under resv; reports read them without. */
	WRITE_ONCE(a->pins, a->pins + 1);
	return 0;
}

static void drs_unpin(struct dma_buf_attachment *attach)
{
	struct drs_buf *b = to_drs(attach->dmabuf);
	struct drs_attach *a;

	if (b->exp_ops->unpin)
		b->exp_ops->unpin(attach);
	a = drs_find(b, attach);
	if (a && a->pins)
		WRITE_ONCE(a->pins, a->pins - 1);
}

static struct sg_table *drs_map(struct dma_buf_attachment *attach,
				enum dma_data_direction dir)
{
	struct drs_buf *b = to_drs(attach->dmabuf);
	struct sg_table *sgt;
	struct drs_attach *a;

	dma_resv_assert_held(attach->dmabuf->resv);
	if (drs_revoked(b)) {
		trace_dmabuf_revoke_refused(drs_ino(b), "map", -ENODEV);
		return ERR_PTR(-ENODEV);
	}
	a = drs_record(b, attach);
	if (!a)
		return ERR_PTR(-ENOMEM);

	sgt = b->exp_ops->map_dma_buf(attach, dir);
	if (IS_ERR_OR_NULL(sgt))
		return sgt;

	/*
	 * The record's count only: the buffer's are summed from the records
	 * at the flip (struct drs_buf). Reports read it without resv.
	 */
	WRITE_ONCE(a->maps, a->maps + 1);
	return sgt;
}

/*
 * An unmap after the flip: count it down in the buffer's counts too, wake
 * the revoke once no importer it can tell maps the buffer, and tell the
 * exporter once nothing does. Out of line, for the hot path's sake.
 */
static noinline void drs_unmap_revoked(struct drs_buf *b, struct drs_attach *a)
{
	bool told, last;

	/* Both counts in one section: a report sees them agree. */
	spin_lock(&b->lock);
	WRITE_ONCE(a->maps, a->maps - 1);
	drs_count_maps(b, -1, a->notifiable);
	told = !b->notifiable_maps;
	last = test_bit(DRS_AWAIT_UNMAP, &b->flags) && !b->nr_maps;
	spin_unlock(&b->lock);
	if (told) {
		smp_mb();	/* the count before drs_wake()'s test */
		drs_wake(b);
	}
	/* Under resv here: the exporter hears of it from a workqueue. */
	if (last)
		drs_unmapped_kick();
}

static void drs_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
		      enum dma_data_direction dir)
{
	struct drs_buf *b = to_drs(attach->dmabuf);
	struct drs_attach *a;

	b->exp_ops->unmap_dma_buf(attach, sgt, dir);

	/* Called with resv held: the count changes under it (drs_map()). */
	a = drs_find(b, attach);
	if (unlikely(!a || !a->maps))
		return;		/* never counted */
	/* Revoked under the same lock: only then is anyone waiting. */
	if (unlikely(drs_revoked(b)))
		drs_unmap_revoked(b, a);
	else
		WRITE_ONCE(a->maps, a->maps - 1);
}

static int drs_begin_cpu_access(struct dma_buf *dmabuf,
				enum dma_data_direction dir)
{
	struct drs_buf *b = to_drs(dmabuf);
	int ret = 0;

	if (!drs_enter(b)) {
		trace_dmabuf_revoke_refused(drs_ino(b), "cpu-access", -ENODEV);
		return -ENODEV;
	}
	if (b->exp_ops->begin_cpu_access)
		ret = b->exp_ops->begin_cpu_access(dmabuf, dir);
	drs_leave(b);
	return ret;
}

/*
 * vmap after revoke: where the core tests ops->vmap under resv, revoke
 * clears it and callers get -EINVAL without reaching us. On 6.1 they do
 * reach us (see DRS_VMAP_CAN_FAIL), and failing would trip dma_buf_vmap()'s
 * WARN_ON_ONCE(ret) (drivers/dma-buf/dma-buf.c) - pitfall P3. They get
 * zeroed scratch memory of the buffer's size, which the revoke allocated
 * before it flipped the state: never the exporter's memory, and no
 * allocation here that could fail into that WARN. The core keeps one
 * underlying vmap at a time (vmapping_counter), so one area is enough.
 */
static int drs_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct drs_buf *b = to_drs(dmabuf);
	struct drs_cold *c;
	int ret;

	if (drs_enter(b)) {
		ret = drs_call_vmap(b->exp_ops, dmabuf, map);
		drs_leave(b);
		return ret;
	}
	trace_dmabuf_revoke_refused(drs_ino(b), "vmap", 0);
	/* Before v5.11 a failed vmap is a clean NULL for the caller. */
	if (DRS_VMAP_OP_MAY_FAIL)
		return -ENODEV;
	/* The flip's scratch vmap, if it made one, before the flip itself. */
	smp_rmb();
	c = drs_get_cold(b);
	/* The revoke could not allocate it: the core WARNs if this fails. */
	if (!c || (!c->dead_vmap && drs_alloc_dead_vmap(b, c, GFP_KERNEL)))
		return -ENOMEM;
	/* The previous holder of the area may have written to it. */
	clear_highpage(vmalloc_to_page(c->dead_vmap));
	iosys_map_set_vaddr(map, c->dead_vmap);
	return 0;
}

/*
 * The scratch area of drs_vmap(): one zeroed page mapped over the whole size
 * of the buffer, so that it costs a page and some vmalloc address space
 * whatever the buffer's size.
 */
int drs_alloc_dead_vmap(struct drs_buf *b, struct drs_cold *c, gfp_t gfp)
{
	unsigned long i, n = DIV_ROUND_UP(b->dmabuf->size, PAGE_SIZE);
	struct page **pages, *page;
	void *vaddr;

	page = alloc_page(gfp | __GFP_ZERO);
	if (!page)
		return -ENOMEM;
	pages = kvmalloc_array(n, sizeof(*pages), gfp);
	if (!pages) {
		__free_page(page);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		pages[i] = page;
	vaddr = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	if (!vaddr) {
		__free_page(page);
		return -ENOMEM;
	}
	/* drs_vunmap() compares with it outside the flip's lock. */
	WRITE_ONCE(c->dead_vmap, vaddr);
	return 0;
}

static void drs_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct drs_buf *b = to_drs(dmabuf);
	struct drs_cold *c = drs_cold(b);
	void *dead = c ? READ_ONCE(c->dead_vmap) : NULL;

	/* The scratch area stays for the next caller; release frees it. */
	if (dead && !map->is_iomem && map->vaddr == dead)
		return;
	if (b->exp_ops->vunmap)
		drs_call_vunmap(b->exp_ops, dmabuf, map);
}

DRS_DEFINE_VMAP_OPS(drs_vmap, drs_vunmap)

/* ---- user mappings ---- */

/*
 * Our vm_ops, one table per buffer, made at its first mmap: container_of()
 * finds the buffer from any of its VMAs, whatever vm_file the exporter's
 * mmap left there (R18).
 */
struct drs_vm_ops {
	const struct vm_operations_struct ops;
	struct drs_buf *b;
};

static const struct vm_operations_struct drs_dead_vm_ops;

static struct drs_buf *vma_to_drs(const struct vm_area_struct *vma)
{
	if (vma->vm_ops == &drs_dead_vm_ops)
		return vma->vm_private_data;
	return container_of(vma->vm_ops, struct drs_vm_ops, ops)->b;
}

/*
 * Is @vma's file not the dma-buf's? Then the exporter moved it
 * (vma_set_file()), and the VMA holds a reference on the dma-buf's file of
 * its own, taken by drs_mmap() or drs_vm_open(): every VMA keeps the buffer
 * alive, as the core's own mappings do.
 */
static bool drs_vma_moved(const struct drs_buf *b,
			  const struct vm_area_struct *vma)
{
	return vma->vm_file != b->dmabuf->file;
}

/* Forget the pending mmap of @vma's mm if it is @vma. Caller: b->lock. */
static struct drs_pending *drs_take_pending(struct drs_cold *c,
					    const struct vm_area_struct *vma)
{
	struct drs_pending *p;

	list_for_each_entry(p, &c->pending, node) {
		if (p->vma == vma) {
			list_del(&p->node);
			return p;
		}
	}
	return NULL;
}

/* Bookkeeping of a VMA that goes away, live or dead. */
static void drs_vma_gone(struct drs_buf *b, struct vm_area_struct *vma)
{
	bool moved = drs_vma_moved(b, vma);
	struct file *file = b->dmabuf->file;
	struct drs_cold *c = drs_cold(b);	/* made by its mmap */
	struct drs_pending *p;

	spin_lock(&b->lock);
	if (c->user_vmas)
		c->user_vmas--;
	p = drs_take_pending(c, vma);
	spin_unlock(&b->lock);
	if (p) {
		mmdrop(p->mm);
		kfree(p);
	}
	/* Last: this may be the buffer's last reference. */
	if (moved)
		fput(file);
}

/*
 * A VMA made by split, fork or mremap of one of ours. After the revoke the
 * exporter never hears of a new VMA: it gets dead vm_ops, which fault with
 * SIGBUS and never call the exporter's close either.
 */
static void drs_vm_open(struct vm_area_struct *vma)
{
	struct drs_buf *b = vma_to_drs(vma);
	struct drs_cold *c = drs_cold(b);	/* made by its mmap */

	spin_lock(&b->lock);
	c->user_vmas++;
	spin_unlock(&b->lock);
	if (drs_vma_moved(b, vma))
		get_file(b->dmabuf->file);	/* the parent VMA holds one */

	if (vma->vm_ops == &drs_dead_vm_ops)
		return;
	if (!drs_enter(b)) {
		vma->vm_private_data = b;
		vma->vm_ops = &drs_dead_vm_ops;
		return;
	}
	if (c->exp_vm_ops && c->exp_vm_ops->open)
		c->exp_vm_ops->open(vma);
	drs_leave(b);
}

static void drs_vm_close(struct vm_area_struct *vma)
{
	struct drs_buf *b = vma_to_drs(vma);
	const struct vm_operations_struct *exp = drs_cold(b)->exp_vm_ops;

	/* Teardown: the exporter saw this VMA open, it sees it close. */
	if (exp && exp->close)
		exp->close(vma);
	drs_vma_gone(b, vma);
}

static void drs_dead_close(struct vm_area_struct *vma)
{
	drs_vma_gone(vma->vm_private_data, vma);
}

static vm_fault_t drs_dead_fault(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct drs_dead_vm_ops = {
	.open = drs_vm_open,
	.close = drs_dead_close,
	.fault = drs_dead_fault,
};

/*
 * R16: every managed VMA is VM_PFNMAP (drs_mmap()), so a page the exporter's
 * fault returns is mapped here as a special PTE, which get_user_pages() and
 * so vmsplice(), O_DIRECT and long-term pins refuse: no page reference
 * outlives the zap. It is also installed inside our enter/leave section, not
 * by the core after we return, where a concurrent revoke's zap could miss
 * it. The exporter keeps the page allocated while the buffer lives, as for
 * any pinned dma-buf memory; the PTE holds no reference.
 */
static vm_fault_t drs_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct drs_buf *b = vma_to_drs(vma);
	const struct vm_operations_struct *exp = drs_cold(b)->exp_vm_ops;
	vm_fault_t ret, ret2;
	struct page *page;

	if (!drs_enter(b)) {
		/* R6: never a zero page, never other memory. */
		trace_dmabuf_revoke_refused(drs_ino(b), "fault", -EFAULT);
		return VM_FAULT_SIGBUS;
	}
	if (!exp || !exp->fault) {
		/* A PFN map the exporter filled at mmap time, since zapped. */
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	ret = exp->fault(vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY |
		   VM_FAULT_DONE_COW))
		goto out;

	page = vmf->page;
	vmf->page = NULL;
	ret2 = vmf_insert_pfn(vma, vmf->address & PAGE_MASK, page_to_pfn(page));
	/* Drop what the exporter handed us. */
	if (ret & VM_FAULT_LOCKED)
		unlock_page(page);
	put_page(page);
	ret = ret2;
out:
	drs_leave(b);
	return ret;
}

static vm_fault_t drs_vm_pfn_mkwrite(struct vm_fault *vmf)
{
	struct drs_buf *b = vma_to_drs(vmf->vma);
	vm_fault_t ret;

	if (!drs_enter(b))
		return VM_FAULT_SIGBUS;
	ret = drs_cold(b)->exp_vm_ops->pfn_mkwrite(vmf);
	drs_leave(b);
	return ret;
}

/* ptrace/proc access to the mapping (generic_access_phys for PFN maps). */
static int drs_vm_access(struct vm_area_struct *vma, unsigned long addr,
			 void *buf, int len, int write)
{
	struct drs_buf *b = vma_to_drs(vma);
	int ret;

	if (!drs_enter(b))
		return -ENODEV;
	ret = drs_cold(b)->exp_vm_ops->access(vma, addr, buf, len, write);
	drs_leave(b);
	return ret;
}

/*
 * Our vm_ops replace the exporter's on every managed mapping: every callback
 * that can install a PTE or touch the memory goes through a checked path and
 * forwards to the exporter's. Fault-around (map_pages) and huge faults are
 * not offered, so single faults are the only way in; page_mkwrite never
 * runs on a PFN map; other exporter vm_ops (name, mremap, may_split, ...)
 * are not used. Only callbacks the exporter has appear.
 */
static struct drs_vm_ops *drs_make_vm_ops(struct drs_buf *b,
					  const struct vm_operations_struct *exp)
{
	const struct drs_vm_ops v = {
		.ops = {
			.open = drs_vm_open,
			.close = drs_vm_close,
			.fault = drs_vm_fault,
			.pfn_mkwrite = exp && exp->pfn_mkwrite ?
				       drs_vm_pfn_mkwrite : NULL,
			.access = exp && exp->access ? drs_vm_access : NULL,
		},
		.b = b,
	};

	return kmemdup(&v, sizeof(v), GFP_KERNEL);
}

/* Add @vma's range of its (foreign) file to the zap list. */
static void drs_add_alias(struct drs_cold *c, struct vm_area_struct *vma,
			  struct drs_alias **spare)
{
	pgoff_t start = vma->vm_pgoff, end = start + vma_pages(vma);
	struct drs_alias *al;

	mutex_lock(&c->alias_lock);
	list_for_each_entry(al, &c->aliases, node) {
		if (al->file->f_mapping == vma->vm_file->f_mapping) {
			al->start = min(al->start, start);
			al->end = max(al->end, end);
			goto out;
		}
	}
	al = *spare;
	*spare = NULL;
	al->file = get_file(vma->vm_file);
	al->start = start;
	al->end = end;
	list_add(&al->node, &c->aliases);
out:
	mutex_unlock(&c->alias_lock);
}

/* Record an mmap that may not be linked yet. Caller: b->lock. */
static void drs_add_pending(struct drs_cold *c, struct vm_area_struct *vma,
			    struct drs_pending **spare)
{
	struct drs_pending *p;

	list_for_each_entry(p, &c->pending, node) {
		if (p->mm == vma->vm_mm) {
			/* Its previous mmap was linked before this one began. */
			p->vma = vma;
			return;
		}
	}
	p = *spare;
	*spare = NULL;
	p->mm = vma->vm_mm;
	mmgrab(p->mm);
	p->vma = vma;
	list_add_tail(&p->node, &c->pending);
}

/*
 * The cold part, made on first use and published once: by the first mmap
 * before its drs_enter() (so a revoke that waited for that mmap sees it)
 * or by a revoke that needs a scratch vmap. NULL when out of memory.
 */
struct drs_cold *drs_get_cold(struct drs_buf *b)
{
	struct drs_cold *c = drs_cold(b), *old;

	if (c)
		return c;
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return NULL;
	INIT_LIST_HEAD(&c->pending);
	INIT_LIST_HEAD(&c->aliases);
	mutex_init(&c->alias_lock);
	/* Fully ordered: the initialisation before the pointer. */
	old = cmpxchg(&b->cold, NULL, c);
	if (!old)
		return c;
	mutex_destroy(&c->alias_lock);
	kfree(c);
	return drs_cold(b);
}

static int drs_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct drs_buf *b = to_drs(dmabuf);
	struct drs_alias *alias = NULL;
	struct drs_pending *pending;
	struct drs_vm_ops *vm_ops = NULL;
	struct drs_cold *c;
	const struct vm_operations_struct *exp;
	struct file *file = vma->vm_file;	/* the dma-buf's, both paths */
	bool moved;
	int ret;

	/*
	 * P2: once zapped, a private mapping would silently fault in fresh
	 * anonymous memory. Refuse it, as VFIO does. VM_MAYSHARE, not
	 * VM_SHARED: the core clears VM_SHARED on a MAP_SHARED mapping of a
	 * read-only file, which a plain buffer allows (R12).
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;

	c = drs_get_cold(b);
	if (!c)
		return -ENOMEM;
	pending = kzalloc(sizeof(*pending), GFP_KERNEL);
	if (!pending)
		return -ENOMEM;

	if (!drs_enter(b)) {
		ret = -ENODEV;
		trace_dmabuf_revoke_refused(drs_ino(b), "mmap", ret);
		goto out_free;
	}
	ret = b->exp_ops->mmap(dmabuf, vma);
	if (ret)
		goto out_leave;
	exp = vma->vm_ops;
	moved = vma->vm_file != file;
	vm_ops = READ_ONCE(c->vm_ops) ? NULL : drs_make_vm_ops(b, exp);
	alias = moved ? kzalloc(sizeof(*alias), GFP_KERNEL) : NULL;
	if ((!vm_ops && !READ_ONCE(c->vm_ops)) || (moved && !alias)) {
		ret = -ENOMEM;
		goto out_undo;
	}
	/*
	 * R16: pages an exporter inserted itself into a VM_MIXEDMAP mapping
	 * (vm_insert_page()) are ordinary PTEs that user space can pin past
	 * the revoke. Such an exporter must hand pages out from its fault
	 * handler or map PFNs instead.
	 */
	if ((vma->vm_flags & (VM_MIXEDMAP | VM_PFNMAP)) == VM_MIXEDMAP) {
		pr_warn_once("dmabuf_revoke_shim: %s maps dma-bufs with VM_MIXEDMAP; refusing (pinnable pages, see dmabuf_revoke_export())\n",
			     dmabuf->exp_name);
		ret = -EINVAL;
		goto out_undo;
	}

	spin_lock(&b->lock);
	if (!c->vm_ops) {
		c->exp_vm_ops = exp;
		WRITE_ONCE(c->vm_ops, vm_ops);
		vm_ops = NULL;
	}
	if (c->exp_vm_ops != exp) {
		spin_unlock(&b->lock);
		/* One buffer, one set of vm_ops (documented in the API). */
		ret = -EINVAL;
		goto out_undo;
	}
	vma->vm_ops = &c->vm_ops->ops;
	c->user_vmas++;
	drs_add_pending(c, vma, &pending);
	spin_unlock(&b->lock);

	if (!(vma->vm_flags & VM_PFNMAP))
		drs_vm_flags_set(vma, VM_PFNMAP);
	if (moved) {
		drs_add_alias(c, vma, &alias);
		get_file(file);		/* see drs_vma_moved() */
	}
	goto out_leave;

out_undo:
	if (exp && exp->close)
		exp->close(vma);
out_leave:
	drs_leave(b);
out_free:
	kfree(alias);
	kfree(vm_ops);
	kfree(pending);
	return ret;
}

/* Release: what user mappings left behind. No VMA can be left. */
void drs_free_user_state(struct drs_buf *b)
{
	struct drs_cold *c = drs_cold(b);
	struct drs_pending *p, *ptmp;
	struct drs_alias *al, *atmp;
	struct page *page;

	if (!c)
		return;
	list_for_each_entry_safe(p, ptmp, &c->pending, node) {
		list_del(&p->node);
		mmdrop(p->mm);
		kfree(p);
	}
	list_for_each_entry_safe(al, atmp, &c->aliases, node) {
		list_del(&al->node);
		fput(al->file);
		kfree(al);
	}
	kfree(c->vm_ops);
	if (c->dead_vmap) {
		page = vmalloc_to_page(c->dead_vmap);
		vunmap(c->dead_vmap);
		__free_page(page);
	}
	mutex_destroy(&c->alias_lock);
	kfree(c);
}

static void drs_release(struct dma_buf *dmabuf);

/* Fill b->ops from the exporter's ops: same shape, our trampolines. */
void drs_wrap_ops(struct drs_buf *b)
{
	const struct dma_buf_ops *exp = b->exp_ops;

	b->ops = *exp;
	drs_ops_no_cache(&b->ops);	/* P1: never cache at attach */
	b->ops.attach = drs_attach;
	b->ops.detach = drs_detach;
	/* P1: always dynamic, so every mapping goes through drs_map(). */
	b->ops.pin = drs_pin;
	b->ops.unpin = drs_unpin;
	b->ops.map_dma_buf = drs_map;
	b->ops.unmap_dma_buf = drs_unmap;
	b->ops.release = drs_release;
	b->ops.begin_cpu_access = drs_begin_cpu_access;
	/* R7: the end of a bracket always reaches the exporter, unchecked. */
	b->ops.end_cpu_access = exp->end_cpu_access;
	/* R12: what the exporter cannot do, the wrapper cannot either. */
	b->ops.mmap = exp->mmap ? drs_mmap : NULL;
	b->ops.vmap = exp->vmap ? DRS_VMAP_FN(drs_vmap) : NULL;
	b->ops.vunmap = exp->vmap ? DRS_VUNMAP_FN(drs_vunmap) : NULL;
}

bool drs_ops_are_ours(const struct dma_buf_ops *ops)
{
	return ops && ops->release == drs_release;
}

static void drs_release(struct dma_buf *dmabuf)
{
	struct drs_buf *b = to_drs(dmabuf);
	struct dmabuf_revoke_report report = { };
	struct module *exp_owner = b->exp_owner;

	/*
	 * Out of the listings first: LIST and debugfs read exporter-owned data
	 * (exp_name) under drs_buffers_lock, which must not happen once the
	 * exporter's release began.
	 */
	mutex_lock(&drs_buffers_lock);
	list_del(&b->node);
	mutex_unlock(&drs_buffers_lock);

	/*
	 * A revoke an exporter started under its own lock keeps the buffer
	 * until dmabuf_revoke_finish() returns (bounded by its timeout). One
	 * that would start after this wait is refused (dmabuf_revoke_start()
	 * checks @released under the same lock): an exporter's lock that its
	 * release takes keeps the dma_buf valid for the start, but not for the
	 * finish, which comes after that lock is dropped.
	 */
	dma_resv_lock(dmabuf->resv, NULL);
	set_bit(DRS_RELEASED, &b->flags);
	dma_resv_unlock(dmabuf->resv);
	wait_var_event(b, !atomic_read(&b->finishers));

	/*
	 * R11: a revoke whose waits were all interrupted still reports once.
	 * The revoke lock orders this against a revoke still running on a
	 * buffer whose last reference went meanwhile (the exporter's lock
	 * keeps it).
	 */
	drs_lock_revoke(b, NULL);
	if (drs_revoked(b) && b->cfg.revoked &&
	    !test_and_set_bit(DRS_CB_DONE, &b->flags)) {
		report.flags = DMABUF_REVOKE_REPORT_ALREADY;
		/* Every importer is gone: what maps it now, maps it for good. */
		report.mappings_remaining = READ_ONCE(b->nr_maps);
		if (report.mappings_remaining)
			report.flags |= DMABUF_REVOKE_REPORT_INCOMPLETE;
		b->cfg.revoked(dmabuf, b->cfg.data, &report);
	}
	drs_unlock_revoke(b);
	/*
	 * Mappings left at the revoke are gone now, all but those an
	 * importer left at detach (drs_orphan_maps()), which never go. The
	 * unmapped work no longer finds the buffer (off drs_buffers), and
	 * held it as a finisher if it had found it before.
	 */
	drs_unmapped_now(b);
	b->exp_ops->release(dmabuf);

	/*
	 * dma_buf_release() does not look at dmabuf->ops after ->release
	 * returns, so the ops copy can go now. No VMA can be left (each holds
	 * the dma-buf's file).
	 */
	drs_free_user_state(b);
	WARN_ON(!list_empty(&b->attachments));
	iput(b->inode);
	put_pid(b->cfg.owner);
	free_percpu(b->counts);
	kmem_cache_free(drs_buf_cache, b);
	/* The exporter's code has returned; the core then drops the shim. */
	module_put(exp_owner);
}
