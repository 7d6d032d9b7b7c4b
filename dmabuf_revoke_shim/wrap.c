// SPDX-License-Identifier: GPL-2.0
/*
 * The trampolines the dma-buf core calls instead of the exporter's
 * dma_buf_ops, and the vm_operations wrapper of user mappings.
 *
 * Every access path checks the revoked state before it reaches the exporter:
 * - callbacks the core calls with dmabuf->resv held (pin, map_dma_buf) are
 *   serialised against revoke by that lock, since revoke sets the state
 *   under it;
 * - the others (attach, mmap, vmap, begin_cpu_access, faults) run inside a
 *   drs_srcu read section, and revoke waits one grace period after setting
 *   the state, so none is still running in the exporter when it returns.
 * Teardown (unpin, unmap_dma_buf, detach, vunmap, end_cpu_access, release)
 * is always forwarded.
 */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dmabuf_revoke_compat.h"
#include "shim.h"
#include "trace.h"

/*
 * Caller holds b->lock. The search starts after the last hit: one
 * attachment's pin, map, unmap and unpin find it at once, and a revoke,
 * whose notifications run in list order (newest first, like the core's
 * list), finds each importer's unmap right after the previous one - so a
 * revoke stays linear in the number of attachments.
 */
static struct drs_attach *drs_find(struct drs_buf *b,
				   const struct dma_buf_attachment *attach)
{
	struct drs_attach *a, *start = b->cursor;

	if (start && start->attach == attach)
		return start;
	if (start) {
		a = start;
		list_for_each_entry_continue(a, &b->attachments, node)
			if (a->attach == attach)
				goto found;
	}
	list_for_each_entry(a, &b->attachments, node) {
		if (a == start)
			break;
		if (a->attach == attach)
			goto found;
	}
	return NULL;
found:
	b->cursor = a;
	return a;
}

static int drs_attach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	struct drs_buf *b = to_drs(dmabuf);
	struct drs_attach *a;
	int idx, ret = 0;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	a->attach = attach;
	/* The core sets importer_ops before calling ops->attach. */
	a->notifiable = drs_attach_can_notify(attach);

	idx = srcu_read_lock(&drs_srcu);
	if (drs_revoked(b)) {
		ret = -ENODEV;
		trace_dmabuf_revoke_refused(b->ino, "attach", ret);
	} else if ((b->cfg.flags & DMABUF_REVOKE_EXPORT_STRICT) &&
		   !a->notifiable) {
		/* R13: this importer could never be told to let go. */
		ret = -EOPNOTSUPP;
		trace_dmabuf_revoke_refused(b->ino, "attach-strict", ret);
	} else if (b->exp_ops->attach) {
		ret = b->exp_ops->attach(dmabuf, attach);
	}
	if (!ret) {
		/* Newest first, as the core links its own list. */
		spin_lock(&b->lock);
		list_add(&a->node, &b->attachments);
		spin_unlock(&b->lock);
		a = NULL;
	}
	srcu_read_unlock(&drs_srcu, idx);
	kfree(a);
	return ret;
}

static void drs_detach(struct dma_buf *dmabuf,
		       struct dma_buf_attachment *attach)
{
	struct drs_buf *b = to_drs(dmabuf);
	struct drs_attach *a;

	if (b->exp_ops->detach)
		b->exp_ops->detach(dmabuf, attach);

	spin_lock(&b->lock);
	a = drs_find(b, attach);
	if (a) {
		list_del(&a->node);
		b->cursor = NULL;
	}
	spin_unlock(&b->lock);
	kfree(a);
}

/*
 * pin and map_dma_buf: the core calls them with dmabuf->resv held, because
 * a managed buffer is always dynamic (it has pin/unpin); revoke flips the
 * state under the same lock.
 */
static int drs_pin(struct dma_buf_attachment *attach)
{
	struct drs_buf *b = to_drs(attach->dmabuf);
	struct drs_attach *a;
	int ret = 0;

	dma_resv_assert_held(attach->dmabuf->resv);
	/* -ENODEV, not -EBUSY: 7.x WARNs when pin fails with -EBUSY. */
	if (drs_revoked(b)) {
		trace_dmabuf_revoke_refused(b->ino, "pin", -ENODEV);
		return -ENODEV;
	}
	if (b->exp_ops->pin)
		ret = b->exp_ops->pin(attach);
	if (ret)
		return ret;

	spin_lock(&b->lock);
	a = drs_find(b, attach);
	if (a)
		a->pins++;
	spin_unlock(&b->lock);
	return 0;
}

