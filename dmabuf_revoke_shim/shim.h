/* SPDX-License-Identifier: GPL-2.0 */
/* dmabuf_revoke_shim internals shared by wrap.c, revoke.c and ioctl.c. */
#ifndef _DMABUF_REVOKE_SHIM_H
#define _DMABUF_REVOKE_SHIM_H

#include <linux/dma-buf.h>
#include <linux/dmabuf_revoke.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/wait.h>

/* One per attachment of a managed buffer. */
struct drs_attach {
	struct list_head node;
	struct dma_buf_attachment *attach;
	unsigned int maps;
	unsigned int pins;
	bool notifiable;	/* importer has move_notify/invalidate_mappings */
};

/*
 * An address space that mapped the buffer through our mmap trampoline. The
 * VMA is linked into the file's i_mmap tree only after ->mmap returns, under
 * that mm's mmap_lock; revoke takes the lock once per mm so that such an
 * in-flight mmap is visible to its zap.
 */
struct drs_mm {
	struct list_head node;
	struct mm_struct *mm;
	unsigned long vmas;
};

/*
 * Per managed buffer. dmabuf->ops points at @ops, so container_of() finds us
 * without touching dmabuf->priv, which stays the exporter's (pitfall P4).
 */
struct drs_buf {
	struct dma_buf_ops ops;
	const struct dma_buf_ops *exp_ops;
	struct module *exp_owner;	/* held until the exporter's release */
	struct dma_buf *dmabuf;
	/* The dma-buf's inode number, kept: the inode dies before release. */
	unsigned long ino;
	struct dmabuf_revoke_config cfg;

	/* The exporter's vm_ops, learnt from the first mmap. */
	const struct vm_operations_struct *exp_vm_ops;
	bool vm_ops_ready;

	/* Scratch memory handed to a vmap that raced with revoke. Like the
	 * core's own vmap state, serialised by the core (dmabuf->lock on 6.1,
	 * dmabuf->resv since 6.2).
	 */
	void *dead_vmap;

	spinlock_t lock;		/* protects everything below it */
	struct list_head attachments;	/* struct drs_attach, newest first */
	struct drs_attach *cursor;	/* last one found, see drs_find() */
	struct list_head mms;		/* struct drs_mm */
	unsigned int nr_maps;		/* all live device mappings */
	unsigned int notifiable_maps;	/* ... of importers we can tell */
	unsigned int user_vmas;

	struct mutex revoke_lock;	/* serialises revokes; outside resv */
	wait_queue_head_t unmap_wq;	/* woken when notifiable_maps drops */
	bool revoked;			/* set once, under resv */
	bool complete;			/* a revoke finished (R9 held) */
	bool cb_done;			/* cfg.revoked has run */
	struct list_head node;		/* drs_buffers */
};

extern struct srcu_struct drs_srcu;
extern struct list_head drs_buffers;
extern struct mutex drs_buffers_lock;

static inline struct drs_buf *to_drs(const struct dma_buf *dmabuf)
{
	return container_of(dmabuf->ops, struct drs_buf, ops);
}

static inline bool drs_revoked(const struct drs_buf *b)
{
	return READ_ONCE(b->revoked);
}

/* wrap.c */
void drs_wrap_ops(struct drs_buf *b);
bool drs_ops_are_ours(const struct dma_buf_ops *ops);
void drs_free_mms(struct drs_buf *b);

/* revoke.c */
void drs_fill_counts(struct drs_buf *b, struct dmabuf_revoke_query *q);

/* ioctl.c */
int drs_chardev_init(void);
void drs_chardev_exit(void);

#endif /* _DMABUF_REVOKE_SHIM_H */
