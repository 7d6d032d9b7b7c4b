// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/dmabuf_revoke: the user-space interface (include/uapi/linux/
 * dmabuf_revoke.h). Commands are matched on type and number; the size in
 * the command word is ignored in favour of the struct's own size field, so
 * that a binary built against a newer or older header keeps working.
 */
#include <linux/build_bug.h>
#include <linux/capability.h>
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/miscdevice.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dmabuf_revoke_compat.h"
#include "shim.h"

/* Largest per-attachment list REVOKE fills in one call. */
#define DRS_MAX_ENTRIES	1024

/*
 * The uapi structs only grow: a binary built against the first release
 * passes the frozen _VER0 sizes, and they stay the minimum forever.
 */
static_assert(sizeof(struct dmabuf_revoke_version) >=
	      DMABUF_REVOKE_VERSION_SIZE_VER0);
static_assert(sizeof(struct dmabuf_revoke_revoke) >=
	      DMABUF_REVOKE_REVOKE_SIZE_VER0);
static_assert(sizeof(struct dmabuf_revoke_entry) >=
	      DMABUF_REVOKE_ENTRY_SIZE_VER0);
static_assert(sizeof(struct dmabuf_revoke_query) >=
	      DMABUF_REVOKE_QUERY_SIZE_VER0);
static_assert(sizeof(struct dmabuf_revoke_list) >=
	      DMABUF_REVOKE_LIST_SIZE_VER0);
static_assert(sizeof(struct dmabuf_revoke_report) >=
	      DMABUF_REVOKE_REPORT_SIZE_VER0);
static_assert(sizeof(struct dmabuf_revoke_batch) >=
	      DMABUF_REVOKE_BATCH_SIZE_VER0);

/*
 * Read a size-prefixed argument struct: at least @minsz bytes; bytes past
 * @ksize must be zero (copy_struct_from_user() answers -E2BIG otherwise).
 */
