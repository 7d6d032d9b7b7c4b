/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of dmabuf_revoke_shim: exports, revokes (with the report),
 * importer notifications and refused accesses. Enable with
 * /sys/kernel/tracing/events/dmabuf_revoke/enable.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM dmabuf_revoke

#if !defined(_DMABUF_REVOKE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DMABUF_REVOKE_TRACE_H

#include <linux/dma-buf.h>
#include <uapi/linux/dmabuf_revoke.h>
#include <linux/tracepoint.h>

TRACE_EVENT(dmabuf_revoke_export,
	    TP_PROTO(unsigned long ino, const struct dma_buf *dmabuf,
		     bool strict),
	    TP_ARGS(ino, dmabuf, strict),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(size_t, size)
			     __field(bool, strict)
			     __array(char, exporter, 32)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->size = dmabuf->size;
			   __entry->strict = strict;
			   strscpy(__entry->exporter, dmabuf->exp_name ?: "",
				   sizeof(__entry->exporter));),
	    TP_printk("ino=%lu size=%zu exporter=%s strict=%d", __entry->ino,
		      __entry->size, __entry->exporter, __entry->strict)
);

TRACE_EVENT(dmabuf_revoke_start,
	    TP_PROTO(unsigned long ino, bool already),
	    TP_ARGS(ino, already),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(bool, already)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->already = already;),
	    TP_printk("ino=%lu already=%d", __entry->ino, __entry->already)
);

TRACE_EVENT(dmabuf_revoke_notify,
	    TP_PROTO(unsigned long ino, const struct dma_buf_attachment *attach,
		     bool told),
	    TP_ARGS(ino, attach, told),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(bool, told)
			     __array(char, device, 32)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->told = told;
			   strscpy(__entry->device, dev_name(attach->dev),
				   sizeof(__entry->device));),
	    TP_printk("ino=%lu device=%s told=%d", __entry->ino,
		      __entry->device, __entry->told)
);

TRACE_EVENT(dmabuf_revoke_end,
	    TP_PROTO(unsigned long ino, int ret,
		     const struct dmabuf_revoke_report *r),
	    TP_ARGS(ino, ret, r),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(int, ret)
			     __field(u32, flags)
			     __field(u32, attachments)
			     __field(u32, notified)
			     __field(u32, static_attachments)
			     __field(u32, mappings_remaining)
			     __field(u32, user_mappings)
			     __field(u32, vmaps)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->ret = ret;
			   __entry->flags = r->flags;
			   __entry->attachments = r->attachments;
			   __entry->notified = r->notified;
			   __entry->static_attachments = r->static_attachments;
			   __entry->mappings_remaining = r->mappings_remaining;
			   __entry->user_mappings = r->user_mappings;
			   __entry->vmaps = r->vmaps;),
	    TP_printk("ino=%lu ret=%d flags=0x%x attachments=%u notified=%u static=%u mappings_remaining=%u user_mappings=%u vmaps=%u",
		      __entry->ino, __entry->ret, __entry->flags,
		      __entry->attachments, __entry->notified,
		      __entry->static_attachments, __entry->mappings_remaining,
		      __entry->user_mappings, __entry->vmaps)
);

TRACE_EVENT(dmabuf_revoke_refused,
	    TP_PROTO(unsigned long ino, const char *path, int err),
	    TP_ARGS(ino, path, err),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __array(char, path, 16)
			     __field(int, err)),
	    TP_fast_assign(__entry->ino = ino;
			   strscpy(__entry->path, path, sizeof(__entry->path));
			   __entry->err = err;),
	    TP_printk("ino=%lu path=%s err=%d", __entry->ino, __entry->path,
		      __entry->err)
);

#endif /* _DMABUF_REVOKE_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
