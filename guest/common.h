/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the guest test programs: the module's debugfs files,
 * CPU pinning, sleeping, TAP-style checks. Header-only: each program is one
 * static binary built from one .c file.
 */
#ifndef TWA_GUEST_COMMON_H
#define TWA_GUEST_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TWA_DIR "/sys/kernel/debug/twa_noipi/"

static int ntest, nfail;

static inline void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		nfail++;
}

/* Write one command; 0 or -errno. */
static inline int ctl_raw(const char *buf, size_t len)
{
	int fd = open(TWA_DIR "control", O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static inline int ctl(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return ctl_raw(buf, (size_t)len);
}

static inline long long stat_get(const char *key)
{
	char k[64];
	long long v, r = -1;
	FILE *f = fopen(TWA_DIR "stats", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", k, &v) == 2)
		if (!strcmp(k, key))
			r = v;
	fclose(f);
	return r;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Poll until run >= queued and nothing is outstanding; 1 on success. */
static inline int wait_settled(int timeout_ms)
{
	int ms;

	for (ms = 0; ms < timeout_ms; ms += 5) {
		if (stat_get("outstanding") == 0 && stat_get("run") >= stat_get("queued"))
			return 1;
		sleep_ms(5);
	}
	return 0;
}

#endif
