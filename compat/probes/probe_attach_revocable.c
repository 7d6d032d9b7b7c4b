// SPDX-License-Identifier: GPL-2.0
/* dma_buf_attach_revocable(): importers can ask whether an exporter revokes
 * (v7.1, with the VFIO/IOMMUFD dma-buf revoke series).
 */
#include "probe.h"
#include <linux/dma-buf.h>

static bool __maybe_unused probe(struct dma_buf_attachment *a)
{
	return dma_buf_attach_revocable(a);
}