static void drs_unpin(struct dma_buf_attachment *attach)
{
	struct drs_buf *b = to_drs(attach->dmabuf);
	struct drs_attach *a;

	if (b->exp_ops->unpin)
		b->exp_ops->unpin(attach);

	spin_lock(&b->lock);
	a = drs_find(b, attach);
	if (a && a->pins)
		a->pins--;
	spin_unlock(&b->lock);
}

static struct sg_table *drs_map(struct dma_buf_attachment *attach,
				enum dma_data_direction dir)
{
	struct drs_buf *b = to_drs(attach->dmabuf);
	struct sg_table *sgt;
	struct drs_attach *a;

	dma_resv_assert_held(attach->dmabuf->resv);
	if (drs_revoked(b)) {
		trace_dmabuf_revoke_refused(b->ino, "map", -ENODEV);
		return ERR_PTR(-ENODEV);
	}

	sgt = b->exp_ops->map_dma_buf(attach, dir);
	if (IS_ERR_OR_NULL(sgt))
		return sgt;

	spin_lock(&b->lock);
	a = drs_find(b, attach);
	if (a) {
		a->maps++;
		if (a->notifiable)
			b->notifiable_maps++;
	}
	b->nr_maps++;
	spin_unlock(&b->lock);
	return sgt;
}

static void drs_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
		      enum dma_data_direction dir)
{
	struct drs_buf *b = to_drs(attach->dmabuf);
	struct drs_attach *a;
	bool wake = false;

	b->exp_ops->unmap_dma_buf(attach, sgt, dir);

	spin_lock(&b->lock);
	a = drs_find(b, attach);
	if (a && a->maps) {
		a->maps--;
		if (a->notifiable) {
			b->notifiable_maps--;
			wake = !b->notifiable_maps;
		}
	}
	if (b->nr_maps)
		b->nr_maps--;
	spin_unlock(&b->lock);
	if (wake)
		wake_up_all(&b->unmap_wq);
}

static int drs_begin_cpu_access(struct dma_buf *dmabuf,
				enum dma_data_direction dir)
{
	struct drs_buf *b = to_drs(dmabuf);
	int idx, ret = 0;

	idx = srcu_read_lock(&drs_srcu);
	if (drs_revoked(b)) {
		ret = -ENODEV;
		trace_dmabuf_revoke_refused(b->ino, "cpu-access", ret);
	} else if (b->exp_ops->begin_cpu_access) {
		ret = b->exp_ops->begin_cpu_access(dmabuf, dir);
	}
	srcu_read_unlock(&drs_srcu, idx);
	return ret;
}

static int drs_end_cpu_access(struct dma_buf *dmabuf,
			      enum dma_data_direction dir)
{
	struct drs_buf *b = to_drs(dmabuf);

	/* R7: the end of a bracket always succeeds, revoked or not. */
	if (b->exp_ops->end_cpu_access)
		return b->exp_ops->end_cpu_access(dmabuf, dir);
	return 0;
}

/*
 * vmap after revoke: where the core tests ops->vmap under resv, revoke
 * clears it and callers get -EINVAL without reaching us. On 6.1 they do
 * reach us (see DRS_VMAP_CAN_FAIL), and failing would trip dma_buf_vmap()'s
 * WARN_ON_ONCE(ret) (drivers/dma-buf/dma-buf.c) - pitfall P3. They get
 * zeroed scratch memory of the buffer's size: never the exporter's memory.
 */
static int drs_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct drs_buf *b = to_drs(dmabuf);
	void *scratch;
	int idx, ret = 0;

	idx = srcu_read_lock(&drs_srcu);
	if (!drs_revoked(b)) {
		ret = b->exp_ops->vmap(dmabuf, map);
		goto out;
	}
	trace_dmabuf_revoke_refused(b->ino, "vmap", 0);
	scratch = vzalloc(dmabuf->size);
	if (!scratch) {
		ret = -ENOMEM;
		goto out;
	}
	/* The core keeps one underlying vmap at a time: one slot is enough. */
	b->dead_vmap = scratch;
	iosys_map_set_vaddr(map, scratch);
