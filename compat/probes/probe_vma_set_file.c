// SPDX-License-Identifier: GPL-2.0
/* vma_set_file() (v5.11, "mm: introduce vma_set_file function v5"). */
#include "probe.h"
#include <linux/mm.h>

static void __maybe_unused probe(struct vm_area_struct *vma, struct file *f)
{
	vma_set_file(vma, f);
}
