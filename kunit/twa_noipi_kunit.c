// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for the twa-noipi backport. A module of its own: on 5.x
 * kunit_test_suites() generates the module's init and exit.
 *
 * Wakes and kicks are observed, not assumed: kprobes on try_to_wake_up()
 * and kick_process() count the calls made for the task under test, by the
 * backport and by the kernel's native task_work_add() alike.
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/task_work.h>

#include "../module/compat.h"
#include "../module/internal.h"

/* ---- observing wakes and kicks ---------------------------------------- */

static struct task_struct *twa_watched;
static atomic_t twa_wake_calls;	/* try_to_wake_up(watched, TASK_INTERRUPTIBLE) */
static atomic_t twa_kick_process_calls;	/* kick_process(watched) */

/* At a function's entry, on x86_64 and arm64 alike (5.10 has both). */
#define twa_arg(regs, n) regs_get_kernel_argument(regs, n)

static int twa_ttwu_pre(struct kprobe *p, struct pt_regs *regs)
{
	if ((struct task_struct *)twa_arg(regs, 0) == READ_ONCE(twa_watched) &&
	    twa_arg(regs, 1) == TASK_INTERRUPTIBLE)
		atomic_inc(&twa_wake_calls);
	return 0;
}

static int twa_kick_process_pre(struct kprobe *p, struct pt_regs *regs)
{
	if ((struct task_struct *)twa_arg(regs, 0) == READ_ONCE(twa_watched))
		atomic_inc(&twa_kick_process_calls);
	return 0;
}

static struct kprobe twa_ttwu_probe;
static struct kprobe twa_kick_process_probe;

static void twa_watch(struct task_struct *task)
{
	atomic_set(&twa_wake_calls, 0);
	atomic_set(&twa_kick_process_calls, 0);
	WRITE_ONCE(twa_watched, task);
}

/* ---- target tasks ------------------------------------------------------ */

/*
 * A target is a kthread the items are queued to: a sleeper (twa_target_fn)
 * or a spinner (twa_spin_fn). Its pending items run in its do_exit(), after
 * kthread_stop() has returned, and touch the target and the items. So the
 * target, its task and that memory are a KUnit resource (twa_target_free()):
 * a failed assertion ends the case without twa_target_stop(), and KUnit
 * frees the case's memory, newest first, with the kthread still running.
 */
struct twa_target {
	struct task_struct *task;	/* referenced; NULL until started */
	unsigned int state;
	bool stopped;			/* kthread_stop() done */
	struct list_head mem;		/* twa_target_alloc() */
	atomic_t wakes;		/* returns from schedule() */
	atomic_t notified;	/* TIF_NOTIFY_SIGNAL seen and cleared */
	atomic_t ran;		/* work items run (at exit) */
};

struct twa_target_mem {
	struct list_head node;
	unsigned long data[];	/* aligned for any item */
};

static void twa_target_kill(struct twa_target *t)
{
	clear_tsk_thread_flag(t->task, TIF_NOTIFY_SIGNAL);
	clear_tsk_thread_flag(t->task, TIF_NOTIFY_RESUME);
	kthread_stop(t->task);
	t->stopped = true;
}

static bool twa_task_dead(struct task_struct *task)
{
	/*
	 * exit_notify() sets exit_state after exit_task_work() ran the pending
	 * items: acquire, for their stores to come before the kfree()s after.
	 */
	return smp_load_acquire(&task->exit_state) != 0;
}

/*
 * The resource's free, at the end of every case: after an aborted assertion
 * too, and then on another thread than the case's (5.10 and 6.1 clean up
 * from the one that ran the suite). Stops the task if the case did not,
 * then frees the memory once nothing can touch it any more.
 */
static void twa_target_free(struct kunit_resource *res)
{
	struct twa_target *t = res->data;
	struct twa_target_mem *m, *next;
	int i;

	if (t->task) {
		if (!t->stopped)
			twa_target_kill(t);
		for (i = 0; i < 5000 && !twa_task_dead(t->task); i++)
			usleep_range(1000, 2000);
		if (!twa_task_dead(t->task)) {
			/* Rather leaked than freed under a live task. */
			pr_err("twa_noipi_kunit: %s/%d not dead after kthread_stop(): its memory is leaked\n",
			       t->task->comm, task_pid_nr(t->task));
			put_task_struct(t->task);
			return;
		}
		put_task_struct(t->task);
	}
	list_for_each_entry_safe(m, next, &t->mem, node)
		kfree(m);
	kfree(t);
}

/*
 * kunit_alloc_resource() with no init, which makes the context its data:
 * the same on 5.10, 6.1 and 7.x (kunit_add_action() is 6.5 and later).
 */
static struct twa_target *twa_target_new(struct kunit *test)
{
	struct twa_target *t = kzalloc(sizeof(*t), GFP_KERNEL);
	void *res;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t);
	INIT_LIST_HEAD(&t->mem);
	res = kunit_alloc_resource(test, NULL, twa_target_free, GFP_KERNEL, t);
	if (!res)
		kfree(t);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, res);
	return t;
}

/*
 * Zeroed memory freed with @t, once its task is dead: for what its items
 * reach. kunit_kzalloc() memory allocated after @t would go before it.
 */
static void *twa_target_alloc(struct kunit *test, struct twa_target *t, size_t size)
{
	struct twa_target_mem *m;

	m = kzalloc(struct_size(m, data, DIV_ROUND_UP(size, sizeof(m->data[0]))),
		    GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, m);
	list_add(&m->node, &t->mem);
	return m->data;
}

static int twa_target_fn(void *arg)
{
	struct twa_target *t = arg;

	for (;;) {
		set_current_state(t->state);
		if (kthread_should_stop())
			break;
		schedule();
		atomic_inc(&t->wakes);
		/*
		 * Clear the flag as task_work_run() would on return to user
		 * mode; left set, it would keep an interruptible sleep awake.
		 */
		if (test_and_clear_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL))
			atomic_inc(&t->notified);
	}
	__set_current_state(TASK_RUNNING);
	return 0;	/* pending task_work runs in do_exit() */
}

/* Start a kthread and wait until it sleeps in @state. */
static struct twa_target *twa_target_start(struct kunit *test, unsigned int state)
{
	struct twa_target *t = twa_target_new(test);
	struct task_struct *task;
	int i;

