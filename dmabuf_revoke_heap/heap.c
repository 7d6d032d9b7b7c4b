// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf_revoke_heap: a dma-heap of revocable buffers, so that user space
 * can allocate buffers it may later revoke - on stock kernels, with any
 * importer, without a driver of its own.
 *
 * Where the kernel lets modules add dma-heaps (dma_heap_add() exported in
 * the DMA_BUF_HEAP namespace, as for the TEE protected-memory heaps; Debian's
 * 7.2 has it: compat/probes/exports), the heap is a real one,
 * /dev/dma_heap/NAME. Elsewhere a misc device with the same uapi
 * (DMA_HEAP_IOCTL_ALLOC, including the core's handling of older and newer
 * struct sizes) takes the same path, so programs written for dma-heaps work
 * unchanged. Allocation, limits and ownership live in buffer.c.
 */
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/dma-heap.h>

#include "dmabuf_revoke_compat.h"
#include "drh.h"

static char *name = "revocable";
module_param(name, charp, 0444);
MODULE_PARM_DESC(name, "The heap's name: /dev/dma_heap/NAME (default revocable)");

static bool dma_heap = true;
module_param(dma_heap, bool, 0444);
MODULE_PARM_DESC(dma_heap,
		 "Register with the kernel's dma-heap framework where it lets modules do so; the module then cannot be unloaded, as the core cannot remove a heap (default Y)");

/*
 * DMA_HEAP_IOCTL_ALLOC as drivers/dma-buf/dma-heap.c answers it: the
 * argument is read and written at the size the caller's command encodes,
 * and a struct shorter than ours is zero-extended, so binaries built with
 * older or newer headers work.
 */
static long drh_ioctl(struct file *file, unsigned int ucmd, unsigned long arg)
{
	const unsigned int kcmd = DMA_HEAP_IOCTL_ALLOC;
	unsigned int in_size, out_size, ksize;
	struct dma_heap_allocation_data *data;
	char stack_kdata[64];
	struct dma_buf *dmabuf;
	void *kdata = stack_kdata;
	int fd, ret = 0;

	if (_IOC_TYPE(ucmd) != _IOC_TYPE(kcmd) ||
	    _IOC_NR(ucmd) != _IOC_NR(kcmd))
		return -ENOTTY;
	in_size = _IOC_SIZE(ucmd);
	out_size = in_size;
	if (!(ucmd & kcmd & IOC_IN))
		in_size = 0;
	if (!(ucmd & kcmd & IOC_OUT))
		out_size = 0;
	ksize = max3(in_size, out_size, _IOC_SIZE(kcmd));
	if (ksize > sizeof(stack_kdata)) {
		kdata = kmalloc(ksize, GFP_KERNEL);
		if (!kdata)
			return -ENOMEM;
	}
	if (copy_from_user(kdata, (void __user *)arg, in_size)) {
		ret = -EFAULT;
		goto out;
	}
	if (ksize > in_size)
		memset(kdata + in_size, 0, ksize - in_size);

	data = kdata;
	if (data->fd) {
		ret = -EINVAL;
		goto out;
	}
	dmabuf = drh_alloc(name, data->len, data->fd_flags, data->heap_flags);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto out;
	}
	fd = dma_buf_fd(dmabuf, data->fd_flags);
	if (fd < 0) {
		dma_buf_put(dmabuf);
		ret = fd;
		goto out;
	}
	data->fd = fd;
	/* As the core: the fd stays installed; the caller's struct is bad. */
	if (copy_to_user((void __user *)arg, kdata, out_size))
		ret = -EFAULT;
out:
	if (kdata != stack_kdata)
		kfree(kdata);
	return ret;
}

static const struct file_operations drh_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = drh_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * Open to every user, like a render node: each allocation is bounded by
 * max_buffer_mb, all of them by max_total_mb, and charged to the caller's
 * memory cgroup. udev/60-dmabuf-revoke.rules states the same.
 */
static struct miscdevice drh_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "dmabuf_revoke_heap",
	.fops = &drh_fops,
	.mode = 0666,
};

static bool drh_misc_registered;

#ifdef DMABUF_REVOKE_HAVE_DMA_HEAP_ADD
MODULE_IMPORT_NS(DRS_NS_DMA_BUF_HEAP);

static struct dma_buf *drh_heap_allocate(struct dma_heap *heap,
					 unsigned long len, u32 fd_flags,
					 u64 heap_flags)
{
	/* The core checked the flags and the length already. */
	return drh_alloc(name, len, fd_flags, heap_flags);
}

static const struct dma_heap_ops drh_heap_ops = {
	.allocate = drh_heap_allocate,
};

/* 1: registered (for good), 0: not possible here, or an errno. */
static int drh_add_dma_heap(void)
{
	struct dma_heap_export_info info = {
		.name = name,
		.ops = &drh_heap_ops,
	};
	struct dma_heap *heap;

	if (!dma_heap)
		return 0;
	heap = dma_heap_add(&info);
	if (IS_ERR(heap))
		return PTR_ERR(heap);
	/* There is no dma_heap_remove(): our code must stay. */
	__module_get(THIS_MODULE);
	return 1;
}
#else
static int drh_add_dma_heap(void)
{
	return 0;
}
#endif

static int __init drh_init(void)
{
	int ret;

	/* QUERY's exp_name holds 31 characters; a node name has no '/'. */
	if (!name || !*name || strlen(name) > 31 || strchr(name, '/')) {
		pr_err("dmabuf_revoke_heap: name=%s: use 1 to 31 characters without '/'\n",
		       name ?: "");
		return -EINVAL;
	}
	ret = drh_add_dma_heap();
	if (ret < 0)
		return ret;
	if (ret) {
		pr_info("dmabuf_revoke_heap %s: dma-heap /dev/dma_heap/%s (cannot be unloaded)\n",
			DMABUF_REVOKE_VERSION, name);
		return 0;
	}

	drh_misc.nodename = kasprintf(GFP_KERNEL, "dma_heap/%s", name);
	if (!drh_misc.nodename)
		return -ENOMEM;
	ret = misc_register(&drh_misc);
	if (ret) {
		kfree(drh_misc.nodename);
		return ret;
	}
	drh_misc_registered = true;
	pr_info("dmabuf_revoke_heap %s: /dev/dma_heap/%s\n",
		DMABUF_REVOKE_VERSION, name);
	return 0;
}

static void __exit drh_exit(void)
{
	/* Every buffer holds this module through the shim: none is left. */
	if (drh_misc_registered) {
		misc_deregister(&drh_misc);
		kfree(drh_misc.nodename);
	}
}

module_init(drh_init);
module_exit(drh_exit);

MODULE_DESCRIPTION("A dma-heap of revocable buffers (dmabuf-revoke)");
MODULE_AUTHOR("dmabuf-revoke developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DMABUF_REVOKE_VERSION);
MODULE_IMPORT_NS(DRS_NS);
MODULE_IMPORT_NS(DRS_NS_DMA_BUF);
