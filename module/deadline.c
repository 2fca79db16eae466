// SPDX-License-Identifier: GPL-2.0
/*
 * The deadline mode: TWA_SIGNAL_NO_IPI, and one kick_process() of the target
 * if the work has not run a deadline after it was queued. Between the two
 * ends of the trade-off: TWA_SIGNAL (an IPI per work, microseconds) and
 * TWA_SIGNAL_NO_IPI (no IPI, a wait for the target's next kernel entry: a
 * tick, or on a nohz_full CPU no bound at all). Documented in
 * include/twa_noipi.h (the API) and docs/module.md (the design).
 *
 * A timer per work, embedded in it: nothing is allocated on the queueing
 * path, and no per-task state is needed, which task_struct has no room for.
 * What keeps a high rate from kicking once per work is a per-CPU record of
 * the last deadline kick: a timer that finds its task kicked from this CPU
 * since its work was queued sends nothing, as that kick already forces the
 * task through the exit to user mode, where task_work_run() runs every work
 * queued before it.
 */
#include <linux/hrtimer.h>
#include <linux/irqflags.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/task_work.h>

#include "compat.h"
#include "internal.h"

struct twa_deadline_stats twa_deadline_stats;
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_deadline_stats);

/* The last deadline kick from this CPU; written by its timers only. */
struct twa_deadline_last {
	struct task_struct *task;	/* compared, never dereferenced */
	u64 kick_ns;
};

static DEFINE_PER_CPU(struct twa_deadline_last, twa_deadline_last);

/**
 * twa_deadline_fire - a deadline timer: kick the task, unless no longer due
 * @timer: the timer of a struct twa_deadline_work
 *
 * Hard interrupt context (HRTIMER_MODE_*_HARD, on PREEMPT_RT too): a kick
 * due is sent, not deferred to a softirq thread that a busy CPU may not run.
 * The work's run, which cancels this timer before it drops the task, cannot
 * free anything under it. Exported on KUnit kernels only.
 *
 * Return: HRTIMER_NORESTART: a work is kicked once at most.
 */
enum hrtimer_restart twa_deadline_fire(struct hrtimer *timer)
{
	struct twa_deadline_work *dw =
		container_of(timer, struct twa_deadline_work, timer);
	struct twa_deadline_last *last = this_cpu_ptr(&twa_deadline_last);
	bool covered = last->task == dw->task && last->kick_ns > dw->armed_ns;
	int to = covered ? TWA_DEADLINE_COVERED : TWA_DEADLINE_KICKED;

	/* The work may be running now: whoever moves it from pending wins. */
	if (atomic_cmpxchg(&dw->state, TWA_DEADLINE_PENDING, to) !=
	    TWA_DEADLINE_PENDING)
		return HRTIMER_NORESTART;
	if (covered) {
		atomic64_inc(&twa_deadline_stats.covered);
		return HRTIMER_NORESTART;
	}
	/*
	 * Before the kick: a later work's timer compares its own armed_ns
	 * with this, and a kick sent after it was queued forces it in too.
	 */
	last->task = dw->task;
	last->kick_ns = ktime_get_ns();
	atomic64_inc(&twa_deadline_stats.kicks);
	twa_ipi_deadline_kick_begin(dw->task);
	kick_process(dw->task);
	twa_ipi_deadline_kick_end();
	return HRTIMER_NORESTART;
}
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_deadline_fire);

/**
 * twa_deadline_run - the task_work func of every deadline work
 * @cb: the work's callback_head, in the target's task_work_run()
 *
 * Settles the work's state (met, unless its timer acted first), cancels the
 * timer, drops the task, and calls the caller's func last. Exported on KUnit
 * kernels only.
 */
void twa_deadline_run(struct callback_head *cb)
{
	struct twa_deadline_work *dw =
		container_of(cb, struct twa_deadline_work, cb);
	int state;

	/*
	 * The queueing CPU arms the timer after the work is queued, with
	 * preemption off: a few microseconds at most, and the timer must be
	 * armed before it is cancelled here, or it would fire on freed memory.
	 */
	while ((state = atomic_read_acquire(&dw->state)) == TWA_DEADLINE_QUEUEING)
		cpu_relax();
	if (state == TWA_DEADLINE_PENDING &&
	    atomic_cmpxchg(&dw->state, TWA_DEADLINE_PENDING, TWA_DEADLINE_MET) ==
	    TWA_DEADLINE_PENDING)
		atomic64_inc(&twa_deadline_stats.met);
	if (state != TWA_DEADLINE_IMMEDIATE) {
		/* Waits for a firing timer: the task is still referenced. */
		hrtimer_cancel(&dw->timer);
		put_task_struct(dw->task);
	}
	dw->func(cb);	/* last: it may free @dw */
}
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_deadline_run);