	t->state = state;
	task = kthread_run(twa_target_fn, t, "twa-target");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	get_task_struct(task);
	t->task = task;
	for (i = 0; i < 1000 && (unsigned int)twa_task_state(t->task) != state; i++)
		usleep_range(100, 200);
	KUNIT_ASSERT_EQ(test, (unsigned int)twa_task_state(t->task), state);
	usleep_range(5000, 6000);	/* past set_current_state(): off the CPU */
	return t;
}

/* Stop @t and check its items ran; twa_target_free() frees it later. */
static void twa_target_stop(struct kunit *test, struct twa_target *t, int want_ran)
{
	int i;

	twa_target_kill(t);
	/* kthread_stop() returns before do_exit() runs the task_work. */
	for (i = 0; i < 1000 && atomic_read(&t->ran) < want_ran; i++)
		usleep_range(100, 200);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->ran), want_ran);
}

struct twa_test_work {
	struct callback_head cb;
	struct twa_target *target;
};

static void twa_test_work_fn(struct callback_head *cb)
{
	struct twa_test_work *w = container_of(cb, struct twa_test_work, cb);

	atomic_inc(&w->target->ran);
}

static struct twa_test_work *twa_work_new(struct kunit *test, struct twa_target *t)
{
	struct twa_test_work *w = twa_target_alloc(test, t, sizeof(*w));

	init_task_work(&w->cb, twa_test_work_fn);
	w->target = t;
	return w;
}

/*
 * The probes are armed once for the whole module, not per test case. Arming
 * and disarming a kprobe patches try_to_wake_up() while the other CPU runs
 * it; done twice per case under QEMU's TCG, a CPU was once left trapping on
 * the removed int3 in a timer softirq for ever (an RCU stall, then a hang).
 */
static int twa_probes_register(void)
{
	int ret;

	/* A kprobe keeps its resolved address: it cannot be registered twice. */
	twa_ttwu_probe = (struct kprobe){
		.symbol_name = "try_to_wake_up", .pre_handler = twa_ttwu_pre,
	};
	twa_kick_process_probe = (struct kprobe){
		.symbol_name = "kick_process", .pre_handler = twa_kick_process_pre,
	};
	ret = register_kprobe(&twa_ttwu_probe);
	if (ret)
		return ret;
	ret = register_kprobe(&twa_kick_process_probe);
	if (ret)
		unregister_kprobe(&twa_ttwu_probe);
	return ret;
}

static void twa_probes_unregister(void)
{
	unregister_kprobe(&twa_kick_process_probe);
	unregister_kprobe(&twa_ttwu_probe);
}

static int twa_test_init(struct kunit *test)
{
	twa_watch(NULL);
	return 0;
}

static void twa_test_exit(struct kunit *test)
{
	twa_watch(NULL);
	clear_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL);
}

/* ---- __set_notify_signal() and set_notify_signal() -------------------- */

/* The test thread itself is running: flag newly set, nothing to wake. */
static void twa_test_running_needs_kick(struct kunit *test)
{
	twa_watch(current);
	clear_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL);
	KUNIT_EXPECT_TRUE(test, twa___set_notify_signal(current));
	KUNIT_EXPECT_TRUE(test, test_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL));
	KUNIT_EXPECT_EQ(test, atomic_read(&twa_wake_calls), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&twa_kick_process_calls), 0);
	clear_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL);
}

/* Flag already set: whoever set it notified; no wake, no kick. */
static void twa_test_already_set_no_kick(struct kunit *test)
{
	twa_watch(current);
	set_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL);
	KUNIT_EXPECT_FALSE(test, twa___set_notify_signal(current));
	KUNIT_EXPECT_EQ(test, atomic_read(&twa_wake_calls), 0);
	twa_set_notify_signal(current);
	KUNIT_EXPECT_EQ(test, atomic_read(&twa_kick_process_calls), 0);
	clear_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL);
}

static void twa_test_interruptible_woken(struct kunit *test)
{
	struct twa_target *t = twa_target_start(test, TASK_INTERRUPTIBLE);
	s64 wakeups = atomic64_read(&twa_stats.wakeups);
	int i;

	twa_watch(t->task);
	KUNIT_EXPECT_FALSE(test, twa___set_notify_signal(t->task));
	for (i = 0; i < 1000 && !atomic_read(&t->notified); i++)
		usleep_range(100, 200);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->notified), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&twa_wake_calls), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&twa_stats.wakeups), wakeups + 1);
	twa_target_stop(test, t, 0);
}

static void twa_test_uninterruptible_not_woken(struct kunit *test)
{
	struct twa_target *t = twa_target_start(test, TASK_UNINTERRUPTIBLE);

	twa_watch(t->task);
	/* Tried, not woken: so a kick is "needed" (it does nothing here). */
	KUNIT_EXPECT_TRUE(test, twa___set_notify_signal(t->task));
	msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->wakes), 0);
	KUNIT_EXPECT_TRUE(test, test_tsk_thread_flag(t->task, TIF_NOTIFY_SIGNAL));
	KUNIT_EXPECT_EQ(test, atomic_read(&twa_wake_calls), 1);
	twa_target_stop(test, t, 0);
}

static void twa_test_set_kicks_running(struct kunit *test)
{
	s64 calls = atomic64_read(&twa_stats.backport_kick_process_calls);

	twa_watch(current);
	clear_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL);
	twa_set_notify_signal(current);
	KUNIT_EXPECT_EQ(test, atomic_read(&twa_kick_process_calls), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&twa_stats.backport_kick_process_calls), calls + 1);
	clear_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL);
}

static void twa_test_set_no_kick_for_sleeper(struct kunit *test)
{
	struct twa_target *t = twa_target_start(test, TASK_INTERRUPTIBLE);

	twa_watch(t->task);
	twa_set_notify_signal(t->task);
	KUNIT_EXPECT_EQ(test, atomic_read(&twa_kick_process_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&twa_wake_calls), 1);
	twa_target_stop(test, t, 0);
}

/* set_notify_signal() kicks exactly when __set_notify_signal() says so. */
static void twa_test_kick_iff_needed(struct kunit *test)
{
	static const unsigned int states[] = { TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE };
	int i;

	for (i = 0; i < ARRAY_SIZE(states); i++) {
		struct twa_target *a = twa_target_start(test, states[i]);
		struct twa_target *b = twa_target_start(test, states[i]);
		bool needed;

		twa_watch(a->task);
		needed = twa___set_notify_signal(a->task);
		twa_watch(b->task);
		twa_set_notify_signal(b->task);
		KUNIT_EXPECT_EQ(test, atomic_read(&twa_kick_process_calls), needed ? 1 : 0);
		twa_target_stop(test, a, 0);
		twa_target_stop(test, b, 0);
	}
}

