// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_revoke_exporter: a sample VFIO-style exporter using the dmabuf-revoke
 * shim. Each open of /dev/vfio_revoke_exporter is a "device" with
 * page-backed BARs that user space can mmap (fd offset = BAR << 40, as VFIO)
 * and export as dma-bufs. Reset, clearing the memory bit and closing the
 * device revoke every dma-buf it exported, as vfio-pci does.
 */
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/dmabuf_revoke.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dmabuf_revoke_compat.h"
#include "vre.h"

#define VRE_FS_MAGIC	0x76726521

struct vre_counters vre_global;
/* Pinned while a device exists, as vfio does: the mount holds the module. */
static struct vfsmount *vre_mnt;
static int vre_mnt_count;

/* ---- fences, for revoke's wait (R9b) ---- */

struct vre_fence_obj {
	struct dma_fence base;
	struct list_head node;
	u32 id;
};

static DEFINE_SPINLOCK(vre_fence_lock);

static const char *vre_fence_name(struct dma_fence *f)
{
	return "vfio_revoke_exporter";
}

static const struct dma_fence_ops vre_fence_ops = {
	.get_driver_name = vre_fence_name,
	.get_timeline_name = vre_fence_name,
};

static int vre_fence_add(struct vre_device *vdev, struct vre_fence *args)
{
	struct vre_fence_obj *f;
	struct dma_buf *dmabuf;
	struct vre_buf *buf;
	int ret;

	dmabuf = dma_buf_get(args->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	/* Only our own buffers, and only this device's. */
	ret = -EINVAL;
	mutex_lock(&vdev->lock);
	list_for_each_entry(buf, &vdev->buffers, node)
		if (buf->dmabuf == dmabuf)
			ret = 0;
	if (ret)
		goto out_unlock;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	ret = -ENOMEM;
	if (!f)
		goto out_unlock;
	dma_fence_init(&f->base, &vre_fence_ops, &vre_fence_lock,
		       dma_fence_context_alloc(1), 1);
	f->id = ++vdev->next_fence_id;

	dma_resv_lock(dmabuf->resv, NULL);
	ret = dma_resv_reserve_fences(dmabuf->resv, 1);
	if (!ret)
		dma_resv_add_fence(dmabuf->resv, &f->base,
				   DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_unlock(dmabuf->resv);
	if (ret) {
		dma_fence_put(&f->base);
		goto out_unlock;
	}
	list_add_tail(&f->node, &vdev->fences);	/* keeps our reference */
	args->id = f->id;
out_unlock:
	mutex_unlock(&vdev->lock);
	dma_buf_put(dmabuf);
	return ret;
}

/* VRE_IOC_HOLD: see the uapi header. */
static int vre_hold(struct vre_device *vdev, struct vre_hold *args)
{
	struct dma_buf *dmabuf;
	struct vre_buf *buf, *found = NULL;
	int ret = 0;

	if (args->flags || args->reserved || !args->ms ||
	    args->ms > VRE_HOLD_MAX_MS ||
	    (args->what != VRE_HOLD_CALLBACK && args->what != VRE_HOLD_RESV))
		return -EINVAL;
	dmabuf = dma_buf_get(args->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	mutex_lock(&vdev->lock);
	list_for_each_entry(buf, &vdev->buffers, node)
		if (buf->dmabuf == dmabuf)
			found = buf;
	if (found && args->what == VRE_HOLD_CALLBACK)
		atomic_set(&found->hold_ms, args->ms);
	mutex_unlock(&vdev->lock);
	if (!found) {
		ret = -EINVAL;
	} else if (args->what == VRE_HOLD_RESV) {
		ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
		if (!ret) {
			msleep_interruptible(args->ms);
			dma_resv_unlock(dmabuf->resv);
		}
	}
	dma_buf_put(dmabuf);
	return ret;
}

/* Caller holds vdev->lock. id 0: all of them. */
static int vre_fence_signal(struct vre_device *vdev, u32 id)
{
	struct vre_fence_obj *f, *tmp;
	int ret = id ? -ENOENT : 0;

	list_for_each_entry_safe(f, tmp, &vdev->fences, node) {
		if (id && f->id != id)
			continue;
		list_del(&f->node);
		dma_fence_signal(&f->base);
		dma_fence_put(&f->base);
		ret = 0;
	}
	return ret;
}

/* ---- device memory and its user mappings ---- */

static void vre_free_bars(struct vre_device *vdev)
{
	unsigned int b;
	unsigned long i;

	for (b = 0; b < VRE_MAX_BARS; b++) {
		struct vre_bar *bar = &vdev->bars[b];

		for (i = 0; bar->pages && i < bar->npages; i++)
			if (bar->pages[i])
				__free_page(bar->pages[i]);
		kvfree(bar->pages);
	}
}

static void vre_device_free(struct kref *ref)
{
	struct vre_device *vdev = container_of(ref, struct vre_device, ref);

	vre_free_bars(vdev);
	iput(vdev->inode);
	simple_release_fs(&vre_mnt, &vre_mnt_count);
	mutex_destroy(&vdev->lock);
	kfree(vdev);
}

void vre_device_put(struct vre_device *vdev)
{
	kref_put(&vdev->ref, vre_device_free);
}

/*
 * Device mappings are faulted in under memory_lock, as vfio-pci does, so a
 * zap under the write side cannot race with a fault installing a PTE.
 */
static vm_fault_t vre_dev_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vre_device *vdev = vma->vm_private_data;
	unsigned int b = vma->vm_pgoff >> (VRE_BAR_OFFSET_SHIFT - PAGE_SHIFT);
	unsigned long pgoff = vmf->pgoff &
		((1UL << (VRE_BAR_OFFSET_SHIFT - PAGE_SHIFT)) - 1);
	vm_fault_t ret = VM_FAULT_SIGBUS;

	down_read(&vdev->memory_lock);
	if (vdev->memory_enabled && pgoff < vdev->bars[b].npages)
		ret = vmf_insert_pfn(vma, vmf->address & PAGE_MASK,
				     page_to_pfn(vdev->bars[b].pages[pgoff]));
	up_read(&vdev->memory_lock);
	return ret;
}

/* BAR pages reached through a dma-buf whose mmap moved to the device file. */
static const struct vm_operations_struct vre_bar_vm_ops = {
	.fault = vre_dev_fault,
};

/* The device fd's own mappings, counted: the scrub leaves them alone. */
static void vre_dev_vm_open(struct vm_area_struct *vma)
{
	struct vre_device *vdev = vma->vm_private_data;

	atomic_inc(&vdev->dev_vmas);
}

static void vre_dev_vm_close(struct vm_area_struct *vma)
{
	struct vre_device *vdev = vma->vm_private_data;

	atomic_dec(&vdev->dev_vmas);
}

static const struct vm_operations_struct vre_dev_vm_ops = {
	.open = vre_dev_vm_open,
	.close = vre_dev_vm_close,
	.fault = vre_dev_fault,
};

/* Map a BAR range (vm_pgoff = BAR offset + page) with the device's fault. */
int vre_bar_mmap(struct vre_device *vdev, struct vm_area_struct *vma)
{
	unsigned long shift = VRE_BAR_OFFSET_SHIFT - PAGE_SHIFT;
	unsigned long b = vma->vm_pgoff >> shift;
	unsigned long off = vma->vm_pgoff & ((1UL << shift) - 1);

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/* Pairs with vre_setup(): the BARs are filled before nr_bars. */
	if (b >= smp_load_acquire(&vdev->nr_bars) ||
	    off + vma_pages(vma) > vdev->bars[b].npages)
		return -EINVAL;
	vma->vm_ops = &vre_bar_vm_ops;
	vma->vm_private_data = vdev;
	drs_vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	return 0;
}

static int vre_dev_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vre_device *vdev = file->private_data;
	int ret = vre_bar_mmap(vdev, vma);

	if (ret)
		return ret;
	vma->vm_ops = &vre_dev_vm_ops;
	vre_dev_vm_open(vma);
	return 0;
}

/* Tear down device mappings: the next touch faults and checks the bit. */
static void vre_zap_device(struct vre_device *vdev)
{
	unmap_mapping_range(vdev->inode->i_mapping, 0, 0, 1);
}

/* ---- ioctls ---- */

static int vre_copy_in(void *karg, size_t ksize, void __user *uarg,
		       u32 *usize)
{
	if (get_user(*usize, (u32 __user *)uarg))
		return -EFAULT;
	if (*usize < ksize)
		return -EINVAL;
	if (*usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(karg, ksize, uarg, *usize);
}

static int vre_setup(struct vre_device *vdev, struct vre_setup *args)
{
	unsigned int b;
	unsigned long i;
	int ret = 0;

	if (args->flags || args->reserved || !args->nr_bars ||
	    args->nr_bars > VRE_MAX_BARS)
		return -EINVAL;
	for (b = 0; b < args->nr_bars; b++)
		if (!args->bar_size[b] || !PAGE_ALIGNED(args->bar_size[b]) ||
		    args->bar_size[b] > VRE_MAX_BAR_SIZE)
			return -EINVAL;

	mutex_lock(&vdev->lock);
	if (vdev->nr_bars) {
		ret = -EBUSY;	/* BARs are fixed once set */
		goto out;
	}
	for (b = 0; b < args->nr_bars; b++) {
		struct vre_bar *bar = &vdev->bars[b];

		bar->npages = args->bar_size[b] >> PAGE_SHIFT;
		bar->pages = kvcalloc(bar->npages, sizeof(*bar->pages),
				      GFP_KERNEL);
		if (!bar->pages)
			goto nomem;
		for (i = 0; i < bar->npages; i++) {
			bar->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
			if (!bar->pages[i])
				goto nomem;
		}
	}
	/* Publish the BARs: readers check nr_bars with acquire, unlocked. */
	smp_store_release(&vdev->nr_bars, args->nr_bars);
	goto out;
nomem:
	vre_free_bars(vdev);
	memset(vdev->bars, 0, sizeof(vdev->bars));
	ret = -ENOMEM;
out:
	mutex_unlock(&vdev->lock);
	return ret;
}

static int vre_bar_rw(struct vre_device *vdev, struct vre_bar_rw *args)
{
	void __user *ubuf = u64_to_user_ptr(args->data);
	struct vre_bar *bar;
	u64 pos, end;
	int ret = 0;

	if ((args->flags & ~VRE_RW_WRITE) || args->reserved)
		return -EINVAL;
	/* Pairs with vre_setup(). */
	if (args->bar >= smp_load_acquire(&vdev->nr_bars))
		return -EINVAL;
	bar = &vdev->bars[args->bar];
	if (args->offset > ((u64)bar->npages << PAGE_SHIFT) ||
	    args->length > ((u64)bar->npages << PAGE_SHIFT) - args->offset)
		return -EINVAL;

	end = args->offset + args->length;
	for (pos = args->offset; pos < end && !ret;) {
		struct page *page = bar->pages[pos >> PAGE_SHIFT];
		size_t off = offset_in_page(pos);
		size_t n = min_t(u64, PAGE_SIZE - off, end - pos);
		void *va = kmap_local_page(page);

		if (args->flags & VRE_RW_WRITE)
			ret = copy_from_user(va + off, ubuf, n) ? -EFAULT : 0;
		else
			ret = copy_to_user(ubuf, va + off, n) ? -EFAULT : 0;
		kunmap_local(va);
		ubuf += n;
		pos += n;
	}
	return ret;
}

/* FLR: revoke what was exported, tear down mappings, memory survives. */
static unsigned int vre_reset(struct vre_device *vdev)
{
	LIST_HEAD(todo);
	unsigned int n;

	mutex_lock(&vdev->lock);
	n = vre_revoke_start_all(vdev, &todo);
	mutex_unlock(&vdev->lock);
	vre_revoke_finish_all(&todo);
	/* Not under vdev->lock: faults take memory_lock inside mmap_lock. */
	down_write(&vdev->memory_lock);
	vre_zap_device(vdev);
	up_write(&vdev->memory_lock);
	return n;
}

static unsigned int vre_set_memory(struct vre_device *vdev, bool enable)
{
	LIST_HEAD(todo);
	unsigned int n = 0;

	mutex_lock(&vdev->lock);
	if (!enable)
		n = vre_revoke_start_all(vdev, &todo);
	down_write(&vdev->memory_lock);
	vdev->memory_enabled = enable;
	if (!enable)
		vre_zap_device(vdev);
	up_write(&vdev->memory_lock);
	mutex_unlock(&vdev->lock);
	vre_revoke_finish_all(&todo);
	return n;
}

static void vre_read_stats(const struct vre_counters *c, struct vre_stats *s)
{
	s->exports = atomic64_read(&c->exports);
	s->live = atomic64_read(&c->live);
	s->revokes = atomic64_read(&c->revokes);
	s->callbacks = atomic64_read(&c->callbacks);
	s->late_callbacks = atomic64_read(&c->late_callbacks);
	s->releases = atomic64_read(&c->releases);
	s->scrubbed_bytes = atomic64_read(&c->scrubbed_bytes);
	s->vm_opens = atomic64_read(&c->vm_opens);
	s->user_vmas = atomic64_read(&c->user_vmas);
	s->quarantined = atomic64_read(&c->quarantined);
}

static long vre_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vre_device *vdev = file->private_data;
	void __user *uarg = (void __user *)arg;
	union {
		struct vre_setup setup;
		struct vre_export exp;
		struct vre_reset reset;
		struct vre_memory mem;
		struct vre_bar_rw rw;
		struct vre_fence fence;
		struct vre_stats stats;
		struct vre_hold hold;
		struct vre_import imp;
	} a;
	size_t ksize;
	u32 usize;
	int ret;

	switch (cmd) {
	case VRE_IOC_SETUP:
	case VRE_IOC_EXPORT:
	case VRE_IOC_RESET:
	case VRE_IOC_MEMORY:
	case VRE_IOC_BAR_RW:
	case VRE_IOC_FENCE:
	case VRE_IOC_STATS:
	case VRE_IOC_HOLD:
	case VRE_IOC_IMPORT:
		ksize = _IOC_SIZE(cmd);
		break;
	default:
		return -ENOTTY;
	}
	ret = vre_copy_in(&a, ksize, uarg, &usize);
	if (ret)
		return ret;

	switch (cmd) {
	case VRE_IOC_SETUP:
		return vre_setup(vdev, &a.setup);
	case VRE_IOC_EXPORT:
		ret = vre_export(vdev, file, &a.exp);
		break;
	case VRE_IOC_RESET:
		if (a.reset.flags || a.reset.reserved)
			return -EINVAL;
		a.reset.revoked = vre_reset(vdev);
		break;
	case VRE_IOC_MEMORY:
		if (a.mem.flags || a.mem.enable > 1)
			return -EINVAL;
		a.mem.revoked = vre_set_memory(vdev, a.mem.enable);
		break;
	case VRE_IOC_BAR_RW:
		return vre_bar_rw(vdev, &a.rw);
	case VRE_IOC_FENCE:
		if (a.fence.flags || a.fence.reserved)
			return -EINVAL;
		if (a.fence.op == VRE_FENCE_ADD) {
			ret = vre_fence_add(vdev, &a.fence);
		} else if (a.fence.op == VRE_FENCE_SIGNAL && a.fence.id) {
			mutex_lock(&vdev->lock);
			ret = vre_fence_signal(vdev, a.fence.id);
			mutex_unlock(&vdev->lock);
		} else {
			ret = -EINVAL;
		}
		break;
	case VRE_IOC_HOLD:
		return vre_hold(vdev, &a.hold);
	case VRE_IOC_IMPORT:
		ret = vre_self_import(vdev, &a.imp);
		break;
	case VRE_IOC_STATS:
		if (a.stats.flags & ~VRE_STATS_GLOBAL)
			return -EINVAL;
		vre_read_stats(a.stats.flags ? &vre_global : &vdev->stats,
			       &a.stats);
		break;
	}
	if (ret)
		return ret;
	return copy_to_user(uarg, &a, ksize) ? -EFAULT : 0;
}

static struct file_system_type vre_fs_type;

static int vre_open(struct inode *inode, struct file *file)
{
	struct vre_device *vdev;
	struct inode *dev_inode;
	int ret;

	vdev = kzalloc(sizeof(*vdev), GFP_KERNEL);
	if (!vdev)
		return -ENOMEM;
	ret = simple_pin_fs(&vre_fs_type, &vre_mnt, &vre_mnt_count);
	if (ret)
		goto err_free;
	/* An address space of our own: the /dev inode's is shared by all. */
	dev_inode = alloc_anon_inode(vre_mnt->mnt_sb);
	if (IS_ERR(dev_inode)) {
		ret = PTR_ERR(dev_inode);
		goto err_release_fs;
	}
	kref_init(&vdev->ref);
	mutex_init(&vdev->lock);
	init_rwsem(&vdev->memory_lock);
	vdev->memory_enabled = true;
	INIT_LIST_HEAD(&vdev->buffers);
	INIT_LIST_HEAD(&vdev->fences);
	vdev->inode = dev_inode;
	file->f_mapping = dev_inode->i_mapping;
	file->private_data = vdev;
	/*
	 * Buffers may outlive the fd; each of them holds this module (the
	 * shim does, for managed ones), so the last put runs our code safely.
	 */
	return 0;

err_release_fs:
	simple_release_fs(&vre_mnt, &vre_mnt_count);
err_free:
	kfree(vdev);
	return ret;
}

/* Closing the device revokes everything it exported, as VFIO does. */
static int vre_release_dev(struct inode *inode, struct file *file)
{
	struct vre_device *vdev = file->private_data;
	LIST_HEAD(todo);

	mutex_lock(&vdev->lock);
	vdev->closed = true;
	vre_fence_signal(vdev, 0);
	vre_revoke_start_all(vdev, &todo);
	mutex_unlock(&vdev->lock);
	vre_revoke_finish_all(&todo);
	vre_device_put(vdev);
	return 0;
}

static const struct file_operations vre_fops = {
	.owner = THIS_MODULE,
	.open = vre_open,
	.release = vre_release_dev,
	.unlocked_ioctl = vre_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vre_dev_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice vre_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vfio_revoke_exporter",
	.fops = &vre_fops,
	.mode = 0600,
};

static int vre_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VRE_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type vre_fs_type = {
	.name = "vfio_revoke_exporter",
	.owner = THIS_MODULE,
	.init_fs_context = vre_init_fs_context,
	.kill_sb = kill_anon_super,
};

static int __init vre_init(void)
{
	return misc_register(&vre_misc);
}

static void __exit vre_exit(void)
{
	misc_deregister(&vre_misc);
}

module_init(vre_init);
module_exit(vre_exit);

MODULE_DESCRIPTION("Sample VFIO-style dma-buf exporter using dmabuf-revoke");
MODULE_AUTHOR("dmabuf-revoke developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DMABUF_REVOKE_VERSION);
MODULE_IMPORT_NS(DRS_NS_DMA_BUF);
MODULE_IMPORT_NS(DRS_NS);