int drs_copy_in(void *karg, size_t ksize, size_t minsz, void __user *uarg,
		u32 *usize)
{
	if (get_user(*usize, (u32 __user *)uarg))
		return -EFAULT;
	if (*usize < minsz)
		return -EINVAL;
	if (*usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(karg, ksize, uarg, *usize);
}

int drs_copy_out(void __user *uarg, const void *karg, size_t ksize, u32 usize)
{
	return copy_to_user(uarg, karg, min_t(size_t, ksize, usize)) ?
	       -EFAULT : 0;
}

/*
 * Copy @n elements of @ksize bytes to a user array of elements @ustride
 * bytes apart. The arrays carry no element size, so their stride is the
 * element's first released size: a later, larger element is cut to it.
 */
int drs_copy_array(u64 uptr, const void *karr, size_t ksize, size_t ustride,
		   u32 n)
{
	void __user *u = u64_to_user_ptr(uptr);
	u32 i;

	if (ksize == ustride)
		return copy_to_user(u, karr, ksize * n) ? -EFAULT : 0;
	for (i = 0; i < n; i++)
		if (copy_to_user(u + i * ustride, karr + i * ksize,
				 min(ksize, ustride)))
			return -EFAULT;
	return 0;
}

static int drs_ioc_version(void __user *uarg)
{
	struct dmabuf_revoke_version v;
	u32 usize;
	int ret;

	ret = drs_copy_in(&v, sizeof(v), DMABUF_REVOKE_VERSION_SIZE_VER0, uarg,
			  &usize);
	if (ret)
		return ret;
	if (v.flags)
		return -EINVAL;
	v.size = sizeof(v);
	v.major = DMABUF_REVOKE_ABI_MAJOR;
	v.minor = DMABUF_REVOKE_ABI_MINOR;
	v.features = DMABUF_REVOKE_FEAT_REVOKE | DMABUF_REVOKE_FEAT_QUERY |
		     DMABUF_REVOKE_FEAT_ENTRIES | DMABUF_REVOKE_FEAT_STRICT |
		     DMABUF_REVOKE_FEAT_LIST | DMABUF_REVOKE_FEAT_MMAP_NOPIN |
		     DMABUF_REVOKE_FEAT_BOUNDED | DMABUF_REVOKE_FEAT_BATCH |
		     DMABUF_REVOKE_FEAT_OWNER |
		     (DRS_VMAP_CAN_FAIL || DRS_VMAP_OP_MAY_FAIL ?
		      DMABUF_REVOKE_FEAT_VMAP_FAILS : 0) |
		     (DRS_VMAP_CAN_FAIL ? DMABUF_REVOKE_FEAT_VMAP_SEALED : 0);
	return drs_copy_out(uarg, &v, sizeof(v), usize);
}

/* fd -> managed dma-buf, with a reference. */
struct dma_buf *drs_get_managed(int fd)
{
	struct dma_buf *dmabuf;

	/* -EBADF: not an open fd; -EINVAL: not a dma-buf. */
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return dmabuf;
	if (!dmabuf_revoke_is_managed(dmabuf)) {
		/* R15: foreign buffers are never touched. */
		dma_buf_put(dmabuf);
		return ERR_PTR(-ENOENT);
	}
	return dmabuf;
}

static int drs_ioc_revoke(void __user *uarg)
{
	struct dmabuf_revoke_result res = { };
	struct dmabuf_revoke_revoke rv;
	struct dma_buf *dmabuf;
	u32 usize, timeout_ms;
	int ret;

	ret = drs_copy_in(&rv, sizeof(rv), DMABUF_REVOKE_REVOKE_SIZE_VER0, uarg,
			  &usize);
	if (ret)
		return ret;
	if (rv.flags || rv.reserved)
		return -EINVAL;
	if (rv.timeout_ms > DMABUF_REVOKE_MAX_TIMEOUT_MS)
		return -EINVAL;
	if (rv.max_entries > DRS_MAX_ENTRIES)
		return -EINVAL;
	if (rv.max_entries && !rv.entries)
		return -EINVAL;
	timeout_ms = rv.timeout_ms ?: DMABUF_REVOKE_DEFAULT_TIMEOUT_MS;

	dmabuf = drs_get_managed(rv.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	/*
	 * Every importer holds the fd: holding it is no right to revoke. The
	 * buffer's owner (the process that allocated it from a revocable heap)
	 * may take back what it handed out; see README "Privilege policy".
	 */
	if (!capable(CAP_SYS_ADMIN) && !dmabuf_revoke_is_owner(dmabuf)) {
		ret = -EPERM;
		goto out_put;
	}

	if (rv.max_entries) {
		res.entries = kcalloc(rv.max_entries, sizeof(*res.entries),
				      GFP_KERNEL);
		if (!res.entries) {
			ret = -ENOMEM;
			goto out_put;
		}
		res.max_entries = rv.max_entries;
	}

	ret = dmabuf_revoke(dmabuf, msecs_to_jiffies(timeout_ms),
			    DMABUF_REVOKE_INTERRUPTIBLE, &res);
	if (ret)
		goto out_free;

	rv.report = res.report;
	if (res.entries) {
		ret = drs_copy_array(rv.entries, res.entries,
				     sizeof(*res.entries),
				     DMABUF_REVOKE_ENTRY_SIZE_VER0,
				     min(res.report.nr_entries,
					 res.max_entries));
		if (ret)
			goto out_free;
	}
	ret = drs_copy_out(uarg, &rv, sizeof(rv), usize);
out_free:
	kfree(res.entries);
out_put:
	dma_buf_put(dmabuf);
	return ret;
}

static int drs_ioc_query(void __user *uarg)
{
	struct dmabuf_revoke_query q;
	struct dma_buf *dmabuf;
	u32 usize;
	int fd, ret;

	ret = drs_copy_in(&q, sizeof(q), DMABUF_REVOKE_QUERY_SIZE_VER0, uarg,
			  &usize);
	if (ret)
		return ret;
	if (q.flags || q.reserved)
		return -EINVAL;

	dmabuf = drs_get_managed(q.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	fd = q.fd;
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.fd = fd;
	drs_fill_counts(to_drs(dmabuf), &q);
	if (dmabuf_revoke_is_owner(dmabuf))
		q.state |= DMABUF_REVOKE_STATE_OWNER;
	dma_buf_put(dmabuf);
	return drs_copy_out(uarg, &q, sizeof(q), usize);
}

static int drs_ioc_list(void __user *uarg)
{
	struct dmabuf_revoke_query *q = NULL;
	struct dmabuf_revoke_list l;
	struct drs_buf *b;
	u32 usize, n = 0;
	int ret;

	/* Every user may open the node (owners revoke through it). */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = drs_copy_in(&l, sizeof(l), DMABUF_REVOKE_LIST_SIZE_VER0, uarg,
			  &usize);
	if (ret)
		return ret;
	if (l.flags || l.reserved || l.count > DMABUF_REVOKE_LIST_MAX ||
	    (l.count && !l.entries))
		return -EINVAL;
	if (l.count) {
		q = kvcalloc(l.count, sizeof(*q), GFP_KERNEL);
		if (!q)
			return -ENOMEM;
	}
	mutex_lock(&drs_buffers_lock);
	list_for_each_entry(b, &drs_buffers, node) {
		if (n < l.count) {
			/* What each element of the array holds. */
			q[n].size = DMABUF_REVOKE_QUERY_SIZE_VER0;
			q[n].fd = -1;
			drs_fill_counts(b, &q[n]);
		}
		n++;
	}
	mutex_unlock(&drs_buffers_lock);

	if (q)
		ret = drs_copy_array(l.entries, q, sizeof(*q),
				     DMABUF_REVOKE_QUERY_SIZE_VER0,
				     min(n, l.count));
	kvfree(q);
	if (ret)
		return ret;
	l.count = n;
	return drs_copy_out(uarg, &l, sizeof(l), usize);
}

static long drs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (_IOC_TYPE(cmd) != DMABUF_REVOKE_IOC_MAGIC ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -ENOTTY;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(DMABUF_REVOKE_IOC_VERSION):
		return drs_ioc_version(uarg);
	case _IOC_NR(DMABUF_REVOKE_IOC_REVOKE):
		return drs_ioc_revoke(uarg);
	case _IOC_NR(DMABUF_REVOKE_IOC_QUERY):
		return drs_ioc_query(uarg);
	case _IOC_NR(DMABUF_REVOKE_IOC_LIST):
		return drs_ioc_list(uarg);
	case _IOC_NR(DMABUF_REVOKE_IOC_REVOKE_BATCH):
		return drs_ioc_revoke_batch(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations drs_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = drs_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice drs_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "dmabuf_revoke",
	.fops = &drs_fops,
	/*
	 * Open to all: each ioctl checks its own right (README "Privilege
	 * policy"): REVOKE needs CAP_SYS_ADMIN or the buffer's ownership,
	 * LIST and REVOKE_BATCH CAP_SYS_ADMIN; QUERY needs the fd.
	 */
	.mode = 0666,
};

int drs_chardev_init(void)
{
	return misc_register(&drs_misc);
}

void drs_chardev_exit(void)
{
	misc_deregister(&drs_misc);
}
