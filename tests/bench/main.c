// SPDX-License-Identifier: GPL-2.0
/*
 * revoke_bench: what the dmabuf-revoke shim costs, measured side by side in
 * one VM run (`make bench`, which boots a kernel under QEMU and runs
 * tests/guest/bench.sh; see README.md "Performance").
 *
 * usage: revoke_bench [-r REPEATS] [-t SAMPLE_MS] [-s SIZE] [-m BUFFERS]
 *                     [-o DIR] [-S SECTIONS] [-q]
 *
 * Method. Absolute times under TCG mean little, so every shim cost is a
 * ratio against the same operation on a plain dma_buf_export() of the same
 * exporter (vfio_revoke_exporter with VRE_EXPORT_PLAIN), the physical limit
 * of "zero added cost":
 *   - hot paths (hot.c) run inside the kernel (IIT_IOC_BENCH, ktime), so the
 *     syscall is not part of the number; the user mmap round trip is timed
 *     from user space because the user path is the point there;
 *   - managed and plain samples are interleaved (alternating which goes
 *     first) and each repeat yields one managed/plain ratio of two samples
 *     taken back to back, so drift and a noisy neighbour hit both sides;
 *   - a sample is the fastest of 20 short runs (SAMPLE_MS in all, managed
 *     and plain alternating run by run): interference from the host only
 *     adds time, so the fastest run is the least disturbed; a point is
 *     REPEATS samples (default 9, at least 5): median, min, max;
 *   - a control row (the resv lock/unlock the loops themselves do) has a
 *     true ratio of 1.00; its spread is the noise floor of the run.
 * Revoke latency (revoke.c) is fitted by least squares into a fixed part
 * and a per-attachment part, memory (memory.c) is read from /proc/slabinfo,
 * scaling (scaling.c) compares two threads on two buffers with one, and
 * batch.c revokes N buffers in one call (device reset, REVOKE_BATCH) next
 * to one REVOKE of one buffer.
 *
 * Output: the table on stdout (and -o DIR/table.txt), and with -o the
 * machine-readable DIR/summary.csv, DIR/samples.csv, DIR/results.json and
 * DIR/targets.tsv (the Targets table: what, op, limit, unit, measured,
 * verdict).
 * Progress lines start with "# " and go to stderr. Exit status 0 when every
 * case ran (targets missed are results, not failures), 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct bench_opts opt = {
	.repeats = 9,
	.sample_ms = 100,
	.size = 64 << 10,
	.mem_buffers = 2000,
};

static FILE *table, *samples, *summary, *json, *targets, *targets_tsv;
static char *table_buf, *samples_buf, *summary_buf, *json_buf, *targets_buf;
static char *tsv_buf;
static size_t table_len, samples_len, summary_len, json_len, targets_len;
static size_t tsv_len;
static unsigned int json_rows;

double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

void progress(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void tprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(table, fmt, ap);
	va_end(ap);
}

void sample_out(const char *section, const char *c, const char *variant,
		double param, unsigned int repeat, double value,
		const char *unit)
{
	fprintf(samples, "%s,%s,%s,%g,%u,%.6g,%s\n", section, c, variant,
		param, repeat, value, unit);
}

/* JSON numbers cannot be NaN or infinite. */
static void json_num(const char *key, double v, bool comma)
{
	if (isfinite(v))
		fprintf(json, "\"%s\": %.6g%s", key, v, comma ? ", " : "");
	else
		fprintf(json, "\"%s\": null%s", key, comma ? ", " : "");
}

void summary_out(const char *metric, double param, const struct series *s,
		 double value, const char *unit, double target,
		 const char *verdict)
{
	double med = s ? series_median(s) : value;
	double lo = s ? series_min(s) : value, hi = s ? series_max(s) : value;

	fprintf(summary, "%s,%g,%.6g,%.6g,%.6g,%s,", metric, param, med, lo,
		hi, unit);
	if (target)
		fprintf(summary, "%g", target);
	fprintf(summary, ",%s\n", verdict ? verdict : "");

	fprintf(json, "%s\n    {\"metric\": \"%s\", ", json_rows++ ? "," : "",
		metric);
	json_num("param", param, true);
	json_num("median", med, true);
	json_num("min", lo, true);
	json_num("max", hi, true);
	fprintf(json, "\"samples\": %u, \"unit\": \"%s\", ", s ? s->n : 1,
		unit);
	if (target)
		json_num("target", target, true);
	fprintf(json, "\"verdict\": \"%s\"}", verdict ? verdict : "");
}

