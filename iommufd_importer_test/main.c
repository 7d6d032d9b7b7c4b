// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_importer_test: an IOMMUFD-style dma-buf importer, driven through
 * /dev/iommufd_importer_test, for testing exporters against revoke. This
 * file: the device, the ioctl dispatch, kernel CPU access (vmap,
 * begin/end_cpu_access) and dma_buf_mmap() of an imported buffer.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dmabuf_revoke_compat.h"
#include "iit.h"

struct device *iit_dev;
static struct platform_device *iit_pdev;

static long iit_vmap(struct iit_ioas *ioas, struct iit_vmap *args)
{
	struct iit_vmap_obj *v;
	u32 id;
	int ret;

	v = kzalloc(sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	v->dmabuf = dma_buf_get(args->fd);
	if (IS_ERR(v->dmabuf)) {
		ret = PTR_ERR(v->dmabuf);
		goto err_free;
	}
	ret = drs_dma_buf_vmap(v->dmabuf, &v->map);
	if (ret)
		goto err_put;
	ret = xa_alloc(&ioas->vmaps, &id, v, xa_limit_31b, GFP_KERNEL);
	if (ret)
		goto err_vunmap;
	args->id = id;
	return 0;

err_vunmap:
	drs_dma_buf_vunmap(v->dmabuf, &v->map);
err_put:
	dma_buf_put(v->dmabuf);
err_free:
	kfree(v);
	return ret;
}

static void iit_vmap_free(struct iit_vmap_obj *v)
{
	drs_dma_buf_vunmap(v->dmabuf, &v->map);
	dma_buf_put(v->dmabuf);
	kfree(v);
}

/* Read through a kernel mapping, as an in-kernel consumer would. */
static long iit_vmap_read(struct iit_ioas *ioas, struct iit_vmap *args)
{
	struct iit_vmap_obj *v = xa_load(&ioas->vmaps, args->id);
	void *bounce;
	int ret = 0;

	if (!v)
		return -ENOENT;
	if (!args->length || args->length > IIT_VMAP_READ_MAX ||
	    args->length > v->dmabuf->size)
		return -EINVAL;
	bounce = kmalloc(args->length, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	drs_map_memcpy_from(bounce, &v->map, 0, args->length);
	if (copy_to_user(u64_to_user_ptr(args->data), bounce, args->length))
		ret = -EFAULT;
	kfree(bounce);
	return ret;
}

static long iit_cpu(struct iit_cpu *args)
{
	enum dma_data_direction dir = args->write ? DMA_BIDIRECTIONAL :
						    DMA_FROM_DEVICE;
	struct dma_buf *dmabuf;
	long ret;

	if ((args->flags & ~IIT_CPU_END) || args->write > 1)
		return -EINVAL;
	dmabuf = dma_buf_get(args->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	if (args->flags & IIT_CPU_END)
		ret = dma_buf_end_cpu_access(dmabuf, dir);
	else
		ret = dma_buf_begin_cpu_access(dmabuf, dir);
	dma_buf_put(dmabuf);
	return ret;
}

static int iit_copy_in(void *karg, size_t ksize, void __user *uarg)
{
	u32 usize;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < ksize)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(karg, ksize, uarg, usize);
}

static long iit_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct iit_ioas *ioas = file->private_data;
	void __user *uarg = (void __user *)arg;
	union {
		struct iit_map map;
		struct iit_id id;
		struct iit_dma dma;
		struct iit_query query;
		struct iit_vmap vmap;
		struct iit_cpu cpu;
	} a;
	size_t ksize = _IOC_SIZE(cmd);
	long ret;

	switch (cmd) {
	case IIT_IOC_MAP: case IIT_IOC_UNMAP: case IIT_IOC_DMA:
	case IIT_IOC_REMAP: case IIT_IOC_PIN: case IIT_IOC_UNPIN:
	case IIT_IOC_QUERY: case IIT_IOC_VMAP: case IIT_IOC_VUNMAP:
	case IIT_IOC_VMAP_READ: case IIT_IOC_CPU:
		break;
	case IIT_IOC_BENCH:	/* bench.c; no IOAS state, no ops_lock */
		return iit_bench(uarg);
	default:
		return -ENOTTY;
	}
	ret = iit_copy_in(&a, ksize, uarg);
	if (ret)
		return ret;
	if ((cmd == IIT_IOC_UNMAP || cmd == IIT_IOC_REMAP ||
	     cmd == IIT_IOC_PIN || cmd == IIT_IOC_UNPIN) &&
	    ((a.id.flags & ~(cmd == IIT_IOC_UNMAP ? IIT_UNMAP_LEAK : 0)) ||
	     a.id.reserved))
		return -EINVAL;

	/* DMA and CPU access need no mapping lifetime guarantees. */
	if (cmd == IIT_IOC_DMA)
		return iit_dma(ioas, &a.dma);
	if (cmd == IIT_IOC_CPU)
		return iit_cpu(&a.cpu);

	mutex_lock(&ioas->ops_lock);
	switch (cmd) {
	case IIT_IOC_MAP:
		ret = iit_map(ioas, &a.map);
		break;
	case IIT_IOC_UNMAP:
		ret = iit_unmap(ioas, a.id.id, a.id.flags & IIT_UNMAP_LEAK);
		break;
	case IIT_IOC_REMAP:
		ret = iit_remap(ioas, a.id.id);
		break;
	case IIT_IOC_PIN:
	case IIT_IOC_UNPIN:
		ret = iit_pin(ioas, a.id.id, cmd == IIT_IOC_PIN);
		break;
	case IIT_IOC_QUERY:
		ret = iit_query(ioas, &a.query);
		break;
	case IIT_IOC_VMAP:
		ret = a.vmap.flags ? -EINVAL : iit_vmap(ioas, &a.vmap);
		break;
	case IIT_IOC_VUNMAP: {
		struct iit_vmap_obj *v = xa_erase(&ioas->vmaps, a.vmap.id);

		ret = -ENOENT;
		if (v) {
			iit_vmap_free(v);
			ret = 0;
		}
		break;
	}
	case IIT_IOC_VMAP_READ:
		ret = iit_vmap_read(ioas, &a.vmap);
		break;
	}
	mutex_unlock(&ioas->ops_lock);
	if (ret)
		return ret;
	return copy_to_user(uarg, &a, ksize) ? -EFAULT : 0;
}

/*
 * mmap of a mapped buffer through the importer, the way DRM drivers forward
 * an mmap of an imported object: dma_buf_mmap() (R6's second path).
 */
static int iit_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct iit_ioas *ioas = file->private_data;
	struct iit_mapping *m;
	struct dma_buf *dmabuf = NULL;
	int ret;

	mutex_lock(&ioas->lock);
	m = xa_load(&ioas->mappings, vma->vm_pgoff);
	if (m) {
		dmabuf = m->dmabuf;
		get_dma_buf(dmabuf);
	}
	mutex_unlock(&ioas->lock);
	if (!dmabuf)
		return -ENOENT;
	/* dma_buf_mmap() moves the VMA onto the dma-buf's file. */
	ret = dma_buf_mmap(dmabuf, vma, 0);
	dma_buf_put(dmabuf);
	return ret;
}