/* ---- the ENDBR64 check (QEMU's TCG does not enforce IBT) ----------- */

static void twa_test_endbr_entry(struct kunit *test)
{
	static const u8 endbr[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const u8 poison[4] = { 0x66, 0x0f, 0x1f, 0x00 };	/* sealed */
	static const u8 nop5[4] = { 0x0f, 0x1f, 0x44, 0x00 };
	const u8 *p = (const u8 *)0x1000;

	/* Not IBT: the probe address is the entry. */
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_endbr_entry(p, endbr, nop5, false), (const void *)p);
	/* IBT: kprobe sits past ENDBR64: call 4 bytes before. */
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_endbr_entry(p, endbr, nop5, true),
			    (const void *)(p - 4));
	/* IBT: probe address holds ENDBR64 itself. */
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_endbr_entry(p, nop5, endbr, true), (const void *)p);
	/* IBT, sealed at boot (Debian 6.12's wake_up_state): refuse. */
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_endbr_entry(p, poison, nop5, true),
			    (const void *)NULL);
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_endbr_entry(p, nop5, nop5, true),
			    (const void *)NULL);
}

/* ---- arm64's BTI landing pad check (any arch: it reads bytes only) ---- */

static void twa_test_bti_entry(struct kunit *test)
{
	/* Little-endian encodings, as read from kernel text. */
	static const u8 bti_c[4] = { 0x5f, 0x24, 0x03, 0xd5 };
	static const u8 bti_jc[4] = { 0xdf, 0x24, 0x03, 0xd5 };
	static const u8 paciasp[4] = { 0x3f, 0x23, 0x03, 0xd5 };
	static const u8 pacibsp[4] = { 0x7f, 0x23, 0x03, 0xd5 };
	static const u8 bti_j[4] = { 0x9f, 0x24, 0x03, 0xd5 };	/* jumps only */
	static const u8 nop[4] = { 0x1f, 0x20, 0x03, 0xd5 };
	static const u8 stp[4] = { 0xfd, 0x7b, 0xbf, 0xa9 };	/* stp x29, x30 */
	const u8 *p = (const u8 *)0x1000;

	/* Not enforced (every Debian arm64 kernel): the probe address. */
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_bti_entry(p, stp, false), (const void *)p);
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_bti_entry(p, bti_c, true), (const void *)p);
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_bti_entry(p, bti_jc, true), (const void *)p);
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_bti_entry(p, paciasp, true), (const void *)p);
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_bti_entry(p, pacibsp, true), (const void *)p);
	/* A call may not land on BTI j, a NOP or a plain first instruction. */
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_bti_entry(p, bti_j, true), (const void *)NULL);
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_bti_entry(p, nop, true), (const void *)NULL);
	KUNIT_EXPECT_PTR_EQ(test, twa_compat_bti_entry(p, stp, true), (const void *)NULL);
}

/* ---- the queueing path ------------------------------------------------- */

static void twa_test_kthread_rejected(struct kunit *test)
{
	struct twa_target *t = twa_target_start(test, TASK_INTERRUPTIBLE);
	struct twa_test_work *w = twa_work_new(test, t);
	int m, i;

	for (m = 0; m < TWA_MODE_COUNT; m++)
		for (i = 0; i < TWA_IMPL_COUNT; i++)
			KUNIT_EXPECT_EQ(test, twa_task_work_add(t->task, &w->cb, m, i), -EINVAL);
	twa_target_stop(test, t, 0);
}

static int twa_exit_now(void *arg)
{
	return 0;
}

static void twa_test_exiting_task(struct kunit *test)
{
	struct twa_target dummy = {};
	struct twa_test_work *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	struct task_struct *task;
	int i;

	/* Not a target's: the add is refused, the item never runs. */
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, w);
	init_task_work(&w->cb, twa_test_work_fn);
	w->target = &dummy;
	task = kthread_create(twa_exit_now, NULL, "twa-exit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	get_task_struct(task);
	wake_up_process(task);
	for (i = 0; i < 1000 && !(READ_ONCE(task->flags) & PF_EXITING); i++)
		usleep_range(100, 200);
	KUNIT_ASSERT_TRUE(test, !!(READ_ONCE(task->flags) & PF_EXITING));
	KUNIT_EXPECT_EQ(test, twa_task_work_add(task, &w->cb, TWA_MODE_SIGNAL,
						TWA_IMPL_BACKPORT), -ESRCH);
	put_task_struct(task);
}

static void twa_test_bad_mode_impl(struct kunit *test)
{
	struct twa_target *t = twa_target_start(test, TASK_UNINTERRUPTIBLE);
	struct twa_test_work *w = twa_work_new(test, t);

	KUNIT_EXPECT_EQ(test, __twa_task_work_add(t->task, &w->cb, TWA_MODE_COUNT,
						  TWA_IMPL_AUTO), -EINVAL);
	KUNIT_EXPECT_EQ(test, __twa_task_work_add(t->task, &w->cb, TWA_MODE_SIGNAL,
						  TWA_IMPL_COUNT), -EINVAL);
	twa_target_stop(test, t, 0);
}

static void twa_test_native_mode_missing(struct kunit *test)
{
	struct twa_target *t = twa_target_start(test, TASK_UNINTERRUPTIBLE);
	struct twa_test_work *w = twa_work_new(test, t);
	int ret;

	KUNIT_EXPECT_EQ(test, (bool)twa_native_has_mode(TWA_MODE_SIGNAL_NO_IPI),
			(bool)TWA_COMPAT_NATIVE_SIGNAL_NO_IPI);
	KUNIT_EXPECT_TRUE(test, twa_native_has_mode(TWA_MODE_SIGNAL));
	ret = __twa_task_work_add(t->task, &w->cb, TWA_MODE_SIGNAL_NO_IPI, TWA_IMPL_NATIVE);
	KUNIT_EXPECT_EQ(test, ret, TWA_COMPAT_NATIVE_SIGNAL_NO_IPI ? 0 : -EOPNOTSUPP);
	twa_target_stop(test, t, ret ? 0 : 1);
}