out:
	srcu_read_unlock(&drs_srcu, idx);
	return ret;
}

static void drs_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct drs_buf *b = to_drs(dmabuf);

	if (b->dead_vmap && !map->is_iomem && map->vaddr == b->dead_vmap) {
		b->dead_vmap = NULL;
		vfree(map->vaddr);
		return;
	}
	if (b->exp_ops->vunmap)
		b->exp_ops->vunmap(dmabuf, map);
}

/* ---- user mappings ---- */

/* Both mmap paths leave vm_file on the dma-buf's file (vma_set_file()). */
static struct drs_buf *vma_to_drs(const struct vm_area_struct *vma)
{
	struct dma_buf *dmabuf = vma->vm_file->private_data;

	return to_drs(dmabuf);
}

/* Caller holds b->lock. */
static struct drs_mm *drs_find_mm(struct drs_buf *b, struct mm_struct *mm)
{
	struct drs_mm *m;

	list_for_each_entry(m, &b->mms, node)
		if (m->mm == mm)
			return m;
	return NULL;
}

static void drs_vm_open(struct vm_area_struct *vma)
{
	struct drs_buf *b = vma_to_drs(vma);
	struct drs_mm *m;

	spin_lock(&b->lock);
	b->user_vmas++;
	/* A fork's copy needs no entry: it is linked before PTEs are copied. */
	m = drs_find_mm(b, vma->vm_mm);
	if (m)
		m->vmas++;
	spin_unlock(&b->lock);

	if (b->exp_vm_ops && b->exp_vm_ops->open)
		b->exp_vm_ops->open(vma);
}

static void drs_vm_close(struct vm_area_struct *vma)
{
	struct drs_buf *b = vma_to_drs(vma);
	struct drs_mm *m, *gone = NULL;

	if (b->exp_vm_ops && b->exp_vm_ops->close)
		b->exp_vm_ops->close(vma);

	spin_lock(&b->lock);
	if (b->user_vmas)
		b->user_vmas--;
	m = drs_find_mm(b, vma->vm_mm);
	if (m && !--m->vmas) {
		list_del(&m->node);
		gone = m;
	}
	spin_unlock(&b->lock);
	if (gone) {
		mmdrop(gone->mm);
		kfree(gone);
	}
}

/*
 * A page the exporter's fault returns would be installed by the core after we
 * return, outside our read section, where a concurrent revoke's zap could
 * miss it. Insert it here instead, inside the section; the VMA was made
 * VM_MIXEDMAP at mmap time so vm_insert_page() may be used from a fault.
 */
static vm_fault_t drs_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct drs_buf *b = vma_to_drs(vma);
	vm_fault_t ret, ret2;
	struct page *page;
	int idx, err;

	idx = srcu_read_lock(&drs_srcu);
	if (drs_revoked(b) || !b->exp_vm_ops || !b->exp_vm_ops->fault) {
		/* R6: never a zero page, never other memory. */
		if (drs_revoked(b))
			trace_dmabuf_revoke_refused(b->ino, "fault", -EFAULT);
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	ret = b->exp_vm_ops->fault(vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY |
		   VM_FAULT_DONE_COW))
		goto out;

	page = vmf->page;
	vmf->page = NULL;
	if (vma->vm_flags & VM_MIXEDMAP) {
		err = vm_insert_page(vma, vmf->address & PAGE_MASK, page);
		ret2 = (!err || err == -EBUSY) ? VM_FAULT_NOPAGE : vmf_error(err);
	} else {
		ret2 = VM_FAULT_SIGBUS;	/* a page for a PFN map: exporter bug */
	}
	/* Drop what the exporter handed us; the PTE holds its own reference. */
	if (ret & VM_FAULT_LOCKED)
		unlock_page(page);
	put_page(page);
	ret = ret2;
out:
	srcu_read_unlock(&drs_srcu, idx);
	return ret;
}

static vm_fault_t drs_vm_page_mkwrite(struct vm_fault *vmf)
{
	struct drs_buf *b = vma_to_drs(vmf->vma);
	vm_fault_t ret;
	int idx;

	idx = srcu_read_lock(&drs_srcu);
	ret = drs_revoked(b) ? VM_FAULT_SIGBUS :
			       b->exp_vm_ops->page_mkwrite(vmf);
	srcu_read_unlock(&drs_srcu, idx);
	return ret;
}

