/* SPDX-License-Identifier: GPL-2.0 */
/* dmabuf_revoke_shim internals shared by its files. */
#ifndef _DMABUF_REVOKE_SHIM_H
#define _DMABUF_REVOKE_SHIM_H

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/dma-buf.h>
#include <linux/dmabuf_revoke.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rhashtable-types.h>
#include <linux/spinlock.h>
#include <linux/wait_bit.h>

/*
 * The shim's record of an attachment that pins or maps a managed buffer
 * (see drs_find()), from drs_attach_cache: linked and unlinked under
 * dmabuf->resv and drs_buf.lock, and indexed by @attach in one table for
 * all buffers; @maps and @pins change under resv. Freed a grace period
 * after its unlinking (the index is searched under RCU), the rcu_head
 * taking the place of the list node nobody walks any more.
 */
struct drs_attach {
	union {
		struct list_head node;
		struct rcu_head rcu;
	};
	struct rhash_head hash;
	struct dma_buf_attachment *attach;
	unsigned int maps;
	unsigned int pins;
	bool notifiable;	/* importer has move_notify/invalidate_mappings */
};

extern struct kmem_cache *drs_attach_cache;

/*
 * An mmap that passed drs_mmap() and may not be linked into its file's
 * i_mmap tree yet: mmap_region() links the VMA after ->mmap returns, under
 * the mm's mmap_lock held for writing, so a zap that runs in between misses
 * PTEs the exporter's mmap installed. Any later holder of that mmap_lock
 * sees the VMA linked. At most one per mm and buffer: the next mmap of the
 * same mm replaces it (mmaps of one mm are serialised by that lock).
 */
struct drs_pending {
	struct list_head node;
	struct mm_struct *mm;			/* mmgrab()ed */
	const struct vm_area_struct *vma;	/* compared, never dereferenced */
};

/*
 * An address space other than the dma-buf's own that an exporter's mmap
 * moved a VMA to (vma_set_file(), as i915 does): revoke zaps its range too.
 */
struct drs_alias {
	struct list_head node;
	struct file *file;			/* held until release */
	pgoff_t start, end;			/* pages, end exclusive */
};

struct drs_vm_ops;
struct dma_resv;

/*
 * What only user mappings need - and, where a vmap after revoke cannot fail
 * (6.1), the revoke's scratch vmap: allocated by the first mmap (or that
 * revoke), never freed before release, so that a buffer nobody maps does
 * not carry it (issue 14's memory budget). Published once in drs_buf.cold.
 */
struct drs_cold {
	/* The exporter's vm_ops, learnt from the first mmap, and ours. */
	const struct vm_operations_struct *exp_vm_ops;
	struct drs_vm_ops *vm_ops;
	struct list_head pending;	/* struct drs_pending; drs_buf.lock */
	unsigned int user_vmas;		/* drs_buf.lock */
	struct mutex alias_lock;	/* protects aliases */
	struct list_head aliases;	/* struct drs_alias */
	/*
	 * Scratch memory handed to a vmap after revoke on cores where the op
	 * cannot fail (6.1), allocated by the revoke; one zeroed page mapped
	 * over the buffer's size. Like the core's own vmap state, serialised
	 * by the core (dmabuf->lock).
	 */
	void *dead_vmap;
};

/* Bits of drs_buf.flags, set and cleared with atomic bitops only. */
enum {
	DRS_REVOKED,		/* set once, under resv */
	DRS_RELEASED,		/* drs_release() began; under resv */
	DRS_COMPLETE,		/* R9 held and nothing maps it any more */
	DRS_CB_DONE,		/* cfg.revoked has run; under DRS_LOCK */
	DRS_AWAIT_UNMAP,	/* cfg.revoked reported mappings; under lock */
	DRS_STRICT,		/* DMABUF_REVOKE_EXPORT_STRICT */
	DRS_LOCK,		/* the revoke lock: drs_lock_revoke() */
};

/* struct dmabuf_revoke_config without its flags (DRS_STRICT holds them). */
struct drs_cfg {
	void (*revoked)(struct dma_buf *dmabuf, void *data,
			const struct dmabuf_revoke_report *report);
	void (*unmapped)(struct dma_buf *dmabuf, void *data);
	void *data;
	struct pid *owner;
};

/*
 * Per managed buffer, from drs_buf_cache. dmabuf->ops points at @ops, so
 * container_of() finds us without touching dmabuf->priv, which stays the
 * exporter's (pitfall P4). Kept to 256 bytes on production configs
 * (issue 14): what only mappings need is in @cold, waiters sleep on the
 * hashed queue of the buffer's address (wake_up_var()), and the revoke
 * lock is a bit of @flags.
 */
struct drs_buf {
	struct dma_buf_ops ops;
	const struct dma_buf_ops *exp_ops;
	struct module *exp_owner;	/* held until the exporter's release */
	struct dma_buf *dmabuf;
	/*
	 * Held from export to release: the dma-buf can outlive its struct file
	 * (an O_PATH open keeps the dentry, and so the buffer, after the last
	 * real close), so revoke reaches user mappings through the inode's
	 * address space and never through dmabuf->file (R18).
	 */
	struct inode *inode;

