/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dmabuf-revoke user-space interface: the /dev/dmabuf_revoke ioctls.
 *
 * Every argument struct starts with "__u32 size; __u32 flags;". The kernel
 * reads min(size, its own size) bytes and requires any bytes it does not
 * know to be zero (E2BIG otherwise), and writes back min(size, its own size)
 * bytes, so binaries built against an older or a newer header both work.
 * The smallest size accepted is each struct's first released size, frozen
 * below as DMABUF_REVOKE_*_SIZE_VER0 (smaller: EINVAL); structs only ever
 * grow at the end. Unknown flags and non-zero reserved fields fail with
 * EINVAL; an unknown command fails with ENOTTY.
 */
#ifndef _UAPI_LINUX_DMABUF_REVOKE_H
#define _UAPI_LINUX_DMABUF_REVOKE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DMABUF_REVOKE_ABI_MAJOR		1
#define DMABUF_REVOKE_ABI_MINOR		0

/* Feature bits reported by DMABUF_REVOKE_IOC_VERSION. */
#define DMABUF_REVOKE_FEAT_REVOKE	(1ULL << 0)
#define DMABUF_REVOKE_FEAT_QUERY	(1ULL << 1)
#define DMABUF_REVOKE_FEAT_ENTRIES	(1ULL << 2)	/* per-attachment report */
#define DMABUF_REVOKE_FEAT_STRICT	(1ULL << 3)	/* strict exports exist */
/*
 * Kernel vmap of a revoked buffer fails (-EINVAL). Without it (6.1 cores) a
 * vmap after revoke gets a zero-filled private mapping instead: never the
 * exporter's memory, and no kernel warning.
 */
#define DMABUF_REVOKE_FEAT_VMAP_FAILS	(1ULL << 4)
#define DMABUF_REVOKE_FEAT_LIST		(1ULL << 5)
/*
 * A kernel vmap held across a revoke is never handed to a later vmap
 * caller. Without it (6.1 cores: dma_buf_vmap() gives later callers the
 * held mapping without asking the exporter), while an importer holds a vmap
 * taken before the revoke, later vmaps get that same live memory; once all
 * such vmaps are released, later ones get zeroed scratch memory. The
 * revoke report counts held vmaps (vmaps).
 */
#define DMABUF_REVOKE_FEAT_VMAP_SEALED	(1ULL << 6)
/*
 * User mappings of managed buffers are PFN maps with special PTEs:
 * get_user_pages() refuses them, so no page reference obtained through a
 * mapping (vmsplice, O_DIRECT, long-term pins) can outlive a revoke.
 */
#define DMABUF_REVOKE_FEAT_MMAP_NOPIN	(1ULL << 7)
/* REVOKE honours its timeout whatever else holds the buffer's locks. */
#define DMABUF_REVOKE_FEAT_BOUNDED	(1ULL << 8)

struct dmabuf_revoke_version {
	__u32 size;		/* in: sizeof(struct dmabuf_revoke_version) */
	__u32 flags;		/* in: must be 0 */
	__u32 major;		/* out: DMABUF_REVOKE_ABI_MAJOR */
	__u32 minor;		/* out: DMABUF_REVOKE_ABI_MINOR */
	__aligned_u64 features;	/* out: DMABUF_REVOKE_FEAT_* */
};

/* First released (ABI 1.0) size of struct dmabuf_revoke_version. */
#define DMABUF_REVOKE_VERSION_SIZE_VER0	24

/* Why an attachment still has the buffer mapped after a revoke. */
#define DMABUF_REVOKE_REMAIN_STATIC	1	/* static importer: cannot be told */
#define DMABUF_REVOKE_REMAIN_NO_NOTIFY	2	/* dynamic, no invalidation callback */
#define DMABUF_REVOKE_REMAIN_TIMEOUT	3	/* told, did not unmap in time */

struct dmabuf_revoke_entry {
	__u32 reason;		/* DMABUF_REVOKE_REMAIN_* */
	__u32 mappings;		/* mappings this attachment still holds */
	__u32 pins;		/* pins this attachment still holds */
	__u32 reserved;
	char device[32];	/* dev_name() of the importing device */
};

/* dmabuf_revoke_report.flags */
#define DMABUF_REVOKE_REPORT_ALREADY	(1U << 0) /* buffer was revoked before */
#define DMABUF_REVOKE_REPORT_INCOMPLETE	(1U << 1) /* device mappings remain */
#define DMABUF_REVOKE_REPORT_FENCES	(1U << 2) /* fences still unsignalled */
/* An exporter callback that began before the revoke was still running. */
#define DMABUF_REVOKE_REPORT_CALLBACKS	(1U << 3)
/*
 * An mmap that was under way when the revoke began could not be confirmed
 * zapped: its process's mmap lock was held for the whole timeout.
 */
#define DMABUF_REVOKE_REPORT_USER_MAPPINGS (1U << 4)