/*
 * Per mode, every impl: queue to an uninterruptible sleeper (never woken,
 * so the flags stay visible) and check flags and kick_process() calls. The
 * item runs when the target exits.
 */
static void twa_check_flags(struct kunit *test, enum twa_mode mode, int sig, int res,
			    int kick_process_calls)
{
	int i;

	for (i = 0; i < TWA_IMPL_COUNT; i++) {
		struct twa_target *t = twa_target_start(test, TASK_UNINTERRUPTIBLE);
		struct twa_test_work *w = twa_work_new(test, t);
		int ret;

		twa_watch(t->task);
		ret = __twa_task_work_add(t->task, &w->cb, mode, i);
		if (ret == -EOPNOTSUPP && i == TWA_IMPL_NATIVE && !twa_native_has_mode(mode)) {
			twa_target_stop(test, t, 0);
			continue;
		}
		KUNIT_EXPECT_EQ_MSG(test, ret, 0, "impl %s", twa_impl_names[i]);
		KUNIT_EXPECT_EQ_MSG(test, !!test_tsk_thread_flag(t->task, TIF_NOTIFY_SIGNAL), sig,
				    "impl %s", twa_impl_names[i]);
		KUNIT_EXPECT_EQ_MSG(test, !!test_tsk_thread_flag(t->task, TIF_NOTIFY_RESUME), res,
				    "impl %s", twa_impl_names[i]);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&twa_kick_process_calls),
				    kick_process_calls, "impl %s", twa_impl_names[i]);
		twa_target_stop(test, t, 1);
	}
}

static void twa_test_flags_none(struct kunit *test)
{
	twa_check_flags(test, TWA_MODE_NONE, 0, 0, 0);
}

static void twa_test_flags_resume(struct kunit *test)
{
	twa_check_flags(test, TWA_MODE_RESUME, 0, 1, 1);
}

static void twa_test_flags_signal(struct kunit *test)
{
	twa_check_flags(test, TWA_MODE_SIGNAL, 1, 0, 1);
}

static void twa_test_flags_signal_no_ipi(struct kunit *test)
{
	twa_check_flags(test, TWA_MODE_SIGNAL_NO_IPI, 1, 0, 0);
}

static void twa_test_counters(struct kunit *test)
{
	struct twa_target *t = twa_target_start(test, TASK_UNINTERRUPTIBLE);
	s64 calls = atomic64_read(&twa_stats.backport_kick_process_calls);
	s64 wakeups = atomic64_read(&twa_stats.wakeups);
	int i;

	for (i = 0; i < 10; i++) {
		struct twa_test_work *w = twa_work_new(test, t);

		clear_tsk_thread_flag(t->task, TIF_NOTIFY_SIGNAL);
		KUNIT_EXPECT_EQ(test, __twa_task_work_add(t->task, &w->cb, TWA_MODE_SIGNAL,
							  TWA_IMPL_BACKPORT), 0);
	}
	/* Uninterruptible: never woken, so every item "needed" a kick. */
	KUNIT_EXPECT_EQ(test, atomic64_read(&twa_stats.backport_kick_process_calls), calls + 10);
	KUNIT_EXPECT_EQ(test, atomic64_read(&twa_stats.wakeups), wakeups);
	twa_target_stop(test, t, 10);
}

/* ---- concurrency -------------------------------------------------------- */

#define TWA_QUEUERS	4
#define TWA_PER_QUEUER	500

struct twa_queuer {
	struct twa_target *target;
	struct twa_test_work *works;
	struct completion done;
	int errors;
};

static int twa_queuer_fn(void *arg)
{
	struct twa_queuer *q = arg;
	int i;

	for (i = 0; i < TWA_PER_QUEUER; i++) {
		init_task_work(&q->works[i].cb, twa_test_work_fn);
		q->works[i].target = q->target;
		if (__twa_task_work_add(q->target->task, &q->works[i].cb,
					i % 2 ? TWA_MODE_SIGNAL_NO_IPI : TWA_MODE_SIGNAL,
					TWA_IMPL_BACKPORT))
			q->errors++;
	}
	complete(&q->done);
	return 0;
}

static void twa_test_concurrent_queuers(struct kunit *test)
{
	struct twa_target *t = twa_target_start(test, TASK_INTERRUPTIBLE);
	struct twa_queuer *q = kunit_kzalloc(test, TWA_QUEUERS * sizeof(*q), GFP_KERNEL);
	struct task_struct *k[TWA_QUEUERS];
	int i, n, errors = 0;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, q);
	/* One CPU would serialise the queuers: nothing concurrent to test. */
	KUNIT_ASSERT_GE(test, num_online_cpus(), 2U);
	for (i = 0; i < TWA_QUEUERS; i++) {
		q[i].target = t;
		/* The items: the target's, they may run after the case. */
		q[i].works = twa_target_alloc(test, t, TWA_PER_QUEUER * sizeof(*q[i].works));
		init_completion(&q[i].done);
	}
	/*
	 * All created before any is woken: an assertion failed while one runs
	 * would free @q under it. One never woken, kthread_stop() ends it
	 * without running twa_queuer_fn().
	 */
	for (n = 0; n < TWA_QUEUERS; n++) {
		k[n] = kthread_create(twa_queuer_fn, &q[n], "twa-q%d", n);
		if (IS_ERR(k[n]))
			break;
	}
	if (n < TWA_QUEUERS) {
		long err = PTR_ERR(k[n]);

		for (i = 0; i < n; i++)
			kthread_stop(k[i]);
		KUNIT_ASSERT_EQ_MSG(test, err, 0L, "kthread_create() of queuer %d", n);
	}
	for (i = 0; i < TWA_QUEUERS; i++) {
		kthread_bind(k[i], i % num_online_cpus());
		wake_up_process(k[i]);
	}
	for (i = 0; i < TWA_QUEUERS; i++) {
		wait_for_completion(&q[i].done);
		errors += q[i].errors;
	}
	KUNIT_EXPECT_EQ(test, errors, 0);
	/* Nothing lost: every item runs when the target exits. */
	twa_target_stop(test, t, TWA_QUEUERS * TWA_PER_QUEUER);
}

#ifdef TWA_HAVE_TWA_SIGNAL_NO_IPI
/* ---- native vs backport, same task states ------------------------------ */

