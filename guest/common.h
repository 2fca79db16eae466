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
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
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

/*
 * The two targets every program queues to, both pinned to CPU 1: a thread
 * spinning in user space that makes no syscalls, and one asleep in read()
 * on a pipe (TASK_INTERRUPTIBLE). SIGUSR1 has a no-op SA_RESTART handler:
 * a signal only makes a target enter the kernel and run its task_work.
 */
static atomic_int spin_stop, spinner_tid, sleeper_tid;
static int sleeper_pipe[2];
static pthread_t target_threads[2];

/*
 * Paced spinning, for races.c's unload cycles: the spinner spins until
 * spin_until (now_s() clock, 0: for ever) and then sleeps on a futex until
 * spin_for_ms() or spin_always(). A spinner that never stops keeps its
 * vCPU busy through every rmmod's RCU-tasks grace period, which under TCG
 * costs a host CPU for nothing.
 */
static _Atomic double spin_until;
static atomic_int spin_gen;

static void spin_wake(void)
{
	atomic_fetch_add(&spin_gen, 1);
	syscall(SYS_futex, (int *)&spin_gen, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static inline void spin_for_ms(int ms)
{
	atomic_store(&spin_until, now_s() + ms / 1000.0);
	spin_wake();
}

static inline void spin_always(void)
{
	atomic_store(&spin_until, 0);
	spin_wake();
}

static void *spinner(void *arg)
{
	(void)arg;
	pin(1);
	atomic_store(&spinner_tid, (int)syscall(SYS_gettid));
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed)) {
		int gen = atomic_load(&spin_gen);
		double until = atomic_load_explicit(&spin_until, memory_order_relaxed);

		if (until != 0 && now_s() > until)
			syscall(SYS_futex, (int *)&spin_gen, FUTEX_WAIT_PRIVATE, gen, NULL,
				NULL, 0);
	}
	return NULL;
}

static void *sleeper(void *arg)
{
	char c;

	(void)arg;
	pin(1);
	atomic_store(&sleeper_tid, (int)syscall(SYS_gettid));
	while (read(sleeper_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static inline int targets_start(void)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };

	sigaction(SIGUSR1, &sa, NULL);
	if (pipe(sleeper_pipe) ||
	    pthread_create(&target_threads[0], NULL, spinner, NULL) ||
	    pthread_create(&target_threads[1], NULL, sleeper, NULL))
		return -1;
	while (!atomic_load(&spinner_tid) || !atomic_load(&sleeper_tid))
		sleep_ms(1);
	return 0;
}

static inline int targets_stop(void)
{
	atomic_store(&spin_stop, 1);
	spin_always();
	if (write(sleeper_pipe[1], "x", 1) != 1)
		return -1;
	pthread_join(target_threads[0], NULL);
	pthread_join(target_threads[1], NULL);
	return 0;
}

/*
 * Wait until thread @tid of this process is asleep (state S in
 * /proc/self/task/TID/stat); 1 once it is, 0 after @timeout_ms. A sleeper
 * that has just run an item is still on its way back into read(): an item
 * queued then finds it running, so a signal mode kicks instead of waking,
 * and TWA_RESUME work runs on that way back.
 */
static inline int wait_asleep(int tid, int timeout_ms)
{
	char path[64], line[512], *paren;
	double end = now_s() + timeout_ms / 1000.0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	do {
		FILE *f = fopen(path, "r");
		int n = f ? (int)fread(line, 1, sizeof(line) - 1, f) : 0;

		if (f)
			fclose(f);
		line[n > 0 ? n : 0] = '\0';
		paren = strrchr(line, ')');
		if (paren && paren[1] == ' ' && paren[2] == 'S')
			return 1;
	} while (now_s() < end);
	return 0;
}

static inline void signal_tid(int tid)
{
	syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
}

#endif
