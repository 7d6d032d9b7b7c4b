// SPDX-License-Identifier: GPL-2.0
/* dma_resv_wait_timeout(), formerly dma_resv_wait_timeout_rcu() (v5.14,
 * "dma-buf: drop the _rcu postfix on function names v3").
 */
#include "probe.h"
#include <linux/dma-resv.h>

static long __maybe_unused probe(struct dma_resv *r)
{
	return dma_resv_wait_timeout(r, 1, true, 1);
}
