// SPDX-License-Identifier: GPL-2.0
/*
 * demo: a buffer's life, narrated step by step with the real results: a
 * VFIO-style device exports a BAR range, an IOMMUFD-style IOAS maps it,
 * the device and the CPU share data, then the device is reset - which
 * revokes the buffer - and every path to the memory is shown failing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include "lib/helpers.h"

#define SIZE	(4 * PAGE)
#define DEMO_IOVA 0x200000ULL

static int step;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	printf("\n== %d. ", ++step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static const char *res(int ret)
{
	static char buf[64];

	if (ret >= 0)
		return "success";
	snprintf(buf, sizeof(buf), "fails: %s (%s)", strerror(-ret),
		 ret == -ENODEV ? "ENODEV" : ret == -EINVAL ? "EINVAL" : "errno");
	return buf;
}

int main(void)
{
	struct dmabuf_revoke_entry e[4];
	struct dmabuf_revoke_report r;
	struct dmabuf_revoke_query q;
	char text[64] = "", back[64] = "";
	uint64_t bar = SIZE;
	uint32_t id, id2, v;
	int dev, buf, ioas, ret;
	uint8_t *p, byte;

	setvbuf(stdout, NULL, _IOLBF, 0);
	say("A VFIO-style device with one 16 KiB BAR: open %s", DEV_VRE);
	dev = vre_device(1, &bar);
	printf("   device fd %d\n", dev);
	if (dev < 0)
		return 1;

	say("The device exports its BAR as a revocable dma-buf (through the shim)");
	buf = vre_export(dev, 0, 0, SIZE, 0);
	printf("   dma-buf fd %d\n", buf);
	if (buf < 0 || drs_query(buf, &q))
		return 1;
	printf("   QUERY: exporter \"%s\", %llu bytes, inode %llu, %s\n",
	       q.exp_name, (unsigned long long)q.buf_size,
	       (unsigned long long)q.inode,
	       q.state & DMABUF_REVOKE_STATE_REVOKED ? "revoked" : "live");

	say("An IOMMUFD-style IO address space imports it at IOVA 0x%llx",
	    DEMO_IOVA);
	ioas = iit_open();
	ret = iit_map(ioas, buf, DEMO_IOVA, 0, &id);
	printf("   MAP_DMABUF: %s (mapping id %u: dynamic attach, pinned, IO page table filled)\n",
	       res(ret), id);
	if (ret)
		return 1;

	say("The device writes a message into the buffer by DMA");
	snprintf(text, sizeof(text), "hello from the device");
	printf("   DMA write \"%s\": %s\n", text,
	       res(iit_dma(ioas, DEMO_IOVA, text, sizeof(text), true)));

	say("A process mmaps the dma-buf and reads it");
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	if (p == MAP_FAILED)
		return 1;
	printf("   mmap at %p reads \"%s\"\n", (void *)p, (char *)p);

	say("The process writes back; the device reads it by DMA");
	snprintf((char *)p, 64, "hello from user space");
	iit_dma(ioas, DEMO_IOVA, back, sizeof(back), false);
	printf("   device reads \"%s\"\n", back);

	say("A second importer that ignores invalidations maps it too");
	ret = iit_map(ioas, buf, 2 * DEMO_IOVA, IIT_MAP_IGNORE, &id2);
	printf("   MAP_DMABUF (ignoring importer): %s\n", res(ret));
	drs_query(buf, &q);
	printf("   QUERY: %u attachments (%u dynamic, %u static), %u device mappings, %u user mappings\n",
	       q.attachments, q.dynamic_attachments, q.static_attachments,
	       q.mappings, q.user_mappings);

	say("The device is reset (FLR): like VFIO, it revokes every buffer it exported");
	ret = vre_reset(dev);
	printf("   RESET: %s, %d buffer(s) revoked\n", res(ret), ret);
	drs_query(buf, &q);
	printf("   QUERY: %s%s\n",
	       q.state & DMABUF_REVOKE_STATE_REVOKED ? "revoked" : "live",
	       q.state & DMABUF_REVOKE_STATE_COMPLETE ? ", complete" : "");

	say("An administrator asks the shim what is left: REVOKE again (a no-op that reports), on %s",
	    DEV_REVOKE);
	memset(e, 0, sizeof(e));
	ret = drs_revoke(buf, 500, &r, e, 4);
	printf("   REVOKE: %s%s\n", res(ret),
	       r.flags & DMABUF_REVOKE_REPORT_ALREADY ? " (already revoked)" : "");
	printf("   report: %u user mappings (zapped), %u device mappings remain, %u vmaps held%s%s\n",
	       r.user_mappings, r.mappings_remaining, r.vmaps,
	       r.flags & DMABUF_REVOKE_REPORT_INCOMPLETE ? ", INCOMPLETE" : "",
	       r.flags & DMABUF_REVOKE_REPORT_FENCES ? ", FENCES PENDING" : "");
	for (unsigned int i = 0; i < r.nr_entries && i < 4; i++)
		printf("   still mapped: %s, %u mapping(s), because it %s\n",
		       e[i].device, e[i].mappings,
		       e[i].reason == DMABUF_REVOKE_REMAIN_STATIC ?
		       "is a static importer" :
		       e[i].reason == DMABUF_REVOKE_REMAIN_TIMEOUT ?
		       "did not unmap in time" : "cannot be told");

	say("Every path to the memory now fails");
	printf("   device DMA through the IOAS: %s\n",
	       res(iit_dma(ioas, DEMO_IOVA, back, sizeof(back), false)));
	printf("   new import (attach): %s\n",
	       res(iit_map(ioas, buf, 4 * DEMO_IOVA, 0, &v)));
	printf("   DMA_BUF_IOCTL_SYNC start: %s\n",
	       res(dmabuf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ)));
	{
		struct dmabuf_revoke_version ver;

		drs_version(&ver);
		ret = iit_vmap(ioas, buf, &v);
		if (ver.features & DMABUF_REVOKE_FEAT_VMAP_FAILS || ret)
			printf("   kernel vmap: %s\n", res(ret));
		else
			printf("   kernel vmap: gets zero-filled private memory, not the buffer\n"
			       "      (this kernel's dma-buf core cannot fail a vmap without a warning)\n");
		if (!ret)
			iit_vunmap(ioas, v);
	}
	ret = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, buf, 0) == MAP_FAILED ?
	      -errno : 0;
	printf("   new mmap: %s\n", res(ret));
	ret = touch_read(p, &byte);
	printf("   touching the old mapping: %s\n",
	       ret == TOUCH_SIGBUS ? "SIGBUS" :
	       ret == TOUCH_OK ? "READ SUCCEEDED (bug!)" : "SIGSEGV");

	say("The exporter was told the revoke finished, but a device still maps the memory:");
	say("it quarantines it - no scrub, no reuse - until the last mapping goes");
	{
		struct vre_stats s;
		uint8_t raw[16];

		vre_stats(dev, false, &s);
		vre_bar_rw(dev, 0, 0, raw, sizeof(raw), false);
		printf("   revoke callbacks %llu, quarantined %llu, scrubbed %llu bytes, callbacks after revoke %llu\n",
		       (unsigned long long)s.revokes,
		       (unsigned long long)s.quarantined,
		       (unsigned long long)s.scrubbed_bytes,
		       (unsigned long long)s.late_callbacks);
		printf("   BAR still starts with 0x%02x 0x%02x ... (the importer that ignored the revoke may still read it)\n",
		       raw[0], raw[1]);

		say("The ignoring importer lets go at last; the exporter hears it and scrubs");
		printf("   unmap ignoring importer: %s\n",
		       res(iit_id_op(ioas, IIT_IOC_UNMAP, id2)));
		usleep(200000);	/* the shim tells the exporter from a workqueue */
		vre_stats(dev, false, &s);
		vre_bar_rw(dev, 0, 0, raw, sizeof(raw), false);
		drs_query(buf, &q);
		printf("   scrubbed %llu bytes; BAR now starts with 0x%02x 0x%02x ... (the scrub byte is 0x%02x); QUERY: %s\n",
		       (unsigned long long)s.scrubbed_bytes, raw[0], raw[1],
		       VRE_SCRUB_BYTE,
		       q.state & DMABUF_REVOKE_STATE_COMPLETE ? "complete" :
		       "not complete");
	}

	say("Teardown still works: unmap, detach, munmap, close");
	printf("   unmap revoked mapping: %s\n",
	       res(iit_id_op(ioas, IIT_IOC_UNMAP, id)));
	printf("   munmap: %s\n", res(munmap(p, SIZE) ? -errno : 0));
	close(ioas);
	close(buf);
	close(dev);
	printf("\nThe end: the buffer is gone, and nothing touched it after the revoke.\n");
	return 0;
}