	/*
	 * Per-CPU counts (see DRS_CNT_*): the callbacks the core makes without
	 * dmabuf->resv (attach, mmap, vmap, begin_cpu_access, faults) that are
	 * inside the exporter (drs_enter()), whose sum revoke waits to see
	 * zero after the flip (R9a), and the attachments, for QUERY. Per
	 * buffer, so one buffer's slow callback never delays another buffer's
	 * revoke.
	 */
	u64 __percpu *counts;
	struct drs_attach *cursor;	/* last one found, see drs_find() */
	/*
	 * Device mappings the buffer-wide waits count. The hot paths count
	 * per record only (drs_attach.maps), so before the flip these hold
	 * just the mappings of records dropped at a detach that left them
	 * live; the flip adds every record's, and after it the unmap
	 * trampoline counts down here too (no map can follow a flip). They
	 * change with both resv and @lock held: read under either, or
	 * without as snapshots.
	 */
	unsigned int nr_maps;		/* all live device mappings */
	unsigned int notifiable_maps;	/* ... of importers we can tell */
	spinlock_t lock;		/* attachments; cold's lists; AWAIT */
	/* Started revokes not finished yet: release waits for them. */
	atomic_t finishers;
	unsigned long flags;		/* DRS_* bits */
	struct list_head attachments;	/* struct drs_attach, newest first */
	struct drs_cold *cold;		/* drs_get_cold() */
	struct drs_cfg cfg;
	struct list_head node;		/* drs_buffers */
};

extern struct kmem_cache *drs_buf_cache;
extern struct list_head drs_buffers;
extern struct mutex drs_buffers_lock;

static inline struct drs_buf *to_drs(const struct dma_buf *dmabuf)
{
	return container_of(dmabuf->ops, struct drs_buf, ops);
}

static inline bool drs_revoked(const struct drs_buf *b)
{
	return test_bit(DRS_REVOKED, &b->flags);
}

static inline unsigned long drs_ino(const struct drs_buf *b)
{
	return b->inode->i_ino;
}

/* The cold part, once published (NULL before the first mmap). */
static inline struct drs_cold *drs_cold(const struct drs_buf *b)
{
	/* Pairs with the cmpxchg() that published it (drs_get_cold()). */
	return smp_load_acquire(&b->cold);
}

/*
 * Add @n (negative: take) to the buffer's mapping counts (struct drs_buf).
 * Caller holds resv and b->lock.
 */
static inline void drs_count_maps(struct drs_buf *b, int n, bool notifiable)
{
	lockdep_assert_held(&b->lock);
	WRITE_ONCE(b->nr_maps, b->nr_maps + n);
	if (notifiable)
		WRITE_ONCE(b->notifiable_maps, b->notifiable_maps + n);
}

/*
 * Waiters on a buffer (its callback count, its device mappings, its
 * finishers) sleep on the hashed wait queue of its address: a wake needs no
 * wait queue in the buffer, and one that races with the buffer's free
 * touches only the hash table. Callers order the condition's store before
 * this with a full barrier, as wake_up_var() requires.
 */
static inline void drs_wake(struct drs_buf *b)
{
	wake_up_var(b);
}

/*
 * The number of vmaps the core holds, for reports only. The core updates
 * vmapping_counter with plain ++/-- under its own lock (dmabuf->lock on
 * 6.1, dmabuf->resv on 6.2+), which a report must not wait for (a resv
 * holder could stall QUERY or REVOKE's report): a racy snapshot of an
 * aligned int is what we want, so tell KCSAN it is intended.
 */
static inline unsigned int drs_vmaps_snapshot(const struct dma_buf *dmabuf)
{
	return data_race(dmabuf->vmapping_counter); /* a report's snapshot */
}

/*
 * b->counts packs three counts into one u64 per CPU, so that the attach
 * trampoline's leave also counts the attachment, in one per-CPU add and no
 * atomic: callbacks in flight in the low DRS_CNT_ACTIVE_BITS, attachments
 * above them, dynamic attachments at the top. Only the sum over the CPUs
 * means anything (a callback or an attachment may end on another CPU than
 * it began), taken modulo 2^64 like every add: a field's total is exact
 * whenever it fits, and the callbacks sit in the low bits, where neither of
 * the others can carry into them - R9a never depends on QUERY's numbers.
 * 23 bits hold twice PID_MAX_LIMIT, every thread inside a callback nested
 * once; the attachment fields are exact up to 2^20 and 2^19 (signed, to
 * absorb a racing sum, see drs_count_field()).
 */
