// SPDX-License-Identifier: GPL-2.0
/* vm_flags_set(): vma->vm_flags became read-only behind accessors in
 * v6.3 ("mm: introduce vma->vm_flags wrapper functions").
 */
#include "probe.h"
#include <linux/mm.h>

static void __maybe_unused probe(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_DONTEXPAND);
}
