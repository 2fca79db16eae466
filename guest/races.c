// SPDX-License-Identifier: GPL-2.0
/*
 * Races the module must survive, each repeated a bounded number of times:
 *  - unload while items are pending and while callbacks are running, reload;
 *  - targets that exit or exec with items pending;
 *  - both CPUs queueing to one target at once;
 *  - odd targets: another user namespace, a zombie, PID 1, a kernel
 *    thread, the writer itself.
 * Counters must balance: every attempt is queued or failed, every queued
 * item runs. The kernel's own checks (panic_on_warn, KASAN, lockdep,
 * kmemleak on the debug kernel) catch the rest.
 *
 * Usage: races [UNLOAD_CYCLES [EXIT_CYCLES [CONCURRENT_ITEMS]]]
 */
#include "common.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>

#define MODULE_PATH "/twa/twa_noipi.ko"

/*
 * Wait for every queued item to run, signalling the sleeper (whose none
 * items need it) now and then. Debug kernels under TCG are slow: 120 s.
 */
static int settle(void)
{
	int i;

	for (i = 0; i < 480; i++) {
		if (wait_settled(250))
			return 1;
		signal_tid(atomic_load(&sleeper_tid));
	}
	return 0;
}

/* Counters from zero; refused (EBUSY) while anything is pending. */
static void fresh_counters(const char *what)
{
	int ret;

	settle();
	ret = ctl("reset");
	check(ret == 0, "%s: counters reset (%d)", what, ret);
}

