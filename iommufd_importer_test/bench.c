// SPDX-License-Identifier: GPL-2.0
/*
 * IIT_IOC_BENCH: the in-kernel half of `make bench` (tests/bench/).
 *
 * Repeats one importer-side dma-buf operation @iters times on a dma-buf and
 * returns the ktime the loop took. Timing in the kernel keeps the syscall,
 * the copy-in/out and the fd lookup out of the numbers; what is left is what
 * an in-kernel importer pays per operation. The benchmark runs the same loop
 * on a buffer exported through the shim ("managed") and on the same kind of
 * buffer exported with plain dma_buf_export() ("plain", the zero-cost
 * baseline), so the ratio of the two is the shim's cost.
 *
 * Each loop body is a small function called through a pointer; the call is
 * the same for both exports, as are the cond_resched() and signal check every
 * IIT_BENCH_RESCHED iterations (long loops must not hog a CPU; a benchmark
 * can run for seconds under TCG). Setup - dma_buf_get() and the single
 * attachment MAP and PIN iterate on - is done before the clock starts.
 *
 * The attachment is dynamic (importer_ops with a move_notify that does
 * nothing: no mapping outlives the resv section of one iteration, so there
 * is never anything to drop) unless IIT_BENCH_STATIC asks for a static one
 * (dma_buf_attach()). Which combination makes the core cache a mapping at
 * attach time is the core's business; tests/bench/ picks combinations so
 * that both sides do comparable work and says which.
 */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dmabuf_revoke_compat.h"
#include "iit.h"

/* Yield and look for a fatal signal every this many iterations. */
#define IIT_BENCH_RESCHED	16

struct iit_bench_ctx {
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;	/* MAP, PIN */
	bool is_static;				/* IIT_BENCH_STATIC */
	/* MAP with iit_bench.spread > 1: these, oldest first, in turn */
	struct dma_buf_attachment **spread;
	u32 nr_spread, next;
};

typedef int (*iit_bench_fn)(struct iit_bench_ctx *ctx);

/*
 * The benchmark never holds a mapping outside one resv section, and
 * move_notify is called under resv: there is nothing to drop.
 */
static void iit_bench_notify(struct dma_buf_attachment *attach)
{
}

static const struct dma_buf_attach_ops iit_bench_attach_ops = {
	.allow_peer2peer = false,
	.DRS_ATTACH_OPS_NOTIFY = iit_bench_notify,
};

static struct dma_buf_attachment *iit_bench_attach(struct iit_bench_ctx *ctx)
{
	if (ctx->is_static)
		return dma_buf_attach(ctx->dmabuf, iit_dev);
	return dma_buf_dynamic_attach(ctx->dmabuf, iit_dev,
				      &iit_bench_attach_ops, NULL);
}

/* The control: what every resv-taking loop below pays besides its op. */
static int iit_bench_lock(struct iit_bench_ctx *ctx)
{
	dma_resv_lock(ctx->dmabuf->resv, NULL);
	dma_resv_unlock(ctx->dmabuf->resv);
	return 0;
}

/* A dynamic importer's map cycle; the core wants resv held (6.2+: always). */
static int iit_bench_map(struct iit_bench_ctx *ctx)
{
	struct sg_table *sgt;

	dma_resv_lock(ctx->dmabuf->resv, NULL);
	sgt = dma_buf_map_attachment(ctx->attach, DMA_BIDIRECTIONAL);
	if (!IS_ERR(sgt))
		dma_buf_unmap_attachment(ctx->attach, sgt, DMA_BIDIRECTIONAL);
	dma_resv_unlock(ctx->dmabuf->resv);
	return PTR_ERR_OR_ZERO(sgt);
}

/*
 * The same cycle on the next of several attachments of the buffer, taken
 * oldest first: the core links the newest first, so whatever the exporter
 * (or a shim) searches from its last hit, the next one is never close.
 */
static int iit_bench_map_spread(struct iit_bench_ctx *ctx)
{
	ctx->attach = ctx->spread[ctx->next];
	if (++ctx->next == ctx->nr_spread)
		ctx->next = 0;
	return iit_bench_map(ctx);
}

static int iit_bench_attach_detach(struct iit_bench_ctx *ctx)
{
	struct dma_buf_attachment *attach = iit_bench_attach(ctx);

	if (IS_ERR(attach))
		return PTR_ERR(attach);
	dma_buf_detach(ctx->dmabuf, attach);
	return 0;
}

static int iit_bench_pin(struct iit_bench_ctx *ctx)
{
	int ret;

	dma_resv_lock(ctx->dmabuf->resv, NULL);
	ret = dma_buf_pin(ctx->attach);
	if (!ret)
		dma_buf_unpin(ctx->attach);
	dma_resv_unlock(ctx->dmabuf->resv);
	return ret;
}

/* dma_buf_vmap_unlocked() on 6.2+, dma_buf_vmap() on 6.1 (compat header). */
static int iit_bench_vmap(struct iit_bench_ctx *ctx)
{
	struct iosys_map map;
	int ret;

	ret = drs_dma_buf_vmap(ctx->dmabuf, &map);
	if (!ret)
		drs_dma_buf_vunmap(ctx->dmabuf, &map);
	return ret;
}

