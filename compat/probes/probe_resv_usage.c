// SPDX-License-Identifier: GPL-2.0
/* Fences carry a usage, waits name the usage to wait for (v5.19,
 * "dma-buf: add enum dma_resv_usage v4").
 */
#include "probe.h"
#include <linux/dma-resv.h>

static long __maybe_unused probe(struct dma_resv *r)
{
	return dma_resv_wait_timeout(r, DMA_RESV_USAGE_BOOKKEEP, true, 1);
}
