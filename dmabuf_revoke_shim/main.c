// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf_revoke_shim: permanent, exporter-triggered revoke for dma-bufs on
 * stock kernels. Module glue: global state, init and exit.
 */
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/srcu.h>

#include "dmabuf_revoke_compat.h"
#include "shim.h"

/* Read sections around every forwarded non-teardown callback; see wrap.c. */
DEFINE_SRCU(drs_srcu);

/* Every live managed buffer, for listings. */
LIST_HEAD(drs_buffers);
/* Protects drs_buffers. */
DEFINE_MUTEX(drs_buffers_lock);

static int __init drs_init(void)
{
	int ret;

	ret = drs_chardev_init();
	if (ret)
		return ret;
	pr_info("dmabuf_revoke_shim %s loaded (ABI %u.%u)\n",
		DMABUF_REVOKE_VERSION, DMABUF_REVOKE_ABI_MAJOR,
		DMABUF_REVOKE_ABI_MINOR);
	return 0;
}

static void __exit drs_exit(void)
{
	drs_chardev_exit();
	/* Each managed buffer holds a module reference (P5): none is left. */
	WARN_ON(!list_empty(&drs_buffers));
}

module_init(drs_init);
module_exit(drs_exit);

MODULE_DESCRIPTION("Permanent, exporter-triggered revoke for dma-bufs");
MODULE_AUTHOR("dmabuf-revoke developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DMABUF_REVOKE_VERSION);
MODULE_IMPORT_NS(DRS_NS_DMA_BUF);
