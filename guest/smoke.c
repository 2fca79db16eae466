// SPDX-License-Identifier: GPL-2.0
/*
 * twa-noipi smoke test, run as root inside the test guest with the module
 * loaded. Queues every mode x impl to a task spinning in user space on
 * CPU 1 and to a task asleep interruptibly, checks every item ran and the
 * counters balance, then checks error codes and malformed input.
 * Prints TAP; exits non-zero if any check failed.
 */
#include "common.h"

#include <stdlib.h>

#define ITEMS 20

static int feature_is(const char *key, const char *val)
{
	char line[256], k[64], v[128];
	int r = 0;
	FILE *f = fopen(TWA_DIR "features", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %127s", k, v) == 2 && !strcmp(k, key))
			r = !strcmp(v, val);
	fclose(f);
	return r;
}

/*
 * Wait until @want items have run. Items that wait for the target's next
 * kernel entry get one from a signal (get_signal() runs task_work): from
 * @flush_after_ms on, send SIGUSR1 every 50 ms; -1 never.
 */
static int wait_run(long long want, int tid, int flush_after_ms)
{
	int ms;

	for (ms = 0; ms < 10000; ms++) {
		if (stat_get("run") >= want)
			return 1;
		if (flush_after_ms >= 0 && ms >= flush_after_ms && ms % 50 == 0)
			signal_tid(tid);
		sleep_ms(1);
	}
	return 0;
}

static const char *const modes[] = { "none", "resume", "signal", "signal_no_ipi" };
static const char *const impls[] = { "auto", "native", "backport" };

static int native_has(const char *mode)
{
	return strcmp(mode, "signal_no_ipi") || feature_is("native_signal_no_ipi", "yes");
}

/*
 * Does @mode leave @target alone until something else makes it enter the
 * kernel? TWA_NONE sets no flag at all; TWA_RESUME sets TIF_NOTIFY_RESUME
 * and kicks a running task but, unlike the signal modes, wakes no sleeper.
 */
static int held_until_flushed(const char *target, const char *mode)
{
	return !strcmp(mode, "none") ||
	       (!strcmp(mode, "resume") && !strcmp(target, "sleeper"));
}

/* Queue ITEMS items one at a time to @tid and check what happened. */
static void scenario(const char *target, int tid, const char *mode, const char *impl)
{
	int i, ret = 0, ran = 1, held = 0, sleeping = !strcmp(target, "sleeper");
	int hold = held_until_flushed(target, mode);
	long long kicks, wakeups;

	if (!strcmp(impl, "native") && !native_has(mode)) {
		ret = ctl("queue tid=%d mode=%s impl=native", tid, mode);
		check(ret == -EOPNOTSUPP, "%s %s/%s: native mode missing gives EOPNOTSUPP (got %d)",
		      target, mode, impl, ret);
		return;
	}
	ret = ctl("reset");
	check(ret == 0, "%s %s/%s: reset before the scenario (got %d)", target, mode, impl, ret);
	for (i = 0; i < ITEMS && !ret && ran; i++) {
		if (sleeping && !wait_asleep(tid, 3000)) {
			check(0, "%s %s/%s: sleeper asleep before item %d", target, mode, impl, i);
			break;
		}
		ret = ctl("queue tid=%d mode=%s impl=%s", tid, mode, impl);
		if (hold && !ret) {
			sleep_ms(30);
			held += stat_get("run") == i;
		}
		ran = !ret && wait_run(i + 1, tid, hold ? 0 : -1);
	}
	/*
	 * A spinner also enters the kernel for other task_work: since 6.4 the
	 * tick queues an mm_cid scan (TWA_RESUME) about every 100 ms, which
	 * runs our pending TWA_NONE items too. So a spinner must hold at least
	 * half; a sleeper all but one.
	 */
	if (hold)
		check(held >= (sleeping ? ITEMS - 1 : ITEMS / 2),
		      "%s %s/%s: items wait for the next kernel entry (%d of %d still pending after 30 ms; need %d)",
		      target, mode, impl, held, ITEMS, sleeping ? ITEMS - 1 : ITEMS / 2);
	kicks = stat_get("kicks");
	wakeups = stat_get("wakeups");
	check(!ret && ran, "%s %s/%s: %d items queued one at a time all ran (ret %d)",
	      target, mode, impl, ITEMS, ret);
	check(stat_get("queued") == ITEMS && stat_get("run") == ITEMS &&
	      stat_get("outstanding") == 0 && stat_get("failed") == 0,
	      "%s %s/%s: counters balance (queued %lld run %lld outstanding %lld failed %lld)",
	      target, mode, impl, stat_get("queued"), stat_get("run"),
	      stat_get("outstanding"), stat_get("failed"));
	printf("# counts target=%s mode=%s impl=%s items=%d run=%lld kicks=%lld wakeups=%lld queue_ns=%lld latency_ns=%lld\n",
	       target, mode, impl, ITEMS, stat_get("run"), kicks, wakeups,
	       stat_get("queue_ns"), stat_get("latency_ns"));
	/* What the backport path did is counted; the native path counts none. */
	if (!strcmp(impl, "backport") || (!strcmp(impl, "auto") && !native_has(mode))) {
		if (!strcmp(mode, "signal_no_ipi") || !strcmp(mode, "none"))
			check(kicks == 0, "%s %s/%s: backport sent no kick (%lld)",
			      target, mode, impl, kicks);
		/* Exact: each item was queued once the sleeper was asleep. */
		if (sleeping && strstr(mode, "signal"))
			check(wakeups == ITEMS && kicks == 0,
			      "%s %s/%s: sleeper woken, not kicked (wakeups %lld kicks %lld)",
			      target, mode, impl, wakeups, kicks);
		if (!sleeping && !strcmp(mode, "signal"))
			check(kicks >= ITEMS - 1, "%s %s/%s: spinner kicked per item (%lld)",
			      target, mode, impl, kicks);
	}
}

static void errors(int spin_tid, int sleep_tid)
{
	static const char *const bad[] = {
		"\n", " ", "queue", "queue tid=abc mode=signal", "queue tid=1 mode=bogus",
		"queue mode=signal", "queue tid=1", "queue tid=-5 mode=signal",
		"queue tid=1 mode=signal impl=magic", "queue tid=1 mode=signal count=0",
		"queue tid=1 mode=signal count=99999999",
		"queue tid=99999999999999999999 mode=signal", "queue tid=1 mode=signal x",
		"bogus", "mark extra", "reset now", "queue tid=1 mode=signal bad=1",
	};
	char longline[400], nul[] = "queue tid=1\0mode=signal";
	long long before = stat_get("queued"), failed = stat_get("failed");
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ret = ctl_raw(bad[i], strlen(bad[i]));
		check(ret == -EINVAL, "malformed \"%s\" gives EINVAL (got %d)", bad[i], ret);
	}
	ret = ctl_raw(nul, sizeof(nul) - 1);
	check(ret == -EINVAL, "embedded NUL gives EINVAL (got %d)", ret);
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "queue ", 6);
	ret = ctl_raw(longline, sizeof(longline));
	check(ret == -EINVAL, "400-byte line gives EINVAL (got %d)", ret);
	check(stat_get("queued") == before && stat_get("failed") == failed,
	      "malformed input changed no counter");

	ret = ctl("queue tid=999999 mode=signal");
	check(ret == -ESRCH, "missing tid gives ESRCH (got %d)", ret);
	ret = ctl("queue tid=2 mode=signal");
	check(ret == -EINVAL, "kernel thread (kthreadd) gives EINVAL (got %d)", ret);
	check(stat_get("failed_esrch") == 1 && stat_get("failed_einval") == 1,
	      "failures counted by errno");

	/*
	 * A TWA_NONE item to a sleeper stays pending until flushed: once the
	 * sleeper is back in read(). Still on its way back from the last
	 * scenario's item, it would run the item on the way (and rmmod would
	 * then succeed).
	 */
	check(wait_asleep(sleep_tid, 3000), "sleeper asleep before the pending-item checks");
	ret = ctl("queue tid=%d mode=none", sleep_tid);
	check(ret == 0 && stat_get("outstanding") == 1, "none item to sleeper stays pending");
	ret = ctl("reset");
	check(ret == -EBUSY, "reset with an item pending gives EBUSY (got %d)", ret);
	ret = (int)syscall(SYS_delete_module, "twa_noipi", O_NONBLOCK);
	check(ret < 0 && (errno == EWOULDBLOCK || errno == EBUSY),
	      "rmmod refused while an item is pending (errno %d)", ret < 0 ? errno : 0);
	signal_tid(sleep_tid);
	check(wait_run(stat_get("queued"), sleep_tid, 0), "pending item ran after a signal");
	check(ctl("mark") == 0, "mark accepted");
	check(ctl("reset") == 0, "reset accepted once nothing is pending");
	(void)spin_tid;
}

int main(void)
{
	unsigned int m, i;
	char line[256];
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	f = fopen(TWA_DIR "features", "r");
	check(f != NULL, "features readable");
	while (f && fgets(line, sizeof(line), f))
		printf("# feature %s", line);
	if (f)
		fclose(f);
	pin(0);
	if (targets_start())
		return 1;
	sleep_ms(50);

	for (m = 0; m < 4; m++)
		for (i = 0; i < 3; i++) {
			scenario("spinner", spinner_tid, modes[m], impls[i]);
			scenario("sleeper", sleeper_tid, modes[m], impls[i]);
		}
	errors(spinner_tid, sleeper_tid);

	if (targets_stop())
		return 1;
	printf("1..%d\n", ntest);
	printf("# smoke: %d passed, %d failed\n", ntest - nfail, nfail);
	return nfail ? 1 : 0;
}