static vm_fault_t drs_vm_pfn_mkwrite(struct vm_fault *vmf)
{
	struct drs_buf *b = vma_to_drs(vmf->vma);
	vm_fault_t ret;
	int idx;

	idx = srcu_read_lock(&drs_srcu);
	ret = drs_revoked(b) ? VM_FAULT_SIGBUS :
			       b->exp_vm_ops->pfn_mkwrite(vmf);
	srcu_read_unlock(&drs_srcu, idx);
	return ret;
}

/* ptrace/proc access to the mapping (generic_access_phys for PFN maps). */
static int drs_vm_access(struct vm_area_struct *vma, unsigned long addr,
			 void *buf, int len, int write)
{
	struct drs_buf *b = vma_to_drs(vma);
	int idx, ret;

	idx = srcu_read_lock(&drs_srcu);
	ret = drs_revoked(b) ? -ENODEV :
			       b->exp_vm_ops->access(vma, addr, buf, len, write);
	srcu_read_unlock(&drs_srcu, idx);
	return ret;
}

/*
 * Our vm_ops replace the exporter's on every managed mapping: every callback
 * that can install a PTE or touch the memory goes through a checked path and
 * forwards to the exporter's. Fault-around (map_pages) and huge faults are
 * not offered, so single faults are the only way in; other exporter vm_ops
 * (name, mremap, may_split, ...) are not used. One variant per combination
 * of optional callbacks the exporter has, so none appears that it lacks.
 */
#define DRS_VM_PAGE_MKWRITE	1
#define DRS_VM_PFN_MKWRITE	2
#define DRS_VM_ACCESS		4
#define DRS_VM_OPS(pmw, fmw, acc) {					\
	.open = drs_vm_open,						\
	.close = drs_vm_close,						\
	.fault = drs_vm_fault,						\
	.page_mkwrite = pmw,						\
	.pfn_mkwrite = fmw,						\
	.access = acc,							\
}

#define PMW	drs_vm_page_mkwrite
#define FMW	drs_vm_pfn_mkwrite
#define ACC	drs_vm_access

static const struct vm_operations_struct drs_vm_ops[8] = {
	[0] = DRS_VM_OPS(NULL, NULL, NULL),
	[DRS_VM_PAGE_MKWRITE] = DRS_VM_OPS(PMW, NULL, NULL),
	[DRS_VM_PFN_MKWRITE] = DRS_VM_OPS(NULL, FMW, NULL),
	[DRS_VM_PAGE_MKWRITE | DRS_VM_PFN_MKWRITE] = DRS_VM_OPS(PMW, FMW, NULL),
	[DRS_VM_ACCESS] = DRS_VM_OPS(NULL, NULL, ACC),
	[DRS_VM_ACCESS | DRS_VM_PAGE_MKWRITE] = DRS_VM_OPS(PMW, NULL, ACC),
	[DRS_VM_ACCESS | DRS_VM_PFN_MKWRITE] = DRS_VM_OPS(NULL, FMW, ACC),
	[7] = DRS_VM_OPS(PMW, FMW, ACC),
};

#undef PMW
#undef FMW
#undef ACC

static const struct vm_operations_struct *
drs_pick_vm_ops(const struct vm_operations_struct *exp)
{
	unsigned int v = 0;

	if (exp && exp->page_mkwrite)
		v |= DRS_VM_PAGE_MKWRITE;
	if (exp && exp->pfn_mkwrite)
		v |= DRS_VM_PFN_MKWRITE;
	if (exp && exp->access)
		v |= DRS_VM_ACCESS;
	return &drs_vm_ops[v];
}