static int load_module(const char *params)
{
	int fd = open(MODULE_PATH, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = (int)syscall(SYS_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static int unload_module(void)
{
	return syscall(SYS_delete_module, "twa_noipi", O_NONBLOCK) ? -errno : 0;
}

/*
 * Unload with items pending (refused), then while the spinner's callbacks
 * are still running (refused or not, never a crash), then reload.
 * Arming and disarming the IPI-counting kprobes (module/ipi.c) costs about
 * 0.4 s a cycle under TCG, so every tenth load arms them (the cycle that
 * unloads it exercises their removal) and the others load count_ipis=0;
 * the last cycle arms them, leaving the module as it is normally loaded.
 */
#define TWA_PROBED_EVERY	10

static void unload_cycles(int cycles)
{
	int i, refused = 0, early_ok = 0, failures = 0, retries = 0, probed = 0;
	double t0 = now_s();

	for (i = 0; i < cycles && !failures; i++) {
		int ret, tries;

		/* the spinner runs its items, then sleeps through the grace period */
		spin_for_ms(50);
		/* none to the sleeper: pending until it is signalled */
		ret = ctl("queue tid=%d mode=none count=4", atomic_load(&sleeper_tid));
		ret |= ctl("queue tid=%d mode=signal count=64", atomic_load(&spinner_tid));
		if (ret) {
			failures++;
			check(0, "cycle %d: queue failed %d", i, ret);
			break;
		}
		ret = unload_module();
		refused += ret == -EWOULDBLOCK || ret == -EBUSY;
		if (ret == 0) {
			early_ok++;	/* impossible with a pending item */
			failures++;
			break;
		}
		signal_tid(atomic_load(&sleeper_tid));
		/* Callbacks may still be running: retry for up to 5 s. */
		for (tries = 0; tries < 5000 && (ret = unload_module()) != 0; tries++) {
			if (ret != -EWOULDBLOCK && ret != -EBUSY)
				break;
			retries++;
			if (tries % 100 == 99)
				signal_tid(atomic_load(&sleeper_tid));
			sleep_ms(1);
		}
		if (ret) {
			failures++;
			check(0, "cycle %d: rmmod failed: %d", i, ret);
			break;
		}
		if (i % TWA_PROBED_EVERY == TWA_PROBED_EVERY - 1 || i == cycles - 1) {
			ret = load_module("");
			probed++;
		} else {
			ret = load_module("count_ipis=0");
		}
		if (ret) {
			failures++;
			check(0, "cycle %d: insmod failed: %d", i, ret);
			break;
		}
	}
	spin_always();
	printf("# unload: %d cycles in %.1f s (%d loads with IPI probes), %d refused while pending, %d rmmod retries\n",
	       i, now_s() - t0, probed, refused, retries);
	check(!failures && i == cycles, "unload/reload %d cycles with items pending and running",
	      cycles);
	check(early_ok == 0 && refused == i, "rmmod refused every time an item was pending (%d/%d)",
	      refused, i);
}

/* Children that exit (or exec) with items pending. */
static void exit_cycles(int cycles)
{
	long long attempts = 0;
	int i, bad_errno = 0;
	double t0 = now_s();

	fresh_counters("exit");
	for (i = 0; i < cycles; i++) {
		int go[2], status, k;
		pid_t pid;

		if (pipe(go))
			break;
		pid = fork();
		if (pid == 0) {
			char c;

			/* Sleep until told, then exit or exec with work pending. */
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
			if (i % 3 == 1)
				execl("/bin/busybox", "true", (char *)NULL);
			_exit(i % 3 == 2 ? 7 : 0);
		}
		for (k = 0; k < 4; k++) {
			static const char *const modes[] = { "none", "resume", "signal",
							     "signal_no_ipi" };
			int ret = ctl("queue tid=%d mode=%s count=2", pid, modes[k]);

			attempts += 2;
			if (ret && ret != -ESRCH)
				bad_errno++;
		}
		if (i % 5 == 4)
			kill(pid, SIGKILL); /* the other way out */
		if (write(go[1], "x", 1) != 1)
			bad_errno++;
		close(go[0]);
		close(go[1]);
		waitpid(pid, &status, 0);
	}
	check(settle(), "items of exited children all ran");
	printf("# exit: %d children (1/3 exec, 1/5 SIGKILL) in %.1f s: %lld attempts, %lld queued, "
	       "%lld run, %lld failed\n", i, now_s() - t0, attempts, stat_get("queued"),
	       stat_get("run"), stat_get("failed"));
	check(i == cycles && bad_errno == 0, "%d exit/exec cycles, only ESRCH as error", i);
	check(stat_get("queued") + stat_get("failed") == attempts,
	      "every attempt is queued or failed (%lld + %lld == %lld)", stat_get("queued"),
	      stat_get("failed"), attempts);
	check(stat_get("queued") == stat_get("run"), "every queued item ran");
}

struct queuer {
	int cpu, items, errors;
	long long attempts;
};

static void *queuer_fn(void *arg)
{
	struct queuer *q = arg;
	static const char *const modes[] = { "signal", "signal_no_ipi", "signal", "none" };
	int done = 0, n = 0;

	pin(q->cpu);
	while (done < q->items) {
		int batch = q->items - done < 500 ? q->items - done : 500;
		int ret = ctl("queue tid=%d mode=%s impl=backport count=%d",
			      atomic_load(&sleeper_tid), modes[n++ % 4], batch);

		q->attempts += batch;
		if (ret)
			q->errors++;
		done += batch;
	}
	return NULL;
}

/* Both CPUs queue to one target at once: nothing may be lost. */
static void concurrent(int items)
{
	struct queuer q[2] = { { 0, items / 2, 0, 0 }, { 1, items - items / 2, 0, 0 } };
	pthread_t th[2];
	double t0 = now_s();
	int i;

	fresh_counters("concurrent");
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, queuer_fn, &q[i]);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	settle(); /* the "none" batches need the sleeper signalled */
	printf("# concurrent: %lld items from 2 CPUs in %.1f s: queued %lld, run %lld, failed "
	       "%lld\n", q[0].attempts + q[1].attempts, now_s() - t0, stat_get("queued"),
	       stat_get("run"), stat_get("failed"));
	check(q[0].errors + q[1].errors == 0, "no queue error from either CPU");
	check(stat_get("queued") == q[0].attempts + q[1].attempts && stat_get("run") ==
	      stat_get("queued"), "nothing lost: %lld queued, %lld run",
	      stat_get("queued"), stat_get("run"));
}

static void odd_targets(void)
{
	int go[2], ok[2], ret;
	long long run;
	pid_t zombie, userns;
	char c = 0;

	fresh_counters("odd targets");
	/* the writer itself: runs on the way back from write() */
	run = stat_get("run");
	ret = ctl("queue tid=%d mode=signal_no_ipi", (int)syscall(SYS_gettid));
	check(ret == 0 && stat_get("run") == run + 1, "queue to the writer: ran before write() returned");
	/* a kernel thread */
	check(ctl("queue tid=2 mode=signal") == -EINVAL, "kernel thread (kthreadd): EINVAL");
	/* PID 1 (our init, waiting for us): woken, runs, goes back to waiting */
	ret = ctl("queue tid=1 mode=signal");
	check(ret == 0 && settle(), "PID 1: queued and ran (%d)", ret);
	/* a zombie */
	zombie = fork();
	if (zombie == 0)
		_exit(0);
	sleep_ms(50);
	ret = ctl("queue tid=%d mode=signal", zombie);
	check(ret == -ESRCH, "zombie: ESRCH (%d)", ret);
	waitpid(zombie, NULL, 0);
	ret = ctl("queue tid=%d mode=signal", zombie);
	check(ret == -ESRCH, "reaped: ESRCH (%d)", ret);
	/* a task in another user namespace */
	if (pipe(go) || pipe(ok))
		return;
	userns = fork();
	if (userns == 0) {
		char r = unshare(CLONE_NEWUSER) ? 'n' : 'y';

		if (write(ok[1], &r, 1) != 1 || r != 'y')
			_exit(2);
		while (read(go[0], &r, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	if (read(ok[0], &c, 1) != 1 || c != 'y') {
		check(0, "unshare(CLONE_NEWUSER) failed in the child: kernel without USER_NS?");
	} else {
		ret = ctl("queue tid=%d mode=signal", userns);
		check(ret == 0 && settle(), "task in another user namespace: queued and ran (%d)",
		      ret);
	}
	if (write(go[1], "x", 1) != 1)
		check(0, "cannot release the userns child");
	waitpid(userns, NULL, 0);
	close(ok[0]);
	close(ok[1]);
	close(go[0]);
	close(go[1]);
	check(stat_get("queued") == stat_get("run"), "odd targets: counters balance");
}

int main(int argc, char **argv)
{
	int unloads = argc > 1 ? atoi(argv[1]) : 200;
	int exits = argc > 2 ? atoi(argv[2]) : 1000;
	int items = argc > 3 ? atoi(argv[3]) : 100000;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("not ok 1 - races need 2 CPUs, the guest has 1\n");
		return 1;
	}
	pin(0);
	if (targets_start())
		return 1;

	odd_targets();
	concurrent(items);
	exit_cycles(exits);
	unload_cycles(unloads);

	if (targets_stop())
		return 1;
	printf("1..%d\n# races: %d passed, %d failed\n", ntest, ntest - nfail, nfail);
	return nfail ? 1 : 0;
}