struct twa_outcome {
	int flag;
	int wakes;
	int kick_process_calls;
	int woke;
};

static struct twa_outcome twa_outcome_of(struct kunit *test, unsigned int state, bool preset,
					 enum twa_mode mode, enum twa_impl impl)
{
	struct twa_target *t = twa_target_start(test, state);
	struct twa_test_work *w = twa_work_new(test, t);
	struct twa_outcome o;

	if (preset)
		set_tsk_thread_flag(t->task, TIF_NOTIFY_SIGNAL);
	twa_watch(t->task);
	KUNIT_EXPECT_EQ(test, __twa_task_work_add(t->task, &w->cb, mode, impl), 0);
	usleep_range(10000, 11000);
	o.flag = test_tsk_thread_flag(t->task, TIF_NOTIFY_SIGNAL) ||
		 atomic_read(&t->notified) ? 1 : 0;
	o.wakes = atomic_read(&twa_wake_calls);
	o.kick_process_calls = atomic_read(&twa_kick_process_calls);
	o.woke = atomic_read(&t->wakes);
	twa_target_stop(test, t, 1);
	return o;
}

static void twa_expect_same(struct kunit *test, unsigned int state, enum twa_mode mode,
			    int preset)
{
	struct twa_outcome n = twa_outcome_of(test, state, preset, mode, TWA_IMPL_NATIVE);
	struct twa_outcome b = twa_outcome_of(test, state, preset, mode, TWA_IMPL_BACKPORT);
	const char *fmt = "state %u mode %d preset %d";

	KUNIT_EXPECT_EQ_MSG(test, n.flag, b.flag, fmt, state, mode, preset);
	KUNIT_EXPECT_EQ_MSG(test, n.wakes, b.wakes, fmt, state, mode, preset);
	KUNIT_EXPECT_EQ_MSG(test, n.kick_process_calls, b.kick_process_calls, fmt, state, mode,
			    preset);
	KUNIT_EXPECT_EQ_MSG(test, n.woke, b.woke, fmt, state, mode, preset);
}

static void twa_test_differential(struct kunit *test)
{
	/* A preset flag keeps an interruptible sleeper awake: not a state. */
	twa_expect_same(test, TASK_INTERRUPTIBLE, TWA_MODE_SIGNAL, 0);
	twa_expect_same(test, TASK_INTERRUPTIBLE, TWA_MODE_SIGNAL_NO_IPI, 0);
	twa_expect_same(test, TASK_UNINTERRUPTIBLE, TWA_MODE_SIGNAL, 0);
	twa_expect_same(test, TASK_UNINTERRUPTIBLE, TWA_MODE_SIGNAL_NO_IPI, 0);
	twa_expect_same(test, TASK_UNINTERRUPTIBLE, TWA_MODE_SIGNAL, 1);
	twa_expect_same(test, TASK_UNINTERRUPTIBLE, TWA_MODE_SIGNAL_NO_IPI, 1);
}
#endif

/* ---- sender-side IPI counts (module/ipi.c) ----------------------------- */

/* A kthread spinning on its CPU; it stays current there (no preemption). */
static int twa_spin_fn(void *arg)
{
	struct twa_target *t = arg;

	preempt_disable();
	atomic_set(&t->wakes, 1);
	while (!kthread_should_stop()) {
		/* What a return to user mode would do: each item sets one. */
		if (test_and_clear_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL))
			atomic_inc(&t->notified);
		if (test_and_clear_tsk_thread_flag(current, TIF_NOTIFY_RESUME))
			atomic_inc(&t->notified);
		/*
		 * Stay current on this CPU, but give it up when something must
		 * run here: stop_machine() (a clocksource switch under TCG)
		 * waits for this CPU's stopper, and would wait for ever.
		 */
		if (need_resched()) {
			preempt_enable();
			schedule();
			preempt_disable();
		}
		cpu_relax();
	}
	preempt_enable();
	return 0;	/* pending task_work runs in do_exit() */
}

static struct twa_target *twa_spinner_start(struct kunit *test, int cpu)
{
	struct twa_target *t = twa_target_new(test);
	struct task_struct *task;
	int i;

	task = kthread_create(twa_spin_fn, t, "twa-spinner");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	kthread_bind(task, cpu);
	get_task_struct(task);
	t->task = task;
	wake_up_process(t->task);
	for (i = 0; i < 1000 && !atomic_read(&t->wakes); i++)
		usleep_range(100, 200);
	KUNIT_ASSERT_EQ(test, atomic_read(&t->wakes), 1);
	return t;
}

/* Context switches of @t: none while it stays current on its CPU. */
static unsigned long twa_switches(struct twa_target *t)
{
	return READ_ONCE(t->task->nvcsw) + READ_ONCE(t->task->nivcsw);
}

/* Items without a counted kick IPI over one twa_expect_sent() call, and sums. */
struct twa_uncounted {
	int items;
	s64 owed;
	u64 missed;
	unsigned long switches;
};

/*
 * Queue one item to the spinner on CPU 1 from CPU 0 and check what the
 * module counted at the sender: exactly @calls kick_process() calls, no
 * wake IPI (a running task is not woken), never more kick IPIs than calls.
 * Returns the kick IPIs sent, or -1 if no kick IPI was owed: the spinner
 * left its CPU meanwhile (it yields when something else must run there), or
 * was not on it as kick_process() was called (kick_ipis_owed), or a probe
 * hit was dropped (kprobes' nmissed). An item whose call sent no counted
 * kick IPI is added to @u.
 */
static int twa_queue_one(struct kunit *test, struct twa_target *t, enum twa_mode mode,
			 enum twa_impl impl, int calls, struct twa_uncounted *u)
{
	struct twa_test_work *w = twa_work_new(test, t);
	unsigned long sw0 = twa_switches(t);
	s64 kick0 = twa_ipi_sent(1, TWA_IPI_KICK);
	s64 wake0 = twa_ipi_sent(1, TWA_IPI_WAKE);
	s64 calls0 = twa_ipi_kick_process_calls();
	s64 owed0 = twa_ipi_kick_ipis_owed();
	u64 missed0 = twa_ipi_probes_missed();
	int notified = atomic_read(&t->notified), i;
	s64 sent, owed;
	u64 missed;