struct dmabuf_revoke_report {
	__u32 flags;		/* DMABUF_REVOKE_REPORT_* */
	__u32 attachments;	/* attachments when the revoke started */
	__u32 notified;		/* importers told to drop their mappings */
	__u32 static_attachments; /* attachments that could not be told */
	__u32 mappings_remaining; /* device mappings still live at return */
	__u32 user_mappings;	/* user VMAs zapped */
	__u32 vmaps;		/* kernel vmaps still held (cannot be revoked) */
	__u32 nr_entries;	/* attachments that still map the buffer */
};

/* Revoke the dma-buf behind @fd. Needs CAP_SYS_ADMIN. */
struct dmabuf_revoke_revoke {
	__u32 size;		/* in: sizeof(struct dmabuf_revoke_revoke) */
	__u32 flags;		/* in: must be 0 */
	__s32 fd;		/* in: dma-buf fd */
	__u32 timeout_ms;	/* in: wait for importers/fences; 0: default */
	__aligned_u64 entries;	/* in: user array of struct dmabuf_revoke_entry */
	__u32 max_entries;	/* in: capacity of @entries (0: no list) */
	__u32 reserved;		/* in: must be 0 */
	struct dmabuf_revoke_report report; /* out */
};

/* First released (ABI 1.0) size of struct dmabuf_revoke_revoke. */
#define DMABUF_REVOKE_REVOKE_SIZE_VER0	64
/*
 * Each element of @entries is DMABUF_REVOKE_ENTRY_SIZE_VER0 bytes apart,
 * whatever size struct dmabuf_revoke_entry has in a later ABI.
 */
#define DMABUF_REVOKE_ENTRY_SIZE_VER0	48

#define DMABUF_REVOKE_DEFAULT_TIMEOUT_MS	5000
#define DMABUF_REVOKE_MAX_TIMEOUT_MS		600000

/* dmabuf_revoke_query.state */
#define DMABUF_REVOKE_STATE_REVOKED	(1U << 0) /* revoke has started */
#define DMABUF_REVOKE_STATE_COMPLETE	(1U << 1) /* nothing can reach it: R9 held, no mapping left */
#define DMABUF_REVOKE_STATE_STRICT	(1U << 2) /* exported in strict mode */

/* Describe the managed dma-buf behind @fd. */
struct dmabuf_revoke_query {
	__u32 size;		/* in: sizeof(struct dmabuf_revoke_query) */
	__u32 flags;		/* in: must be 0 */
	__s32 fd;		/* in: dma-buf fd */
	__u32 state;		/* out: DMABUF_REVOKE_STATE_* */
	__aligned_u64 buf_size;	/* out: buffer size in bytes */
	__aligned_u64 inode;	/* out: inode number (as in /proc/PID/fdinfo) */
	__u32 attachments;	/* out: all attachments */
	__u32 dynamic_attachments; /* out: attachments with importer_ops */
	__u32 static_attachments; /* out: attachments without */
	__u32 mappings;		/* out: live device mappings */
	__u32 pins;		/* out: pins held by importers */
	__u32 user_mappings;	/* out: user VMAs */
	__u32 vmaps;		/* out: kernel vmaps held */
	__u32 reserved;		/* out: 0 */
	char exp_name[32];	/* out: exporter name */
};

/* First released (ABI 1.0) size of struct dmabuf_revoke_query. */
#define DMABUF_REVOKE_QUERY_SIZE_VER0	96

/* Describe every managed dma-buf: an array of QUERY results (fd = -1). */
#define DMABUF_REVOKE_LIST_MAX		4096
struct dmabuf_revoke_list {
	__u32 size;		/* in: sizeof(struct dmabuf_revoke_list) */
	__u32 flags;		/* in: must be 0 */
	__u32 count;		/* in: capacity of @entries; out: buffers that exist */
	__u32 reserved;		/* in: must be 0 */
	__aligned_u64 entries;	/* in: user array of struct dmabuf_revoke_query */
};

/*
 * First released (ABI 1.0) size of struct dmabuf_revoke_list. Each element
 * of @entries is DMABUF_REVOKE_QUERY_SIZE_VER0 bytes apart, whatever size
 * struct dmabuf_revoke_query has in a later ABI.
 */
#define DMABUF_REVOKE_LIST_SIZE_VER0	24

#define DMABUF_REVOKE_IOC_MAGIC		0xDB

#define DMABUF_REVOKE_IOC_VERSION \
	_IOWR(DMABUF_REVOKE_IOC_MAGIC, 0x00, struct dmabuf_revoke_version)
#define DMABUF_REVOKE_IOC_REVOKE \
	_IOWR(DMABUF_REVOKE_IOC_MAGIC, 0x01, struct dmabuf_revoke_revoke)
#define DMABUF_REVOKE_IOC_QUERY \
	_IOWR(DMABUF_REVOKE_IOC_MAGIC, 0x02, struct dmabuf_revoke_query)
#define DMABUF_REVOKE_IOC_LIST \
	_IOWR(DMABUF_REVOKE_IOC_MAGIC, 0x03, struct dmabuf_revoke_list)

#endif /* _UAPI_LINUX_DMABUF_REVOKE_H */
