// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf_revoke_shim: permanent, exporter-triggered revoke for dma-bufs on
 * stock kernels. Module glue: global state, init and exit.
 */
#include <linux/debugfs.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "dmabuf_revoke_compat.h"
#include "shim.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* Every live managed buffer, for listings. */
LIST_HEAD(drs_buffers);
/* Protects drs_buffers. */
DEFINE_MUTEX(drs_buffers_lock);

static struct dentry *drs_debugfs;

/* /sys/kernel/debug/dmabuf_revoke/buffers: one line per managed buffer. */
static int drs_buffers_show(struct seq_file *m, void *unused)
{
	struct dmabuf_revoke_query q;
	struct drs_buf *b;

	seq_puts(m, "inode size exporter state attachments dynamic static mappings pins user_mappings vmaps\n");
	mutex_lock(&drs_buffers_lock);
	list_for_each_entry(b, &drs_buffers, node) {
		memset(&q, 0, sizeof(q));
		drs_fill_counts(b, &q);
		seq_printf(m, "%llu %llu %s %s%s%s %u %u %u %u %u %u %u\n",
			   q.inode, q.buf_size, q.exp_name,
			   q.state & DMABUF_REVOKE_STATE_REVOKED ? "revoked" : "live",
			   q.state & DMABUF_REVOKE_STATE_COMPLETE ? ",complete" : "",
			   q.state & DMABUF_REVOKE_STATE_STRICT ? ",strict" : "",
			   q.attachments, q.dynamic_attachments,
			   q.static_attachments, q.mappings, q.pins,
			   q.user_mappings, q.vmaps);
	}
	mutex_unlock(&drs_buffers_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(drs_buffers);

static int __init drs_init(void)
{
	int ret;

	/* Of their exact size: slab rounding is part of issue 14's budget. */
	drs_buf_cache = KMEM_CACHE(drs_buf, 0);
	drs_attach_cache = KMEM_CACHE(drs_attach, 0);
	if (!drs_buf_cache || !drs_attach_cache) {
		ret = -ENOMEM;
		goto out_caches;
	}
	ret = drs_records_init();
	if (ret)
		goto out_caches;
	ret = drs_chardev_init();
	if (ret)
		goto out_records;
	/* debugfs is optional: without it the LIST ioctl serves. */
	drs_debugfs = debugfs_create_dir("dmabuf_revoke", NULL);
	debugfs_create_file("buffers", 0400, drs_debugfs, NULL,
			    &drs_buffers_fops);
	pr_info("dmabuf_revoke_shim %s loaded (ABI %u.%u)\n",
		DMABUF_REVOKE_VERSION, DMABUF_REVOKE_ABI_MAJOR,
		DMABUF_REVOKE_ABI_MINOR);
	return 0;

out_records:
	drs_records_exit();
out_caches:
	kmem_cache_destroy(drs_attach_cache);
	kmem_cache_destroy(drs_buf_cache);
	return ret;
}

static void __exit drs_exit(void)
{
	debugfs_remove_recursive(drs_debugfs);
	drs_chardev_exit();
	/* Each managed buffer holds a module reference (P5): none is left. */
	WARN_ON(!list_empty(&drs_buffers));
	drs_unmapped_flush();
	drs_records_exit();
	kmem_cache_destroy(drs_attach_cache);
	kmem_cache_destroy(drs_buf_cache);
}

module_init(drs_init);
module_exit(drs_exit);

MODULE_DESCRIPTION("Permanent, exporter-triggered revoke for dma-bufs");
MODULE_AUTHOR("dmabuf-revoke developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DMABUF_REVOKE_VERSION);
MODULE_IMPORT_NS(DRS_NS_DMA_BUF);