static int drs_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct drs_buf *b = to_drs(dmabuf);
	const struct vm_operations_struct *exp;
	struct drs_mm *new_mm, *m;
	int idx, ret;

	/*
	 * P2: once zapped, a private mapping would silently fault in fresh
	 * anonymous memory. Refuse it, as VFIO does.
	 */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	new_mm = kzalloc(sizeof(*new_mm), GFP_KERNEL);
	if (!new_mm)
		return -ENOMEM;

	idx = srcu_read_lock(&drs_srcu);
	if (drs_revoked(b)) {
		ret = -ENODEV;
		trace_dmabuf_revoke_refused(b->ino, "mmap", ret);
		goto out;
	}
	ret = b->exp_ops->mmap(dmabuf, vma);
	if (ret)
		goto out;

	exp = vma->vm_ops;
	spin_lock(&b->lock);
	if (!b->vm_ops_ready) {
		b->exp_vm_ops = exp;
		b->vm_ops_ready = true;
	}
	if (b->exp_vm_ops != exp) {
		spin_unlock(&b->lock);
		/* One buffer, one set of vm_ops (documented in the API). */
		if (exp && exp->close)
			exp->close(vma);
		ret = -EINVAL;
		goto out;
	}
	vma->vm_ops = drs_pick_vm_ops(exp);
	b->user_vmas++;
	m = drs_find_mm(b, vma->vm_mm);
	if (!m) {
		m = new_mm;
		new_mm = NULL;
		m->mm = vma->vm_mm;
		mmgrab(m->mm);
		list_add_tail(&m->node, &b->mms);
	}
	m->vmas++;
	spin_unlock(&b->lock);

	if (exp && exp->fault && !(vma->vm_flags & (VM_PFNMAP | VM_MIXEDMAP)))
		drs_vm_flags_set(vma, VM_MIXEDMAP);
out:
	srcu_read_unlock(&drs_srcu, idx);
	kfree(new_mm);
	return ret;
}

void drs_free_mms(struct drs_buf *b)
{
	struct drs_mm *m, *tmp;

	list_for_each_entry_safe(m, tmp, &b->mms, node) {
		list_del(&m->node);
		mmdrop(m->mm);
		kfree(m);
	}
}

static void drs_release(struct dma_buf *dmabuf);

/* Fill b->ops from the exporter's ops: same shape, our trampolines. */
void drs_wrap_ops(struct drs_buf *b)
{
	const struct dma_buf_ops *exp = b->exp_ops;

	b->ops = *exp;
	drs_ops_no_cache(&b->ops);	/* P1: never cache at attach */
	b->ops.attach = drs_attach;
	b->ops.detach = drs_detach;
	/* P1: always dynamic, so every mapping goes through drs_map(). */
	b->ops.pin = drs_pin;
	b->ops.unpin = drs_unpin;
	b->ops.map_dma_buf = drs_map;
	b->ops.unmap_dma_buf = drs_unmap;
	b->ops.release = drs_release;
	b->ops.begin_cpu_access = drs_begin_cpu_access;
	b->ops.end_cpu_access = drs_end_cpu_access;
	/* R12: what the exporter cannot do, the wrapper cannot either. */
	b->ops.mmap = exp->mmap ? drs_mmap : NULL;
	b->ops.vmap = exp->vmap ? drs_vmap : NULL;
	b->ops.vunmap = exp->vmap ? drs_vunmap : NULL;
}

bool drs_ops_are_ours(const struct dma_buf_ops *ops)
{
	return ops && ops->release == drs_release;
}

static void drs_release(struct dma_buf *dmabuf)
{
	struct drs_buf *b = to_drs(dmabuf);
	struct dmabuf_revoke_report report = { };
	struct module *exp_owner = b->exp_owner;

	/*
	 * R11: a revoke whose waits were all interrupted still reports once.
	 * revoke_lock orders this against a revoke still running on a buffer
	 * whose last reference went meanwhile (the exporter's lock keeps it).
	 */
	mutex_lock(&b->revoke_lock);
	if (b->revoked && !b->cb_done && b->cfg.revoked) {
		b->cb_done = true;
		report.flags = DMABUF_REVOKE_REPORT_ALREADY;
		b->cfg.revoked(dmabuf, b->cfg.data, &report);
	}
	mutex_unlock(&b->revoke_lock);
	b->exp_ops->release(dmabuf);

	mutex_lock(&drs_buffers_lock);
	list_del(&b->node);
	mutex_unlock(&drs_buffers_lock);

	/*
	 * dma_buf_release() does not look at dmabuf->ops after ->release
	 * returns, so the ops copy can go now. No VMA can be left (each holds
	 * the file); an mmap that failed after our trampoline may have left an
	 * mm entry behind.
	 */
	drs_free_mms(b);
	WARN_ON(!list_empty(&b->attachments));
	mutex_destroy(&b->revoke_lock);
	kfree(b);
	/* The exporter's code has returned; the core then drops the shim. */
	module_put(exp_owner);
}
