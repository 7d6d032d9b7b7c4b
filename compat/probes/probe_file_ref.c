// SPDX-License-Identifier: GPL-2.0
/* struct file's refcount became a file_ref_t (file_ref_get()) in v6.13
 * ("fs: port files to file_ref").
 */
#include "probe.h"
#include <linux/fs.h>
#include <linux/file_ref.h>

static bool __maybe_unused probe(struct file *f)
{
	return file_ref_get(&f->f_ref);
}