void target_out(const char *what, const char *target, const char *measured,
		bool met, const char *miss)
{
	char op[3] = "", unit[16] = "", *end;
	double limit = 0, value;

	fprintf(targets, "  %-36s %-12s %-20s %s%s%s\n", what, target, measured,
		met ? "met" : "MISSED", met || !miss ? "" : " by ",
		met || !miss ? "" : miss);
	/*
	 * targets.tsv, for scripts/bench.sh to judge a median over boots:
	 * every target reads "<= LIMIT[UNIT]" or ">= LIMIT[UNIT]" and every
	 * measurement starts with its number ("n/a" when not measured).
	 */
	if (sscanf(target, "%2s %lf%15s", op, &limit, unit) < 2)
		op[0] = '\0';
	value = strtod(measured, &end);
	fprintf(targets_tsv, "%s\t%s\t%g\t%s\t", what, op, limit, unit);
	if (end != measured)
		fprintf(targets_tsv, "%.6g", value);
	fprintf(targets_tsv, "\t%s\n", met ? "met" : "missed");
}

int kbench_spread(int ioas, int fd, unsigned int op, unsigned int flags,
		 unsigned int spread, unsigned int iters, double *ns_per_op)
{
	struct iit_bench b = {
		.size = sizeof(b), .flags = flags, .fd = fd, .op = op,
		.iters = iters, .spread = spread,
	};

	if (ioctl(ioas, IIT_IOC_BENCH, &b))
		return -errno;
	*ns_per_op = (double)b.ns / iters;
	return 0;
}

int kbench(int ioas, int fd, unsigned int op, unsigned int flags,
	   unsigned int iters, double *ns_per_op)
{
	return kbench_spread(ioas, fd, op, flags, 0, iters, ns_per_op);
}

static void header(void)
{
	struct dmabuf_revoke_version v;
	struct utsname u;
	char model[128] = "?", line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && p) {
			snprintf(model, sizeof(model), "%s", p + 2);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	if (drs_version(&v))
		memset(&v, 0, sizeof(v));

	tprintf("dmabuf-revoke benchmark: kernel %s, %ld vCPUs (%s)\n",
		u.release, sysconf(_SC_NPROCESSORS_ONLN), model);
	tprintf("shim ABI %u.%u; %u repeats per point, ~%.0f ms per sample; "
		"managed/plain samples interleaved\n", v.major, v.minor,
		opt.repeats, opt.sample_ms);
	tprintf("numbers are median [min-max] over the repeats, or median "
		"+-half that range in %%;\na ratio is managed/plain of one "
		"repeat's pair; \"added\" is median managed - median plain\n");

	fprintf(json, "{\n  \"kernel\": \"%s\", \"vcpus\": %ld, "
		"\"cpu\": \"%s\", \"abi\": \"%u.%u\", \"repeats\": %u, "
		"\"sample_ms\": %g, \"buffer_bytes\": %zu,\n  \"results\": [",
		u.release, sysconf(_SC_NPROCESSORS_ONLN), model, v.major,
		v.minor, opt.repeats, opt.sample_ms, opt.size);
	fprintf(summary, "metric,param,median,min,max,unit,target,verdict\n");
	fprintf(targets_tsv, "what\top\tlimit\tunit\tmeasured\tverdict\n");
	fprintf(samples, "section,case,variant,param,repeat,value,unit\n");
}

static int write_file(const char *dir, const char *name, const char *buf,
		      size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "revoke_bench: cannot write %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Empty last columns leave blanks before the newline: drop them. */
static void strip_trailing_blanks(char *buf, size_t *len)
{
	size_t i, o = 0, blanks = 0;

	for (i = 0; i < *len; i++) {
		if (buf[i] == ' ') {
			blanks++;
			continue;
		}
		if (buf[i] != '\n')
			for (; blanks; blanks--)
				buf[o++] = ' ';
		blanks = 0;
		buf[o++] = buf[i];
	}
	buf[o] = 0;
	*len = o;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: revoke_bench [-r REPEATS] [-t SAMPLE_MS] [-s SIZE] [-m BUFFERS] [-o DIR]\n"
		"                    [-S SECTIONS] [-q]\n"
		"  -r  samples per point (5..%d, default 9)\n"
		"  -t  target wall time of one timed sample in ms (default 100)\n"
		"  -s  buffer size of the hot-path cases in bytes (default 65536)\n"
		"  -m  buffers per memory sample (default 2000)\n"
		"  -o  write table.txt, summary.csv, samples.csv, results.json there\n"
		"  -S  run only these sections, comma-separated: hot, revoke, memory,\n"
		"      scaling, batch (default: all)\n"
		"  -q  quick smoke run: 5 repeats, short samples, fewer points\n",
		MAX_REPEATS);
	exit(2);
}

