// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_revoke_exporter: a sample VFIO-style exporter using the dmabuf-revoke
 * shim. Each open of /dev/vfio_revoke_exporter is a "device" with
 * page-backed BARs that user space can mmap (fd offset = BAR << 40, as VFIO)
 * and export as dma-bufs. Reset, clearing the memory bit and closing the
 * device revoke every dma-buf it exported, as vfio-pci does.
 *
 * This file is the uAPI: the ioctls, open and close, and the module. The
 * device and its memory live in memory.c, the buffers in dmabuf.c; calls go
 * from here to both, and from dmabuf.c to memory.c, never back.
 */
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/dmabuf_revoke.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dmabuf_revoke_compat.h"
#include "vre.h"

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
	ret = drs_resv_add_bookkeep_fence(dmabuf->resv, &f->base);
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
	    (args->what != VRE_HOLD_CALLBACK && args->what != VRE_HOLD_RESV &&
	     args->what != VRE_HOLD_RELEASE))
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
	if (found && args->what == VRE_HOLD_RELEASE)
		atomic_set(&found->release_hold_ms, args->ms);
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

static int vre_open(struct inode *inode, struct file *file)
{
	struct vre_device *vdev = vre_device_new();

	if (IS_ERR(vdev))
		return PTR_ERR(vdev);
	/* Device mmaps go to the device's own address space. */
	file->f_mapping = vdev->inode->i_mapping;
	file->private_data = vdev;
	return 0;
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
