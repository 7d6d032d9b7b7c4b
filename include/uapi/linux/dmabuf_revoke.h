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
#define DMABUF_REVOKE_ABI_MINOR		1

/* Feature bits reported by DMABUF_REVOKE_IOC_VERSION. */
#define DMABUF_REVOKE_FEAT_REVOKE	(1ULL << 0)
#define DMABUF_REVOKE_FEAT_QUERY	(1ULL << 1)
#define DMABUF_REVOKE_FEAT_ENTRIES	(1ULL << 2)	/* per-attachment report */
#define DMABUF_REVOKE_FEAT_STRICT	(1ULL << 3)	/* strict exports exist */
/*
 * Kernel vmap of a revoked buffer fails (-EINVAL; a NULL address on cores
 * before 5.11). Without it (5.11 to 6.1 cores) a vmap after revoke gets a
 * zero-filled private mapping instead: never the exporter's memory, and no
 * kernel warning. Either way see DMABUF_REVOKE_FEAT_VMAP_SEALED.
 */
#define DMABUF_REVOKE_FEAT_VMAP_FAILS	(1ULL << 4)
#define DMABUF_REVOKE_FEAT_LIST		(1ULL << 5)
/*
 * A kernel vmap held across a revoke is never handed to a later vmap
 * caller. Without it (cores up to 6.1: dma_buf_vmap() gives later callers
 * the held mapping without asking the exporter), while an importer holds a
 * vmap taken before the revoke, later vmaps get that same live memory; once
 * all such vmaps are released, later ones fail or get zeroed scratch memory
 * (DMABUF_REVOKE_FEAT_VMAP_FAILS). The revoke report counts held vmaps.
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
/* DMABUF_REVOKE_IOC_REVOKE_BATCH exists. */
#define DMABUF_REVOKE_FEAT_BATCH	(1ULL << 9)
/*
 * A buffer's owner (the process that allocated it from a revocable heap)
 * may REVOKE it without CAP_SYS_ADMIN; QUERY says so with
 * DMABUF_REVOKE_STATE_OWNER.
 */
#define DMABUF_REVOKE_FEAT_OWNER	(1ULL << 10)

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
/*
 * REVOKE_BATCH only: this buffer's revoke could not start - its reservation
 * lock was held by others until the batch's timeout ran out. Nothing
 * changed on it; the other fields are 0.
 */
#define DMABUF_REVOKE_REPORT_NOT_STARTED (1U << 5)

struct dmabuf_revoke_report {
	__u32 flags;		/* DMABUF_REVOKE_REPORT_* */
	__u32 attachments;	/* attachments when the revoke started */
	__u32 notified;		/* importers told to drop their mappings */
	__u32 static_attachments; /* attachments that could not be told */
	/*
	 * Device mappings still live at return. It exceeds the sum over all
	 * nr_entries attachments (listed or not) by the mappings of importers
	 * that detached without unmapping (an importer bug): they have no
	 * entry, never go away, and keep the buffer INCOMPLETE.
	 */
	__u32 mappings_remaining;
	__u32 user_mappings;	/* user VMAs zapped */
	__u32 vmaps;		/* kernel vmaps still held (cannot be revoked) */
	__u32 nr_entries;	/* attachments that still map the buffer */
};

/*
 * Each element of an array of reports (REVOKE_BATCH) is
 * DMABUF_REVOKE_REPORT_SIZE_VER0 bytes apart, whatever size struct
 * dmabuf_revoke_report has in a later ABI.
 */
#define DMABUF_REVOKE_REPORT_SIZE_VER0	32

/*
 * Revoke the dma-buf behind @fd. Needs CAP_SYS_ADMIN, or the buffer's
 * ownership (DMABUF_REVOKE_STATE_OWNER).
 */
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
#define DMABUF_REVOKE_STATE_COMPLETE	(1U << 1) /* R9 held, no mapping left */
#define DMABUF_REVOKE_STATE_STRICT	(1U << 2) /* exported in strict mode */
/* The calling process owns the buffer: it may REVOKE it unprivileged. */
#define DMABUF_REVOKE_STATE_OWNER	(1U << 3)

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

/*
 * Describe every managed dma-buf: an array of QUERY results (fd = -1).
 * Needs CAP_SYS_ADMIN.
 */
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