/* Is section @name one to run (-S)? */
static bool want(const char *name)
{
	const char *p = opt.sections;
	size_t len = strlen(name);

	if (!p)
		return true;
	while ((p = strstr(p, name))) {
		if ((p == opt.sections || p[-1] == ',') &&
		    (p[len] == ',' || !p[len]))
			return true;
		p += len;
	}
	return false;
}

int main(int argc, char **argv)
{
	static const char *const known[] = {
		"hot", "revoke", "memory", "scaling", "batch",
	};
	const char *outdir = NULL;
	struct rlimit rl;
	int c, fails = 0;

	while ((c = getopt(argc, argv, "r:t:s:m:o:S:q")) != -1) {
		switch (c) {
		case 'r':
			opt.repeats = strtoul(optarg, NULL, 0);
			break;
		case 't':
			opt.sample_ms = strtod(optarg, NULL);
			break;
		case 's':
			opt.size = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			opt.mem_buffers = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'S':
			opt.sections = optarg;
			break;
		case 'q':
			opt.quick = true;
			opt.repeats = 5;
			opt.sample_ms = 20;
			opt.mem_buffers = 500;
			break;
		default:
			usage();
		}
	}
	if (opt.repeats < 1 || opt.repeats > MAX_REPEATS ||
	    !(opt.sample_ms > 0) || !opt.size || opt.size % PAGE ||
	    !opt.mem_buffers || optind != argc)
		usage();
	if (opt.repeats < 5)
		progress("warning: %u repeats; the issue asks for at least 5",
			 opt.repeats);
	if (opt.sections) {
		unsigned int n = 0;

		for (c = 0; c < (int)(sizeof(known) / sizeof(known[0])); c++)
			n += want(known[c]);
		if (!n)
			usage();
	}

	/* The memory and batch cases hold one fd per buffer. */
	rl.rlim_cur = rl.rlim_max = (opt.mem_buffers > BATCH_MAX_BUFFERS ?
				     opt.mem_buffers : BATCH_MAX_BUFFERS) + 256;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		progress("setrlimit(NOFILE): %s", strerror(errno));

	table = open_memstream(&table_buf, &table_len);
	samples = open_memstream(&samples_buf, &samples_len);
	summary = open_memstream(&summary_buf, &summary_len);
	json = open_memstream(&json_buf, &json_len);
	targets = open_memstream(&targets_buf, &targets_len);
	targets_tsv = open_memstream(&tsv_buf, &tsv_len);
	if (!table || !samples || !summary || !json || !targets ||
	    !targets_tsv)
		return 1;
	header();

	if (want("hot"))
		fails += bench_hot() != 0;
	if (want("revoke"))
		fails += bench_revoke() != 0;
	if (want("memory"))
		fails += bench_memory() != 0;
	if (want("scaling"))
		fails += bench_scaling() != 0;
	if (want("batch"))
		fails += bench_batch() != 0;

	fflush(targets);
	tprintf("\n== Targets (issues 8, 13 and 14) ==\n");
	tprintf("  %-36s %-12s %-20s %s\n", "what", "target", "measured",
		"verdict");
	tprintf("%s", targets_buf ? targets_buf : "");
	if (fails)
		tprintf("\n%d section(s) failed to run; see the lines starting "
			"with \"# \" above\n", fails);
	fprintf(json, "\n  ],\n  \"failed_sections\": %d\n}\n", fails);

	fclose(table);
	strip_trailing_blanks(table_buf, &table_len);
	fclose(samples);
	fclose(summary);
	fclose(json);
	fclose(targets_tsv);
	fputs(table_buf, stdout);
	fflush(stdout);
	if (outdir) {
		mkdir(outdir, 0755);
		if (write_file(outdir, "table.txt", table_buf, table_len) ||
		    write_file(outdir, "samples.csv", samples_buf, samples_len) ||
		    write_file(outdir, "summary.csv", summary_buf, summary_len) ||
		    write_file(outdir, "results.json", json_buf, json_len) ||
		    write_file(outdir, "targets.tsv", tsv_buf, tsv_len))
			fails++;
	}
	return fails ? 1 : 0;
}