	KUNIT_ASSERT_EQ(test, __twa_task_work_add(t->task, &w->cb, mode, impl), 0);
	KUNIT_EXPECT_EQ_MSG(test, twa_ipi_kick_process_calls() - calls0, (s64)calls,
			    "mode %d impl %d", mode, impl);
	sent = twa_ipi_sent(1, TWA_IPI_KICK) - kick0;
	owed = twa_ipi_kick_ipis_owed() - owed0;
	missed = twa_ipi_probes_missed() - missed0;
	KUNIT_EXPECT_EQ(test, twa_ipi_sent(1, TWA_IPI_WAKE) - wake0, 0LL);
	KUNIT_EXPECT_LE_MSG(test, sent, (s64)calls, "mode %d impl %d", mode, impl);
	if (sent < calls) {
		u->items++;
		u->owed += owed;
		u->missed += missed;
		u->switches += twa_switches(t) - sw0;
	}
	/* The spinner clears the flag: the next item finds it clear. */
	for (i = 0; i < 1000 && atomic_read(&t->notified) == notified; i++)
		usleep_range(100, 200);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->notified), notified + 1);
	if (twa_switches(t) != sw0 || owed != calls || missed)
		return -1;
	return (int)sent;
}

/*
 * TWA_SENT_ITEMS items, each queued (or the case is aborted); they run when
 * the spinner exits. A mode that must not kick sends no kick IPI, ever. A
 * kicking mode sends one for at least 8 of the items that owed one (the
 * spinner on CPU 1 as kick_process() was called, no switch of it
 * meanwhile, no probe hit dropped): the floor the user-space suite also
 * states, for a context switch that begins inside kick_process() (on_cpu
 * is still set, rq->curr no longer is). Kicks without an IPI used to be
 * counted as owed: debug kernels preempt the spinner often (kworkers,
 * kmemleak), and one already switched out when an item began showed no
 * switch during it, since the switch counts count switch-outs only;
 * kick_ipis_owed shows it was off CPU.
 *
 * Calls without a counted kick IPI are common under host load: one line for
 * all of them, not one each. A case's log is KUNIT_LOG_SIZE (512) bytes on
 * 5.10 and 6.1, and a line past it is lost with the case's "ok" line
 * after it: kunit.py then parsed a passing suite as crashed. Only the two
 * kicking modes print, so at most four such lines, short ones.
 */
#define TWA_SENT_ITEMS	10
static void twa_expect_sent(struct kunit *test, struct twa_target *t,
			    enum twa_mode mode, enum twa_impl impl, int calls)
{
	struct twa_uncounted u = {};
	int i, sent, owed = 0, kicked = 0;

	for (i = 0; i < TWA_SENT_ITEMS; i++) {
		sent = twa_queue_one(test, t, mode, impl, calls, &u);
		if (sent < 0)
			continue;
		owed++;
		kicked += sent;
	}
	if (u.items)
		kunit_info(test, "mode %d impl %d: %d/%d without a counted kick IPI; owed %lld, missed %llu, switches %lu\n",
			   mode, impl, u.items, TWA_SENT_ITEMS, u.owed, u.missed, u.switches);
	KUNIT_EXPECT_GT_MSG(test, owed, 0, "mode %d impl %d: the spinner never stayed on CPU 1",
			    mode, impl);
	if (calls) {
		KUNIT_EXPECT_GE_MSG(test, kicked * 10, owed * 8,
				    "mode %d impl %d: %d kick IPIs for %d items that owed one",
				    mode, impl, kicked, owed);
	} else {
		KUNIT_EXPECT_EQ(test, kicked, 0);
	}
}

/*
 * The test thread's CPUs, put back when the case ends however it ends. The
 * free may run on another thread, the pinned one exiting or gone: after an
 * aborted assertion, and always where KUnit cleans up from a kthread of its
 * own (7.x). So @task is held, and it is @task's mask that is set, never
 * current's; setting an exiting task's is harmless.
 */
struct twa_pin {
	struct task_struct *task;
	struct cpumask saved;
};

static void twa_pin_free(struct kunit_resource *res)
{
	struct twa_pin *p = res->data;

	set_cpus_allowed_ptr(p->task, &p->saved);
	put_task_struct(p->task);
	kfree(p);
}

static void twa_pin_current(struct kunit *test, int cpu)
{
	struct twa_pin *p = kzalloc(sizeof(*p), GFP_KERNEL);
	void *res;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p);
	get_task_struct(current);
	p->task = current;
	cpumask_copy(&p->saved, current->cpus_ptr);
	res = kunit_alloc_resource(test, NULL, twa_pin_free, GFP_KERNEL, p);
	if (!res) {
		put_task_struct(p->task);
		kfree(p);
	}
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, res);
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current, cpumask_of(cpu)), 0);
}

static void twa_test_ipi_sent(struct kunit *test)
{
	static const enum twa_impl impls[] = { TWA_IMPL_NATIVE, TWA_IMPL_BACKPORT };
	struct twa_target *t;
	int i, queued = 0;

	KUNIT_ASSERT_GE(test, num_online_cpus(), 2U);
	KUNIT_ASSERT_GE_MSG(test, twa_ipi_kick_process_calls(), 0LL,
			    "the module counts no IPIs on this kernel");
	/* Queue from CPU 0, to a target that is current on CPU 1. */
	twa_pin_current(test, 0);
	t = twa_spinner_start(test, 1);
	for (i = 0; i < ARRAY_SIZE(impls); i++) {
		twa_expect_sent(test, t, TWA_MODE_SIGNAL, impls[i], 1);
		twa_expect_sent(test, t, TWA_MODE_RESUME, impls[i], 1);
		queued += 2 * TWA_SENT_ITEMS;
		if (impls[i] == TWA_IMPL_NATIVE &&
		    !twa_native_has_mode(TWA_MODE_SIGNAL_NO_IPI))
			continue;
		twa_expect_sent(test, t, TWA_MODE_SIGNAL_NO_IPI, impls[i], 0);
		queued += TWA_SENT_ITEMS;
	}
	twa_target_stop(test, t, queued);
}

/* ---- the deadline mode (module/deadline.c) ----------------------------- */

struct twa_test_dwork {
	struct twa_deadline_work dw;
	struct twa_target *target;
	int state;	/* dw.state as the work ran */
};

