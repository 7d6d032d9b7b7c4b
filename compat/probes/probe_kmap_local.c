// SPDX-License-Identifier: GPL-2.0
/* kmap_local_page() (v5.11, "mm/highmem: Provide kmap_local*"). */
#include "probe.h"
#include <linux/highmem.h>

static void __maybe_unused probe(struct page *page)
{
	kunmap_local(kmap_local_page(page));
}
