// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the module's debugfs protocol for a bounded time: random bytes and
 * grammar-aware commands (huge, negative and overflowing numbers, embedded
 * NULs, partial writes, very long lines, unknown and repeated keys, every
 * kind of target). Every write must succeed or fail with a documented
 * errno; afterwards every queued item must run and the counters balance.
 *
 * Usage: fuzz [SECONDS [SEED]]   (defaults: 20 s, seed from the clock)
 */
#include "common.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the printed seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned int pick(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A value for key @k: valid, boundary, or hostile. */
static void value(char *out, size_t n, const char *k)
{
	static const char *const modes[] = {
		"none", "resume", "signal", "signal_no_ipi", "", "SIGNAL",
		"signal_no_ipi2", "signal no_ipi", "\xff\xfe",
	};
	static const char *const impls[] = {
		"auto", "native", "backport", "", "Native", "backport\x01",
	};
	static const char *const nums[] = {
		"0", "1", "2", "3", "100", "65535", "65536", "65537", "-1", "-2147483648",
		"2147483647", "2147483648", "4294967295", "4294967296",
		"99999999999999999999999", "0x10", "010", " 5", "5 ", "+5", "1e3", "",
		"18446744073709551615", "18446744073709551616",
	};

	if (!strcmp(k, "mode")) {
		snprintf(out, n, "%s", modes[pick(ARRAY_SIZE(modes))]);
	} else if (!strcmp(k, "impl")) {
		snprintf(out, n, "%s", impls[pick(ARRAY_SIZE(impls))]);
	} else if (!strcmp(k, "tid")) {
		/* Real targets often, so queueing really happens. */
		int real[] = { atomic_load(&spinner_tid), atomic_load(&sleeper_tid),
			       (int)syscall(SYS_gettid), 1, 2 };

		if (pick(3))
			snprintf(out, n, "%d", real[pick(ARRAY_SIZE(real))]);
		else
			snprintf(out, n, "%s", nums[pick(ARRAY_SIZE(nums))]);
	} else if (!strcmp(k, "count")) {
		/* Mostly small: a count of 65536 to ourselves runs 65536 items. */
		static const char *const small[] = { "1", "2", "7", "64" };

		if (pick(8))
			snprintf(out, n, "%s", small[pick(ARRAY_SIZE(small))]);
		else
			snprintf(out, n, "%s", nums[pick(ARRAY_SIZE(nums))]);
	} else {
		snprintf(out, n, "%s", nums[pick(ARRAY_SIZE(nums))]);
	}
}

/* A command from the grammar, with mistakes thrown in. */
static size_t grammar(char *buf, size_t cap)
{
	static const char *const keys[] = { "tid", "mode", "impl", "count", "tid",
					     "mode", "bogus", "TID", "", "count" };
	static const char *const cmds[] = { "queue", "queue", "queue", "queue", "mark",
					    "reset", "Queue", "queue\t", "", "mark now" };
	static const char *const seps[] = { " ", " ", "  ", "\t", "", "=" };
	size_t len;
	unsigned int i, nkeys = pick(6);

	len = (size_t)snprintf(buf, cap, "%s", cmds[pick(ARRAY_SIZE(cmds))]);
	for (i = 0; i < nkeys && len < cap - 1; i++) {
		char v[64];
		const char *k = keys[pick(ARRAY_SIZE(keys))];

		value(v, sizeof(v), k);
		len += (size_t)snprintf(buf + len, cap - len, "%s%s%s%s",
					seps[pick(ARRAY_SIZE(seps))], k, pick(10) ? "=" : "", v);
	}
	if (len >= cap)
		len = cap - 1;
	if (pick(3) == 0 && len < cap - 1)
		buf[len++] = '\n';
	return len;
}

/* Flip, truncate, or splice a NUL into a grammar command. */
static size_t mutate(char *buf, size_t len, size_t cap)
{
	switch (pick(4)) {
	case 0:
		if (len)
			buf[pick((unsigned int)len)] ^= (char)(1u << pick(8));
		break;
	case 1:
		if (len)
			len = pick((unsigned int)len + 1);
		break;
	case 2:
		if (len)
			buf[pick((unsigned int)len)] = '\0';
		break;
	default:
		while (len < cap && pick(4))
			buf[len++] = (char)pick(256);
		break;
	}
	return len;
}

static int allowed(int err)
{
	return err == EINVAL || err == ESRCH || err == EOPNOTSUPP || err == EBUSY ||
	       err == ENOMEM;
}

struct tally {
	long writes, ok, einval, esrch, eopnotsupp, ebusy, enomem, partial, longline, bad;
};

static void count(struct tally *t, int err)
{
	t->writes++;
	switch (err) {
	case 0: t->ok++; break;
	case EINVAL: t->einval++; break;
	case ESRCH: t->esrch++; break;
	case EOPNOTSUPP: t->eopnotsupp++; break;
	case EBUSY: t->ebusy++; break;
	case ENOMEM: t->enomem++; break;
	default: t->bad++; break;
	}
}

static int write_cmd(const char *buf, size_t len)
{
	return -ctl_raw(buf, len);
}

