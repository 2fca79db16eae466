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
#include "../include/twa_noipi_shim.h"

/*
 * The three functions below are Linux 5.19's (include/linux/sched/signal.h
 * and resume_user_mode.h), project-prefixed and exported, comments and all:
 * wake_up_state() and kick_process() here are compat.h's stand-ins of the
 * same names. Documented in include/twa_noipi.h.
 *
 * The renames are made here, after every header, and in no other file:
 * this is the only code that calls the stand-ins by the upstream names. In
 * a header they would reach every file that includes it, and silently turn
 * a call meant for the kernel's function into a call of ours. The same goes
 * for task_work_add(), whose stand-in (compat.c) calls the export or the
 * function the kprobe lookup found (task_work_add_method).
 */
#define wake_up_state	twa_compat_wake_up_state
#define kick_process	twa_compat_kick_process
#define task_work_add	twa_compat_task_work_add

/*
 * Returns 'true' if kick_process() is needed to force a transition from
 * user -> kernel to guarantee expedient run of TWA_SIGNAL based task_work.
 */
bool twa___set_notify_signal(struct task_struct *task)
{
	return !test_and_set_tsk_thread_flag(task, TIF_NOTIFY_SIGNAL) &&
	       !wake_up_state(task, TASK_INTERRUPTIBLE);
}
EXPORT_SYMBOL_GPL(twa___set_notify_signal);

/*
 * Called to break out of interruptible wait loops, and enter the
 * exit_to_user_mode_loop().
 */
void twa_set_notify_signal(struct task_struct *task)
{
	if (twa___set_notify_signal(task))
		kick_process(task);
}
EXPORT_SYMBOL_GPL(twa_set_notify_signal);

static void twa_set_notify_resume(struct task_struct *task)
{
	if (!test_and_set_tsk_thread_flag(task, TIF_NOTIFY_RESUME))
		kick_process(task);
}

/* The mode each twa_mode is in the kernel's own enum, where it has it. */
static const enum task_work_notify_mode twa_native_modes[TWA_MODE_COUNT] = {
	[TWA_MODE_NONE] = TWA_NONE,
	[TWA_MODE_RESUME] = TWA_RESUME,
	[TWA_MODE_SIGNAL] = TWA_SIGNAL,
#ifdef TWA_HAVE_TWA_SIGNAL_NO_IPI
	[TWA_MODE_SIGNAL_NO_IPI] = TWA_SIGNAL_NO_IPI,
#endif
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

/**
 * __twa_task_work_add - twa_task_work_add() without its checks on @task
 * @task: the task to run @work
 * @work: the callback
 * @mode: how @task is told
 * @impl: native, backport or auto
 *
 * The queueing and notification alone, for any task. Exported on KUnit
 * kernels only, so the suites can watch it act on kernel threads, which
 * twa_task_work_add() refuses.
 *
 * Return: as twa_task_work_add(), without -ESRCH and the kernel thread's
 * -EINVAL.
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

/* The twa_mode of a notify value, if it is one of the four; else -1. */
static int twa_shim_mode(enum task_work_notify_mode notify)
{
	if (notify == TWA_NONE)
		return TWA_MODE_NONE;
	if (notify == TWA_RESUME)
		return TWA_MODE_RESUME;
	if (notify == TWA_SIGNAL)
		return TWA_MODE_SIGNAL;
#ifdef TWA_HAVE_TWA_SIGNAL_NO_IPI
	if (notify == TWA_SIGNAL_NO_IPI)
		return TWA_MODE_SIGNAL_NO_IPI;
#else
	if (notify == TWA_SHIM_SIGNAL_NO_IPI)
		return TWA_MODE_SIGNAL_NO_IPI;
#endif
	return -1;
}

/*
 * The shim's task_work_add() (include/shim/linux/task_work.h; kernel-doc in
 * include/twa_noipi_shim.h). The four modes go through
 * __twa_task_work_add(), native where the kernel has the mode, so that the
 * IPI counts file what a consumer's call sends as a twa queueing call's;
 * a mode of the kernel's own beyond those (TWA_NMI_CURRENT, 6.11+) goes to
 * its task_work_add() as it is.
 */
int twa_shim_task_work_add(struct task_struct *task, struct callback_head *work,
			   enum task_work_notify_mode notify)
{
	int mode = twa_shim_mode(notify);
	int ret, slot;

	if (mode >= 0)
		return __twa_task_work_add(task, work, mode, TWA_IMPL_AUTO);
	slot = twa_ipi_notify_begin();
	ret = task_work_add(task, work, notify);
	twa_ipi_notify_end(slot);
	return ret;
}
EXPORT_SYMBOL_GPL(twa_shim_task_work_add);