static int iit_bench_cpu(struct iit_bench_ctx *ctx)
{
	int ret;

	ret = dma_buf_begin_cpu_access(ctx->dmabuf, DMA_BIDIRECTIONAL);
	if (!ret)
		ret = dma_buf_end_cpu_access(ctx->dmabuf, DMA_BIDIRECTIONAL);
	return ret;
}

/*
 * Attach the spread set and map each once, so that the timed loop finds
 * whatever the exporter keeps per mapped attachment already there, as an
 * importer does that maps again. On failure the caller detaches them.
 */
static int iit_bench_spread(struct iit_bench_ctx *ctx, u32 nr)
{
	struct dma_buf_attachment *attach;
	u32 i;
	int ret;

	ctx->spread = kvcalloc(nr, sizeof(*ctx->spread), GFP_KERNEL);
	if (!ctx->spread)
		return -ENOMEM;
	while (ctx->nr_spread < nr) {
		attach = iit_bench_attach(ctx);
		if (IS_ERR(attach))
			return PTR_ERR(attach);
		ctx->spread[ctx->nr_spread++] = attach;
	}
	for (i = 0; i < nr; i++) {
		ret = iit_bench_map_spread(ctx);
		if (ret)
			return ret;
	}
	return 0;
}

static const iit_bench_fn iit_bench_fns[] = {
	[IIT_BENCH_LOCK] = iit_bench_lock,
	[IIT_BENCH_MAP] = iit_bench_map,
	[IIT_BENCH_ATTACH] = iit_bench_attach_detach,
	[IIT_BENCH_PIN] = iit_bench_pin,
	[IIT_BENCH_VMAP] = iit_bench_vmap,
	[IIT_BENCH_CPU] = iit_bench_cpu,
};

/* The timed loop. Returns 0 or the first error an iteration saw. */
static int iit_bench_loop(struct iit_bench_ctx *ctx, iit_bench_fn fn,
			  u32 iters, u64 *ns)
{
	ktime_t start = ktime_get();
	int ret = 0;
	u32 i;

	for (i = 0; i < iters; i++) {
		ret = fn(ctx);
		if (ret)
			break;
		if (i % IIT_BENCH_RESCHED == IIT_BENCH_RESCHED - 1) {
			cond_resched();
			if (fatal_signal_pending(current)) {
				ret = -EINTR;
				break;
			}
		}
	}
	*ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	return ret;
}

static long iit_bench_run(struct iit_bench *args)
{
	struct iit_bench_ctx ctx = {
		.is_static = args->flags & IIT_BENCH_STATIC,
	};
	bool need_attach = args->op == IIT_BENCH_MAP ||
			   args->op == IIT_BENCH_PIN;
	iit_bench_fn fn;
	u64 ns = 0;
	int ret;
	u32 i;

	if ((args->flags & ~IIT_BENCH_STATIC) ||
	    !args->op || args->op >= ARRAY_SIZE(iit_bench_fns) ||
	    !args->iters || args->iters > IIT_BENCH_MAX_ITERS ||
	    args->spread > IIT_BENCH_MAX_SPREAD ||
	    (args->spread > 1 && args->op != IIT_BENCH_MAP))
		return -EINVAL;
	/* Only dynamic importers pin; only attaching ops have a kind. */
	if (ctx.is_static && args->op != IIT_BENCH_MAP &&
	    args->op != IIT_BENCH_ATTACH)
		return -EINVAL;

	ctx.dmabuf = dma_buf_get(args->fd);
	if (IS_ERR(ctx.dmabuf))
		return PTR_ERR(ctx.dmabuf);
	fn = iit_bench_fns[args->op];
	if (args->spread > 1) {
		fn = iit_bench_map_spread;
		ret = iit_bench_spread(&ctx, args->spread);
		if (ret)
			goto out_detach;
	} else if (need_attach) {
		ctx.attach = iit_bench_attach(&ctx);
		if (IS_ERR(ctx.attach)) {
			ret = PTR_ERR(ctx.attach);
			goto out_put;
		}
	}

	ret = iit_bench_loop(&ctx, fn, args->iters, &ns);
	args->ns = ns;

	if (ctx.attach && !ctx.spread)
		dma_buf_detach(ctx.dmabuf, ctx.attach);
out_detach:
	for (i = 0; i < ctx.nr_spread; i++)
		dma_buf_detach(ctx.dmabuf, ctx.spread[i]);
	kvfree(ctx.spread);
out_put:
	dma_buf_put(ctx.dmabuf);
	return ret;
}

/*
 * Dispatched from iit_ioctl() before the IOAS's ops_lock: the benchmark
 * touches no IOAS state, and two threads must be able to run it at once
 * (the two-thread scaling case). Argument size rules as iit_copy_in().
 */
long iit_bench(void __user *uarg)
{
	struct iit_bench args;
	u32 usize;
	long ret;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < sizeof(args))
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(&args, sizeof(args), uarg, usize);
	if (ret)
		return ret;
	ret = iit_bench_run(&args);
	if (ret)
		return ret;
	return copy_to_user(uarg, &args, sizeof(args)) ? -EFAULT : 0;
}