/*
 * Revoke many managed dma-bufs in one call, with the fixed costs paid once
 * and the waits overlapping. Needs CAP_SYS_ADMIN. Two modes:
 *  - flags 0: the dma-bufs behind the @count fds in @fds. Every fd is
 *    checked before anything is revoked: one that is not open (EBADF), not
 *    a dma-buf (EINVAL) or not managed (ENOENT) fails the whole call with
 *    that errno, its index in @error_index, and nothing revoked. A buffer
 *    given more than once (the same fd, or fds of one buffer) is revoked
 *    and counted once; each of its fds gets its report.
 *  - DMABUF_REVOKE_BATCH_EXPORTER: every managed dma-buf, live or revoked,
 *    whose exporter is @exp_name (QUERY's exp_name; an exact match).
 *    Buffers exported while the call runs may be missed.
 * Each buffer is revoked as by REVOKE (started under its reservation lock,
 * then waited for), all within one @timeout_ms: the revokes of all buffers
 * start first, then each buffer's waits run, so a wait that one buffer needs
 * overlaps with the others' instead of adding to them. A buffer whose
 * reservation lock is held by others until the timeout is left untouched
 * and counted in @not_started. A signal ends the call with EINTR (the
 * buffers whose revoke started stay revoked: call again to wait).
 * @revoked + @already + @not_started is the number of distinct buffers.
 */
#define DMABUF_REVOKE_BATCH_EXPORTER	(1U << 0)
#define DMABUF_REVOKE_BATCH_MAX		16384	/* fds per call */

struct dmabuf_revoke_batch {
	__u32 size;		/* in: sizeof(struct dmabuf_revoke_batch) */
	__u32 flags;		/* in: 0 or DMABUF_REVOKE_BATCH_EXPORTER */
	__aligned_u64 fds;	/* in: fd mode: user array of @count __s32 */
	/*
	 * in: fd mode, optional (0: none): user array of @count struct
	 * dmabuf_revoke_report, DMABUF_REVOKE_REPORT_SIZE_VER0 bytes apart;
	 * out: each fd's report (nr_entries counts, no list is returned)
	 */
	__aligned_u64 reports;
	__u32 count;		/* in: fd mode: entries in @fds; exporter mode: 0 */
	__u32 timeout_ms;	/* in: for the whole batch; 0: default */
	/* in: exporter mode: NUL-terminated, zero-padded; fd mode: all 0 */
	char exp_name[32];
	__u32 reserved;		/* in: must be 0 */
	/* out: an fd that failed the checks: its index in @fds; else -1 */
	__s32 error_index;
	__u32 revoked;		/* out: buffers this call revoked */
	__u32 already;		/* out: buffers revoked before this call */
	/*
	 * out: buffers (of @revoked and @already) whose report says work is
	 * pending: DMABUF_REVOKE_REPORT_INCOMPLETE, _FENCES, _CALLBACKS or
	 * _USER_MAPPINGS
	 */
	__u32 incomplete;
	/* out: buffers left untouched, DMABUF_REVOKE_REPORT_NOT_STARTED */
	__u32 not_started;
};

/* First released (ABI 1.0) size of struct dmabuf_revoke_batch. */
#define DMABUF_REVOKE_BATCH_SIZE_VER0	88

#define DMABUF_REVOKE_IOC_MAGIC		0xDB

#define DMABUF_REVOKE_IOC_VERSION \
	_IOWR(DMABUF_REVOKE_IOC_MAGIC, 0x00, struct dmabuf_revoke_version)
#define DMABUF_REVOKE_IOC_REVOKE \
	_IOWR(DMABUF_REVOKE_IOC_MAGIC, 0x01, struct dmabuf_revoke_revoke)
#define DMABUF_REVOKE_IOC_QUERY \
	_IOWR(DMABUF_REVOKE_IOC_MAGIC, 0x02, struct dmabuf_revoke_query)
#define DMABUF_REVOKE_IOC_LIST \
	_IOWR(DMABUF_REVOKE_IOC_MAGIC, 0x03, struct dmabuf_revoke_list)
#define DMABUF_REVOKE_IOC_REVOKE_BATCH \
	_IOWR(DMABUF_REVOKE_IOC_MAGIC, 0x04, struct dmabuf_revoke_batch)

#endif /* _UAPI_LINUX_DMABUF_REVOKE_H */
