/* SPDX-License-Identifier: GPL-2.0 */
/*
 * twa-noipi: TWA_SIGNAL_NO_IPI-style task_work notification on every
 * supported kernel. Native where the kernel has it (5.19+), a backport of
 * __set_notify_signal() where it does not, same call either way.
 */
#ifndef _TWA_NOIPI_H
#define _TWA_NOIPI_H

#include <linux/sched.h>
#include <linux/types.h>

struct callback_head;

/* How the target is told about the work; mirrors enum task_work_notify_mode. */
enum twa_mode {
	TWA_MODE_NONE,		/* queue only: runs at the next task_work_run() */
	TWA_MODE_RESUME,	/* TIF_NOTIFY_RESUME + kick */
	TWA_MODE_SIGNAL,	/* TIF_NOTIFY_SIGNAL + wake or kick */
	TWA_MODE_SIGNAL_NO_IPI,	/* TIF_NOTIFY_SIGNAL + wake, never a kick */
	TWA_MODE_COUNT,
};

/* Which code notifies the target. */
enum twa_impl {
	TWA_IMPL_AUTO,		/* native where the kernel has the mode */
	TWA_IMPL_NATIVE,	/* task_work_add(..., native mode) */
	TWA_IMPL_BACKPORT,	/* task_work_add(TWA_NONE) + our notify */
	TWA_IMPL_COUNT,
};

/*
 * Backport of __set_notify_signal() (Linux 5.19): set TIF_NOTIFY_SIGNAL and
 * wake an interruptible sleeper. Returns true if the flag was newly set and
 * nothing was woken, i.e. a kick_process() is needed to force the task from
 * user to kernel mode.
 */
bool twa___set_notify_signal(struct task_struct *task);

/* Backport of set_notify_signal(): __set_notify_signal(), kick if needed. */
void twa_set_notify_signal(struct task_struct *task);

/* True if the running kernel's task_work_add() implements @mode itself. */
bool twa_native_has_mode(enum twa_mode mode);

/*
 * Queue @work on @task and notify it per @mode, using @impl.
 * Returns 0, -ESRCH if @task is exiting, -EINVAL for a kernel thread or a
 * bad mode/impl, -EOPNOTSUPP if @impl is native and the kernel lacks @mode.
 * The caller keeps @work alive until its func has run.
 */
int twa_task_work_add(struct task_struct *task, struct callback_head *work,
		      enum twa_mode mode, enum twa_impl impl);

/*
 * For a module whose task_work callbacks end with module_put(): call from
 * its exit function. Returns once no task can still be executing such a
 * callback's last instructions (an RCU-tasks grace period where the kernel
 * exports one, an RCU grace period on kernels without preemption).
 */
void twa_synchronize_callbacks(void);

#endif /* _TWA_NOIPI_H */