/* Queue @dw as TWA_SIGNAL_NO_IPI and arm its timer, as one step. */
static int twa_deadline_arm(struct task_struct *task, struct twa_deadline_work *dw,
			    u64 deadline_ns, enum twa_impl impl, twa_add_fn add)
{
	unsigned long flags;
	int ret;

	atomic_set(&dw->state, TWA_DEADLINE_QUEUEING);
	get_task_struct(task);
	dw->task = task;
	twa_compat_hrtimer_setup(&dw->timer, twa_deadline_fire, CLOCK_MONOTONIC,
				 HRTIMER_MODE_REL_PINNED_HARD);
	/* Bounds twa_deadline_run()'s wait for the state to leave QUEUEING. */
	preempt_disable();
	ret = add(task, &dw->cb, TWA_MODE_SIGNAL_NO_IPI, impl);
	if (!ret) {
		/*
		 * Interrupts off from arming to pending: the timer is pinned
		 * here, and fired in between (a vCPU the host did not run for
		 * D, seen on debug-7.x) it would find the work still queueing,
		 * do nothing, and leave it pending with no kick to come.
		 */
		local_irq_save(flags);
		/* After the queueing: a kick from now on finds the work queued. */
		dw->armed_ns = ktime_get_ns();
		hrtimer_start(&dw->timer, ns_to_ktime(deadline_ns),
			      HRTIMER_MODE_REL_PINNED_HARD);
		atomic_set_release(&dw->state, TWA_DEADLINE_PENDING);
		local_irq_restore(flags);
	}
	preempt_enable();
	if (ret)
		put_task_struct(task);
	return ret;
}

/**
 * __twa_deadline_work_add - twa_deadline_work_add() with its queueing call
 * @task: the task to run the work
 * @dw: the work
 * @func: the caller's callback
 * @deadline_ns: the deadline; 0 queues as TWA_SIGNAL
 * @impl: native, backport or auto
 * @add: twa_task_work_add(), or __twa_task_work_add() (the KUnit suites
 *       queue to kernel threads, which the former refuses)
 *
 * Exported on KUnit kernels only.
 *
 * Return: as twa_deadline_work_add().
 */
int __twa_deadline_work_add(struct task_struct *task, struct twa_deadline_work *dw,
			    task_work_func_t func, u64 deadline_ns,
			    enum twa_impl impl, twa_add_fn add)
{
	int ret;

	if (deadline_ns > TWA_DEADLINE_MAX_NS)
		return -EINVAL;
	init_task_work(&dw->cb, twa_deadline_run);
	dw->func = func;
	/* Counted before: the work may run before the call returns. */
	atomic64_inc(&twa_deadline_stats.queued);
	if (!deadline_ns) {
		atomic_set(&dw->state, TWA_DEADLINE_IMMEDIATE);
		ret = add(task, &dw->cb, TWA_MODE_SIGNAL, impl);
	} else {
		ret = twa_deadline_arm(task, dw, deadline_ns, impl, add);
	}
	if (ret)
		atomic64_dec(&twa_deadline_stats.queued);
	return ret;
}
EXPORT_SYMBOL_IF_TWA_KUNIT(__twa_deadline_work_add);

int twa_deadline_work_add(struct task_struct *task, struct twa_deadline_work *dw,
			  task_work_func_t func, u64 deadline_ns, enum twa_impl impl)
{
	return __twa_deadline_work_add(task, dw, func, deadline_ns, impl,
				       twa_task_work_add);
}
EXPORT_SYMBOL_GPL(twa_deadline_work_add);

void twa_deadline_reset(void)
{
	atomic64_set(&twa_deadline_stats.queued, 0);
	atomic64_set(&twa_deadline_stats.met, 0);
	atomic64_set(&twa_deadline_stats.kicks, 0);
	atomic64_set(&twa_deadline_stats.covered, 0);
}

void twa_deadline_show_stats(struct seq_file *m)
{
	seq_printf(m, "deadline_queued %lld\n",
		   atomic64_read(&twa_deadline_stats.queued));
	seq_printf(m, "deadline_met %lld\n", atomic64_read(&twa_deadline_stats.met));
	seq_printf(m, "deadline_kicks %lld\n",
		   atomic64_read(&twa_deadline_stats.kicks));
	seq_printf(m, "deadline_covered %lld\n",
		   atomic64_read(&twa_deadline_stats.covered));
}