#define DRS_CNT_ACTIVE_BITS	23
#define DRS_CNT_ATTACH_BITS	21
#define DRS_CNT_DYNAMIC_BITS	(64 - DRS_CNT_ACTIVE_BITS - DRS_CNT_ATTACH_BITS)
#define DRS_CNT_ATTACH		BIT_ULL(DRS_CNT_ACTIVE_BITS)
#define DRS_CNT_DYNAMIC		BIT_ULL(DRS_CNT_ACTIVE_BITS + DRS_CNT_ATTACH_BITS)

/*
 * Take the low @bits of @sum as a signed field and shift them out. A sum
 * read while counts change on other CPUs may hold a field one or two below
 * zero (an end seen, its beginning on a CPU read earlier not): signed, it
 * borrows nothing from the field above.
 */
static inline s64 drs_count_field(u64 *sum, unsigned int bits)
{
	s64 f = sign_extend64(*sum, bits - 1);

	*sum = (*sum - f) >> bits;
	return f;
}

/* Leave an unlocked callback, adding @count (DRS_CNT_*) on the way out. */
static inline void drs_leave_count(struct drs_buf *b, u64 count)
{
	this_cpu_add(*b->counts, count - 1);
	barrier();
	/* Only a revoke waits, and it flips the state before it looks. */
	if (unlikely(drs_revoked(b))) {
		smp_mb();	/* the decrement before drs_wake()'s test */
		drs_wake(b);
	}
}

static inline void drs_leave(struct drs_buf *b)
{
	drs_leave_count(b, 0);
}

/*
 * Enter an unlocked callback: false once the buffer is revoked. No memory
 * barrier on this side: the revoke follows its flip with
 * drs_sync_readers(), a full barrier run on every CPU (an IPI), so either
 * our increment precedes that barrier and the revoke's wait sees it, or
 * our read of the state follows it and sees the flip - the asymmetric
 * pattern of membarrier(2). The same holds for drs_leave()'s decrement and
 * read against the revoke's wait. A per-CPU count keeps the hot path free
 * of atomic read-modify-writes and shared cache lines.
 */
static inline bool drs_enter(struct drs_buf *b)
{
	this_cpu_inc(*b->counts);
	barrier();
	if (likely(!drs_revoked(b)))
		return true;
	drs_leave(b);
	return false;
}

/*
 * Keep @b from being freed: drs_release() waits until every such reference
 * is put. Taken by dmabuf_revoke_start() until the finish, and by a batch
 * while it holds a buffer it found on drs_buffers (batch.c).
 */
static inline void drs_finisher_get(struct drs_buf *b)
{
	atomic_inc(&b->finishers);
}

static inline void drs_finisher_put(struct drs_buf *b)
{
	/* A full barrier; @b may be freed once it reads zero. */
	if (atomic_dec_and_test(&b->finishers))
		drs_wake(b);
}

/*
 * How long a revoke may take: a deadline for user callers, whose REVOKE must
 * return within its timeout whatever other processes hold (R9), and none for
 * kernel callers that asked to wait for ever.
 */
struct drs_budget {
	unsigned long deadline;
	bool forever;
	bool intr;		/* signals end the waits */
	bool bounded_locks;	/* poll locks too (user callers) */
};

/* wrap.c */
int drs_records_init(void);
void drs_records_exit(void);
void drs_sync_readers(void);
void drs_sync_note_flip(void);
bool drs_sync_flips_done(void);
void drs_wrap_ops(struct drs_buf *b);
bool drs_ops_are_ours(const struct dma_buf_ops *ops);
struct drs_cold *drs_get_cold(struct drs_buf *b);
void drs_free_user_state(struct drs_buf *b);
int drs_alloc_dead_vmap(struct drs_buf *b, struct drs_cold *c, gfp_t gfp);

/* revoke.c */
void drs_fill_counts(struct drs_buf *b, struct dmabuf_revoke_query *q);
void drs_unmapped_kick(void);
void drs_unmapped_flush(void);
void drs_unmapped_now(struct drs_buf *b);
int drs_lock_revoke(struct drs_buf *b, const struct drs_budget *w);
void drs_unlock_revoke(struct drs_buf *b);
void drs_budget_init(struct drs_budget *w, long timeout, unsigned int flags);
int drs_lock_resv(struct dma_resv *resv, const struct drs_budget *w);
int drs_start(struct dma_buf *dmabuf, struct dmabuf_revoke_result *result,
	      bool sync);
int drs_finish(struct drs_buf *b, const struct drs_budget *w,
	       struct dmabuf_revoke_result *result);

/* batch.c */
int drs_ioc_revoke_batch(void __user *uarg);

/* ioctl.c */
int drs_copy_in(void *karg, size_t ksize, size_t minsz, void __user *uarg,
		u32 *usize);
int drs_copy_out(void __user *uarg, const void *karg, size_t ksize,
		 u32 usize);
int drs_copy_array(u64 uptr, const void *karr, size_t ksize, size_t ustride,
		   u32 n);
struct dma_buf *drs_get_managed(int fd);
int drs_chardev_init(void);
void drs_chardev_exit(void);

#endif /* _DMABUF_REVOKE_SHIM_H */