static int iit_open(struct inode *inode, struct file *file)
{
	struct iit_ioas *ioas = kzalloc(sizeof(*ioas), GFP_KERNEL);

	if (!ioas)
		return -ENOMEM;
	mutex_init(&ioas->ops_lock);
	mutex_init(&ioas->lock);
	xa_init_flags(&ioas->mappings, XA_FLAGS_ALLOC1);
	xa_init(&ioas->pt);
	xa_init_flags(&ioas->vmaps, XA_FLAGS_ALLOC1);
	file->private_data = ioas;
	return 0;
}

static int iit_release(struct inode *inode, struct file *file)
{
	struct iit_ioas *ioas = file->private_data;
	struct iit_vmap_obj *v;
	unsigned long id;

	mutex_lock(&ioas->ops_lock);
	iit_ioas_destroy(ioas);
	xa_for_each(&ioas->vmaps, id, v) {
		xa_erase(&ioas->vmaps, id);
		iit_vmap_free(v);
	}
	mutex_unlock(&ioas->ops_lock);
	xa_destroy(&ioas->mappings);
	xa_destroy(&ioas->pt);
	xa_destroy(&ioas->vmaps);
	mutex_destroy(&ioas->lock);
	mutex_destroy(&ioas->ops_lock);
	kfree(ioas);
	return 0;
}

static const struct file_operations iit_fops = {
	.owner = THIS_MODULE,
	.open = iit_open,
	.release = iit_release,
	.unlocked_ioctl = iit_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = iit_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice iit_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "iommufd_importer_test",
	.fops = &iit_fops,
	.mode = 0600,
};

static int __init iit_init(void)
{
	int ret;

	/* A device that can do DMA, as vgem uses for its PRIME imports. */
	iit_pdev = platform_device_register_simple("iommufd_importer_test",
						   PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(iit_pdev))
		return PTR_ERR(iit_pdev);
	iit_dev = &iit_pdev->dev;
	ret = dma_coerce_mask_and_coherent(iit_dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_pdev;
	ret = misc_register(&iit_misc);
	if (ret)
		goto err_pdev;
	return 0;

err_pdev:
	platform_device_unregister(iit_pdev);
	return ret;
}

static void __exit iit_exit(void)
{
	misc_deregister(&iit_misc);
	platform_device_unregister(iit_pdev);
}

module_init(iit_init);
module_exit(iit_exit);

MODULE_DESCRIPTION("IOMMUFD-style dma-buf importer for revoke testing");
MODULE_AUTHOR("dmabuf-revoke developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DMABUF_REVOKE_VERSION);
MODULE_IMPORT_NS(DRS_NS_DMA_BUF);
