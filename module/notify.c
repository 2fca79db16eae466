// SPDX-License-Identifier: GPL-2.0
/*
 * The backport: __set_notify_signal() and set_notify_signal() as Linux 5.19
 * defines them, and a task_work_add() that can use them on any kernel.
 */
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/task_work.h>

#include "compat.h"
#include "internal.h"

bool twa___set_notify_signal(struct task_struct *task)
{
	/* Already set: whoever set it woke or kicked the task. */
	if (test_and_set_tsk_thread_flag(task, TIF_NOTIFY_SIGNAL))
		return false;
	/* An interruptible sleeper wakes and sees signal_pending(). */
	if (twa_compat_wake_up_state(task, TASK_INTERRUPTIBLE)) {
		atomic64_inc(&twa_stats.wakeups);
		return false;
	}
	/* Running (maybe in user space): only a kick makes it enter now. */
	return true;
}
EXPORT_SYMBOL_GPL(twa___set_notify_signal);

void twa_set_notify_signal(struct task_struct *task)
{
	if (twa___set_notify_signal(task)) {
		atomic64_inc(&twa_stats.kicks);
		kick_process(task);
	}
}
EXPORT_SYMBOL_GPL(twa_set_notify_signal);

/* What set_notify_resume() does, counted like the signal kick. */
static void twa_set_notify_resume(struct task_struct *task)
{
	if (!test_and_set_tsk_thread_flag(task, TIF_NOTIFY_RESUME)) {
		atomic64_inc(&twa_stats.kicks);
		kick_process(task);
	}
}

static const enum task_work_notify_mode twa_native_modes[TWA_MODE_COUNT] = {
	[TWA_MODE_NONE] = TWA_NONE,
	[TWA_MODE_RESUME] = TWA_RESUME,
	[TWA_MODE_SIGNAL] = TWA_SIGNAL,
	[TWA_MODE_SIGNAL_NO_IPI] = TWA_COMPAT_SIGNAL_NO_IPI,
};

bool twa_native_has_mode(enum twa_mode mode)
{
	if (mode == TWA_MODE_SIGNAL_NO_IPI)
		return TWA_COMPAT_NATIVE_SIGNAL_NO_IPI;
	return mode < TWA_MODE_COUNT;
}
EXPORT_SYMBOL_GPL(twa_native_has_mode);

static void twa_backport_notify(struct task_struct *task, enum twa_mode mode)
{
	switch (mode) {
	case TWA_MODE_RESUME:
		twa_set_notify_resume(task);
		break;
	case TWA_MODE_SIGNAL:
		twa_set_notify_signal(task);
		break;
	case TWA_MODE_SIGNAL_NO_IPI:
		twa___set_notify_signal(task);
		break;
	default:
		break;
	}
}

/*
 * The queueing and notification alone, for any task. Exported on KUnit
 * kernels only, so the suites can watch it act on kernel threads, which
 * twa_task_work_add() refuses.
 */
int __twa_task_work_add(struct task_struct *task, struct callback_head *work,
			enum twa_mode mode, enum twa_impl impl)
{
	int ret, slot;

	if (mode >= TWA_MODE_COUNT || impl >= TWA_IMPL_COUNT)
		return -EINVAL;
	if (impl == TWA_IMPL_AUTO)
		impl = twa_native_has_mode(mode) ? TWA_IMPL_NATIVE : TWA_IMPL_BACKPORT;
	if (impl == TWA_IMPL_NATIVE && !twa_native_has_mode(mode))
		return -EOPNOTSUPP;
	/* IPIs sent from here on are this call's: see ipi.c. */
	slot = twa_ipi_notify_begin();
	if (impl == TWA_IMPL_NATIVE) {
		ret = task_work_add(task, work, twa_native_modes[mode]);
	} else {
		/*
		 * Queue first, notify after: the flag must never be seen
		 * without the work it announces. If the task runs the work
		 * early on its own, the flag only costs it one extra, empty
		 * task_work_run().
		 */
		ret = task_work_add(task, work, TWA_NONE);
		if (!ret)
			twa_backport_notify(task, mode);
	}
	twa_ipi_notify_end(slot);
	return ret;
}
EXPORT_SYMBOL_IF_TWA_KUNIT(__twa_task_work_add);

int twa_task_work_add(struct task_struct *task, struct callback_head *work,
		      enum twa_mode mode, enum twa_impl impl)
{
	if (task->flags & PF_EXITING)
		return -ESRCH;
	/* A kernel thread never returns to user mode: its work would not run. */
	if (task->flags & PF_KTHREAD)
		return -EINVAL;
	return __twa_task_work_add(task, work, mode, impl);
}
EXPORT_SYMBOL_GPL(twa_task_work_add);