static void twa_test_dwork_fn(struct callback_head *cb)
{
	struct twa_test_dwork *w = container_of(cb, struct twa_test_dwork, dw.cb);

	w->state = atomic_read(&w->dw.state);
	atomic_inc(&w->target->ran);
}

/* Queue a deadline work to @t; kernel threads too, as the other cases do. */
static struct twa_test_dwork *twa_dwork_queue(struct kunit *test, struct twa_target *t,
					      u64 deadline_ns)
{
	struct twa_test_dwork *w = twa_target_alloc(test, t, sizeof(*w));

	w->target = t;
	w->state = -1;
	KUNIT_ASSERT_EQ(test, __twa_deadline_work_add(t->task, &w->dw, twa_test_dwork_fn,
						      deadline_ns, TWA_IMPL_AUTO,
						      __twa_task_work_add), 0);
	return w;
}

/* Wait until @w's deadline has passed and its timer acted. */
static int twa_dwork_wait(struct twa_test_dwork *w)
{
	int i;

	for (i = 0; i < 2000 && atomic_read(&w->dw.state) == TWA_DEADLINE_PENDING; i++)
		usleep_range(500, 1000);
	return atomic_read(&w->dw.state);
}

/*
 * A spinner on CPU 1 never runs its task_work (a kthread does so only in
 * do_exit()): every work's deadline passes, and its timer kicks, each after
 * the last kick, so never covered. Kick IPIs counted at the sender, under
 * the floor twa_expect_sent() states.
 */
static void twa_test_deadline_kicks(struct kunit *test)
{
	s64 kicks0 = atomic64_read(&twa_deadline_stats.kicks);
	s64 ipi0, owed0, calls0;
	struct twa_target *t;
	int i, n = 10;

	KUNIT_ASSERT_GE(test, num_online_cpus(), 2U);
	twa_pin_current(test, 0);
	t = twa_spinner_start(test, 1);
	ipi0 = twa_ipi_sent(1, TWA_IPI_DEADLINE);
	owed0 = twa_ipi_deadline_kick_ipis_owed();
	calls0 = twa_ipi_kick_process_calls();
	for (i = 0; i < n; i++) {
		struct twa_test_dwork *w = twa_dwork_queue(test, t, NSEC_PER_MSEC);

		KUNIT_EXPECT_EQ(test, twa_dwork_wait(w), TWA_DEADLINE_KICKED);
		KUNIT_EXPECT_TRUE(test, w->dw.armed_ns + NSEC_PER_MSEC <= ktime_get_ns());
	}
	KUNIT_EXPECT_EQ(test, atomic64_read(&twa_deadline_stats.kicks) - kicks0, (s64)n);
	KUNIT_EXPECT_EQ(test, twa_ipi_kick_process_calls() - calls0, 0LL);
	if (twa_ipi_kick_process_calls() >= 0) {
		s64 sent = twa_ipi_sent(1, TWA_IPI_DEADLINE) - ipi0;
		s64 owed = twa_ipi_deadline_kick_ipis_owed() - owed0;

		KUNIT_EXPECT_LE(test, sent, (s64)n);
		KUNIT_EXPECT_GE_MSG(test, sent * 10, owed * 8, "%lld deadline kick IPIs, %lld owed",
				    sent, owed);
	}
	twa_target_stop(test, t, n);
}

/* Two works back to back from one CPU: the first's kick serves the second. */
static void twa_test_deadline_covered(struct kunit *test)
{
	struct twa_test_dwork *a, *b;
	struct twa_target *t;

	KUNIT_ASSERT_GE(test, num_online_cpus(), 2U);
	twa_pin_current(test, 0);
	t = twa_spinner_start(test, 1);
	a = twa_dwork_queue(test, t, 20 * NSEC_PER_MSEC);
	b = twa_dwork_queue(test, t, 60 * NSEC_PER_MSEC);
	KUNIT_EXPECT_EQ(test, twa_dwork_wait(a), TWA_DEADLINE_KICKED);
	KUNIT_EXPECT_EQ(test, twa_dwork_wait(b), TWA_DEADLINE_COVERED);
	twa_target_stop(test, t, 2);
	KUNIT_EXPECT_EQ(test, a->state, TWA_DEADLINE_KICKED);
	KUNIT_EXPECT_EQ(test, b->state, TWA_DEADLINE_COVERED);
}

/*
 * A target that exits with works pending runs them in do_exit(), before
 * their deadlines: each is met, its timer cancelled (not active once the
 * work ran) and never fires; a deadline of 0 queues as signal, no timer.
 */
static void twa_test_deadline_exit_pending(struct kunit *test)
{
	s64 kicks0 = atomic64_read(&twa_deadline_stats.kicks);
	struct twa_test_dwork *w[3];
	struct twa_target *t;
	int i;

	t = twa_target_start(test, TASK_UNINTERRUPTIBLE);
	for (i = 0; i < 2; i++)
		w[i] = twa_dwork_queue(test, t, 5 * NSEC_PER_SEC);
	w[2] = twa_dwork_queue(test, t, 0);
	twa_target_stop(test, t, 3);
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_EQ(test, w[i]->state, TWA_DEADLINE_MET);
		KUNIT_EXPECT_FALSE(test, hrtimer_active(&w[i]->dw.timer));
	}
	KUNIT_EXPECT_EQ(test, w[2]->state, TWA_DEADLINE_IMMEDIATE);
	KUNIT_EXPECT_EQ(test, atomic64_read(&twa_deadline_stats.kicks), kicks0);
	KUNIT_EXPECT_EQ(test, __twa_deadline_work_add(current, &w[0]->dw, twa_test_dwork_fn,
						      TWA_DEADLINE_MAX_NS + 1, TWA_IMPL_AUTO,
						      __twa_task_work_add), -EINVAL);
}

/*
 * The timer and the work race for the work's state: whoever moves it from
 * pending wins. A timer that fires as the work runs (state met) does
 * nothing; a work that runs after its timer kicked keeps "kicked" and is
 * not counted met.
 */
