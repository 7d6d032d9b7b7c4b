/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmabuf-revoke: in-kernel API for exporters.
 *
 * An exporter that wants its dma-bufs to be revocable exports them through
 * dmabuf_revoke_export() instead of dma_buf_export(). The shim then sits
 * between the dma-buf core and the exporter's &dma_buf_ops and can, on
 * dmabuf_revoke(), permanently cut every access path to the buffer.
 *
 * Symbols live in the "DMABUF_REVOKE" namespace: import it with
 * MODULE_IMPORT_NS (see dmabuf_revoke_compat.h for the spelling your kernel
 * wants).
 */
#ifndef _LINUX_DMABUF_REVOKE_H
#define _LINUX_DMABUF_REVOKE_H

#include <linux/dma-buf.h>
#include <linux/bits.h>
#include <linux/types.h>
#include <uapi/linux/dmabuf_revoke.h>

struct pid;

/* Refuse attachments that cannot be revoked (static importers, importers
 * without an invalidation callback) with -EOPNOTSUPP, as VFIO does.
 */
#define DMABUF_REVOKE_EXPORT_STRICT	BIT(0)

/* dmabuf_revoke(): sleep interruptibly (user-space callers). */
#define DMABUF_REVOKE_INTERRUPTIBLE	BIT(0)

/**
 * struct dmabuf_revoke_config - how a revocable buffer is exported
 * @flags: DMABUF_REVOKE_EXPORT_* flags.
 * @revoked: optional; called exactly once, in process context, holding
 *	only the buffer's own revoke lock, once a revoke of the buffer has
 *	finished waiting: no exporter callback other than teardown runs or
 *	will run, no user mapping is left and the fences have signalled. If
 *	@report has %DMABUF_REVOKE_REPORT_INCOMPLETE, importers that could not
 *	be told or did not let go still map the memory (listed in the report;
 *	or only counted in its mappings_remaining, if an importer detached
 *	without unmapping): it is NOT safe to reuse yet - keep it quarantined
 *	until @unmapped runs. Otherwise this is where an exporter frees or
 *	resets the backing memory. If every revoke wait was interrupted, it
 *	runs at release instead, just before the exporter's
 *	&dma_buf_ops.release (%DMABUF_REVOKE_REPORT_ALREADY, and INCOMPLETE
 *	if a mapping left at a detach remains). It must not call
 *	dmabuf_revoke() on the same buffer.
 * @unmapped: optional; called once after @revoked reported
 *	%DMABUF_REVOKE_REPORT_INCOMPLETE, when the last device mapping of the
 *	buffer is gone: from a workqueue, holding only the buffer's revoke
 *	lock, or at release at the latest. Now the memory is safe to reuse.
 *	Never, if an importer detached with a mapping live (its bug; the
 *	report counts it in mappings_remaining, with no entry): that memory
 *	is never safe to reuse.
 * @data: passed to @revoked and @unmapped.
 * @owner: optional; the thread group (task_tgid()) that owns the buffer -
 *	typically the process that allocated it. It may revoke the buffer
 *	through /dev/dmabuf_revoke without CAP_SYS_ADMIN; a process that
 *	merely received the fd may not. The shim holds a reference on it.
 */
struct dmabuf_revoke_config {
	unsigned int flags;
	void (*revoked)(struct dma_buf *dmabuf, void *data,
			const struct dmabuf_revoke_report *report);
	void (*unmapped)(struct dma_buf *dmabuf, void *data);
	void *data;
	struct pid *owner;
};

/**
 * struct dmabuf_revoke_result - what dmabuf_revoke() found
 * @report: counts and flags, as returned to user space.
 * @entries: optional array the caller provides; filled with the
 *	attachments that still map the buffer.
 * @max_entries: capacity of @entries. @report.nr_entries says how many
 *	exist, which may be more.
 */
struct dmabuf_revoke_result {
	struct dmabuf_revoke_report report;
	struct dmabuf_revoke_entry *entries;
	unsigned int max_entries;
};

struct dma_buf *dmabuf_revoke_export(const struct dma_buf_export_info *exp_info,
				     const struct dmabuf_revoke_config *cfg);
int dmabuf_revoke(struct dma_buf *dmabuf, long timeout, unsigned int flags,
		  struct dmabuf_revoke_result *result);
int dmabuf_revoke_start(struct dma_buf *dmabuf,
			struct dmabuf_revoke_result *result);
int dmabuf_revoke_start_deferred(struct dma_buf *dmabuf,
				 struct dmabuf_revoke_result *result);
void dmabuf_revoke_sync(void);
int dmabuf_revoke_finish(struct dma_buf *dmabuf, long timeout,
			 unsigned int flags, struct dmabuf_revoke_result *result);
bool dmabuf_revoke_is_managed(const struct dma_buf *dmabuf);
void *dmabuf_revoke_exporter_priv(const struct dma_buf *dmabuf,
				  const struct dma_buf_ops *ops);
bool dmabuf_revoke_is_revoked(const struct dma_buf *dmabuf);
bool dmabuf_revoke_is_owner(const struct dma_buf *dmabuf);

#endif /* _LINUX_DMABUF_REVOKE_H */
