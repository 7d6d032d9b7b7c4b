// SPDX-License-Identifier: GPL-2.0
/*
 * The device itself: its lifetime, its page-backed BARs, and the mappings of
 * its memory - the device fd's own (as a VFIO region mmap) and the BAR range
 * a dma-buf's mmap moves to it. Calls nothing in the other two files:
 * device.c (the uAPI) and dmabuf.c (the buffers) call in here.
 */
#include <linux/fs.h>
#include <linux/highmem.h>
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

static struct file_system_type vre_fs_type;

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
		kvfree(bar->unsafe);
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

int vre_dev_mmap(struct file *file, struct vm_area_struct *vma)
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
void vre_zap_device(struct vre_device *vdev)
{
	unmap_mapping_range(vdev->inode->i_mapping, 0, 0, 1);
}

int vre_setup(struct vre_device *vdev, struct vre_setup *args)
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
		bar->unsafe = kvcalloc(bar->npages, sizeof(*bar->unsafe),
				       GFP_KERNEL);
		if (!bar->pages || !bar->unsafe)
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

int vre_bar_rw(struct vre_device *vdev, struct vre_bar_rw *args)
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
		void *va = drs_kmap(page);

		if (args->flags & VRE_RW_WRITE)
			ret = copy_from_user(va + off, ubuf, n) ? -EFAULT : 0;
		else
			ret = copy_to_user(ubuf, va + off, n) ? -EFAULT : 0;
		drs_kunmap(page, va);
		ubuf += n;
		pos += n;
	}
	return ret;
}

/*
 * A new device: no BARs yet, memory enabled. Buffers may outlive the device
 * fd; each of them holds the device (and this module, through the shim for
 * managed ones), so the last vre_device_put() runs our code safely.
 */
struct vre_device *vre_device_new(void)
{
	struct vre_device *vdev;
	struct inode *dev_inode;
	int ret;

	vdev = kzalloc(sizeof(*vdev), GFP_KERNEL);
	if (!vdev)
		return ERR_PTR(-ENOMEM);
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
	return vdev;

err_release_fs:
	simple_release_fs(&vre_mnt, &vre_mnt_count);
err_free:
	kfree(vdev);
	return ERR_PTR(ret);
}

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