static void twa_test_deadline_fire_vs_run(struct kunit *test)
{
	struct twa_target *t = twa_target_new(test);
	struct twa_test_dwork *w = twa_target_alloc(test, t, sizeof(*w));
	s64 kicks0 = atomic64_read(&twa_deadline_stats.kicks);
	s64 met0 = atomic64_read(&twa_deadline_stats.met);

	w->target = t;
	w->dw.func = twa_test_dwork_fn;
	w->dw.task = current;
	twa_compat_hrtimer_setup(&w->dw.timer, twa_deadline_fire, CLOCK_MONOTONIC,
				 HRTIMER_MODE_REL_PINNED_HARD);
	atomic_set(&w->dw.state, TWA_DEADLINE_MET);
	KUNIT_EXPECT_EQ(test, (int)twa_deadline_fire(&w->dw.timer), (int)HRTIMER_NORESTART);
	KUNIT_EXPECT_EQ(test, atomic_read(&w->dw.state), TWA_DEADLINE_MET);
	KUNIT_EXPECT_EQ(test, atomic64_read(&twa_deadline_stats.kicks), kicks0);

	atomic_set(&w->dw.state, TWA_DEADLINE_KICKED);
	get_task_struct(current);	/* what twa_deadline_run() drops */
	twa_deadline_run(&w->dw.cb);
	KUNIT_EXPECT_EQ(test, w->state, TWA_DEADLINE_KICKED);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->ran), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&twa_deadline_stats.met), met0);
}

/*
 * CPU hotplug: a deadline timer is pinned to its queueing CPU; taken
 * offline, the CPU hands it to another, where it still fires, once.
 */
static void twa_test_deadline_hotplug(struct kunit *test)
{
#ifdef CONFIG_HOTPLUG_CPU
	struct twa_test_dwork *w;
	struct twa_target *t;
	int ret;

	KUNIT_ASSERT_GE(test, num_online_cpus(), 2U);
	t = twa_target_start(test, TASK_UNINTERRUPTIBLE);
	twa_pin_current(test, 1);
	w = twa_dwork_queue(test, t, 50 * NSEC_PER_MSEC);
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current, cpumask_of(0)), 0);
	ret = remove_cpu(1);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "remove_cpu(1)");
	KUNIT_EXPECT_EQ(test, twa_dwork_wait(w), TWA_DEADLINE_KICKED);
	KUNIT_ASSERT_EQ_MSG(test, add_cpu(1), 0, "add_cpu(1)");
	twa_target_stop(test, t, 1);
	KUNIT_EXPECT_EQ(test, w->state, TWA_DEADLINE_KICKED);
#else
	kunit_info(test, "no CONFIG_HOTPLUG_CPU: nothing to take offline\n");
#endif
}

static struct kunit_case twa_deadline_cases[] = {
	KUNIT_CASE(twa_test_deadline_kicks),
	KUNIT_CASE(twa_test_deadline_covered),
	KUNIT_CASE(twa_test_deadline_exit_pending),
	KUNIT_CASE(twa_test_deadline_fire_vs_run),
	KUNIT_CASE(twa_test_deadline_hotplug),
	{}
};

static struct kunit_case twa_notify_cases[] = {
	KUNIT_CASE(twa_test_running_needs_kick),
	KUNIT_CASE(twa_test_already_set_no_kick),
	KUNIT_CASE(twa_test_interruptible_woken),
	KUNIT_CASE(twa_test_uninterruptible_not_woken),
	KUNIT_CASE(twa_test_set_kicks_running),
	KUNIT_CASE(twa_test_set_no_kick_for_sleeper),
	KUNIT_CASE(twa_test_kick_iff_needed),
	KUNIT_CASE(twa_test_endbr_entry),
	KUNIT_CASE(twa_test_bti_entry),
	KUNIT_CASE(twa_test_ipi_sent),
	{}
};

#ifdef kunit_test_suites_for_module
#define TWA_SUITE_HOOKS		/* the probes are armed in module_init() */
#else
/* Since 5.18 suites run when the module comes, before its init: suite_init. */
static int twa_suite_init(struct kunit_suite *suite)
{
	return twa_probes_register();
}

static void twa_suite_exit(struct kunit_suite *suite)
{
	twa_probes_unregister();
}

#define TWA_SUITE_HOOKS .suite_init = twa_suite_init, .suite_exit = twa_suite_exit,
#endif

static struct kunit_suite twa_notify_suite = {
	.name = "twa_noipi_notify",
	TWA_SUITE_HOOKS
	.init = twa_test_init,
	.exit = twa_test_exit,
	.test_cases = twa_notify_cases,
};

static struct kunit_case twa_queue_cases[] = {
	KUNIT_CASE(twa_test_kthread_rejected),
	KUNIT_CASE(twa_test_exiting_task),
	KUNIT_CASE(twa_test_bad_mode_impl),
	KUNIT_CASE(twa_test_native_mode_missing),
	KUNIT_CASE(twa_test_flags_none),
	KUNIT_CASE(twa_test_flags_resume),
	KUNIT_CASE(twa_test_flags_signal),
	KUNIT_CASE(twa_test_flags_signal_no_ipi),
	KUNIT_CASE(twa_test_counters),
	KUNIT_CASE(twa_test_concurrent_queuers),
#ifdef TWA_HAVE_TWA_SIGNAL_NO_IPI
	KUNIT_CASE(twa_test_differential),
#endif
	{}
};

static struct kunit_suite twa_queue_suite = {
	.name = "twa_noipi_queue",
	TWA_SUITE_HOOKS
	.init = twa_test_init,
	.exit = twa_test_exit,
	.test_cases = twa_queue_cases,
};

static struct kunit_suite twa_deadline_suite = {
	.name = "twa_noipi_deadline",
	TWA_SUITE_HOOKS
	.init = twa_test_init,
	.exit = twa_test_exit,
	.test_cases = twa_deadline_cases,
};

#ifdef kunit_test_suites_for_module
/*
 * Before 5.18 a KUnit module runs its suites from its own module_init(), and
 * kunit_test_suites() would define it: define it here, around the probes.
 */
static struct kunit_suite *twa_suites[] = { &twa_notify_suite, &twa_queue_suite,
					     &twa_deadline_suite, NULL };

static int __init twa_kunit_init(void)
{
	int ret = twa_probes_register();

	if (ret)
		return ret;
	return __kunit_test_suites_init(twa_suites);
}
module_init(twa_kunit_init);

static void __exit twa_kunit_exit(void)
{
	__kunit_test_suites_exit(twa_suites);
	twa_probes_unregister();
}
module_exit(twa_kunit_exit);
#else
kunit_test_suites(&twa_notify_suite, &twa_queue_suite, &twa_deadline_suite);
#endif

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suites for twa-noipi");