/* A write at a nonzero offset continues nothing: it must be refused. */
static int partial_write(const char *buf, size_t len)
{
	int fd = open(TWA_DIR "control", O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return errno;
	n = pwrite(fd, buf, len, 1 + pick(16));
	err = n < 0 ? errno : 0;
	close(fd);
	return err;
}

/*
 * Signals run pending task_work, even TWA_NONE's (get_signal()). PID 1
 * (our init, asleep in wait4) ignores signals, and mutated commands reach
 * it too (a bit flip turns tid=3 into tid=1): a signal-mode item of our
 * own wakes it, and its task_work_run() runs whatever else is pending.
 */
static void flush_targets(void)
{
	signal_tid(atomic_load(&spinner_tid));
	signal_tid(atomic_load(&sleeper_tid));
	signal_tid((int)syscall(SYS_gettid));
	ctl("queue tid=1 mode=signal");
}

/* A well-formed queue command, so that items really get queued. */
static size_t valid(char *buf, size_t cap)
{
	static const char *const modes[] = { "none", "resume", "signal", "signal_no_ipi" };
	static const char *const impls[] = { "auto", "native", "backport" };
	int tids[] = { atomic_load(&spinner_tid), atomic_load(&sleeper_tid),
		       (int)syscall(SYS_gettid) };

	return (size_t)snprintf(buf, cap, "queue tid=%d mode=%s impl=%s count=%u",
				tids[pick(3)], modes[pick(4)], impls[pick(3)], 1 + pick(16));
}

int main(int argc, char **argv)
{
	static char buf[70000];
	double secs = argc > 1 ? atof(argv[1]) : 20, end, t0, fuzz_secs;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)(now_s() * 1e6);
	struct tally t = { 0 };
	long long failed_before;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rng_state = seed ? seed : 1;
	printf("# fuzz: %.0f s, seed %llu (fuzz %.0f %llu reproduces)\n", secs,
	       (unsigned long long)seed, secs, (unsigned long long)seed);
	pin(0);
	if (targets_start())
		return 1;
	check(ctl("reset") == 0, "reset before fuzzing");
	failed_before = stat_get("failed");

	/*
	 * SECONDS, or longer (up to 4x) until 1000 writes: a debug kernel on
	 * a loaded host managed 865 in 15 s.
	 */
	t0 = now_s();
	end = t0 + secs;
	while (now_s() < end || (t.writes <= 1000 && now_s() < t0 + 4 * secs)) {
		size_t len;
		int err;

		switch (pick(10)) {
		case 0: /* random bytes, NULs included */
			len = pick(300);
			for (size_t i = 0; i < len; i++)
				buf[i] = (char)pick(256);
			err = write_cmd(buf, len);
			break;
		case 1: /* very long line */
			len = 256 + pick(65000);
			memset(buf, 'x', len);
			memcpy(buf, "queue tid=1 mode=signal ", 24);
			err = write_cmd(buf, len);
			t.longline++;
			if (err != EINVAL)
				check(0, "long line of %zu bytes gave %d", len, err);
			break;
		case 2: /* partial write */
			len = grammar(buf, 200);
			err = partial_write(buf, len);
			t.partial++;
			if (err != EINVAL && len)
				check(0, "write at an offset gave %d", err);
			break;
		case 3: /* well-formed */
			len = valid(buf, 250);
			err = write_cmd(buf, len);
			break;
		case 4: /* mutated grammar */
			len = grammar(buf, 200);
			len = mutate(buf, len, 250);
			err = write_cmd(buf, len);
			break;
		default: /* grammar */
			len = grammar(buf, 250);
			err = write_cmd(buf, len);
			break;
		}
		if (len == 0 && err == 0)
			err = 0; /* an empty write is a no-op, not a command */
		count(&t, err);
		if (err && !allowed(err))
			check(0, "write of %zu bytes gave undocumented errno %d", len, err);
		if (t.writes % 64 == 0)
			flush_targets(); /* run pending none/resume items */
	}

	fuzz_secs = now_s() - t0;
	/* Everything queued runs once the targets enter the kernel. */
	for (int i = 0; i < 40 && !wait_settled(250); i++)
		flush_targets();
	if (stat_get("outstanding") != 0) {
		double t = now_s();
		int i;

		/* Lost, or only late? Keep flushing for up to 30 s and say. */
		for (i = 0; i < 120 && !wait_settled(250); i++)
			flush_targets();
		printf("# fuzz: %lld item(s) still pending after 10 s; %s after %.1f s more\n",
		       stat_get("outstanding") + (i < 120), i < 120 ? "drained" : "NOT drained",
		       now_s() - t);
	}
	printf("# fuzz: %.1f s of fuzzing\n", fuzz_secs);
	printf("# fuzz: %ld writes: %ld ok, %ld EINVAL, %ld ESRCH, %ld EOPNOTSUPP, %ld EBUSY, "
	       "%ld ENOMEM, %ld other; %ld partial writes, %ld long lines\n",
	       t.writes, t.ok, t.einval, t.esrch, t.eopnotsupp, t.ebusy, t.enomem, t.bad,
	       t.partial, t.longline);
	printf("# fuzz: since the last reset: items queued %lld, run %lld, outstanding %lld, failed %lld\n",
	       stat_get("queued"), stat_get("run"), stat_get("outstanding"),
	       stat_get("failed") - failed_before);
	check(t.bad == 0, "every write succeeded or gave a documented errno (%ld others)", t.bad);
	check(stat_get("outstanding") == 0, "no item left pending");
	check(stat_get("queued") == stat_get("run"), "every queued item ran (%lld/%lld)",
	      stat_get("run"), stat_get("queued"));
	check(t.writes > 1000, "fuzzed enough to mean something (%ld writes)", t.writes);

	if (targets_stop())
		return 1;
	printf("1..%d\n# fuzz: %d passed, %d failed\n", ntest, ntest - nfail, nfail);
	return nfail ? 1 : 0;
}
