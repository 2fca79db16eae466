/* SPDX-License-Identifier: GPL-2.0 */
/*
 * twa-noipi: TWA_SIGNAL_NO_IPI-style task_work notification on every
 * supported kernel. Native where the kernel has it (5.19+), a backport of
 * __set_notify_signal() where it does not, same call either way.
 *
 * Which to use: a new module should not include this header. It should be
 * written as upstream code, task_work_add(task, work, TWA_SIGNAL_NO_IPI)
 * with the kernel's <linux/task_work.h>, and built through the shim (one
 * line in its Kbuild: include .../include/shim/Kbuild.include), which adds
 * only what the target kernel lacks: on a kernel with the mode and the
 * export such a module does not depend on twa_noipi at all
 * (examples/consumer/). This API is for what the shim does not express:
 * choosing native or backport per call, side by side (the bench, the test
 * suites), and asking which the kernel has.
 */
#ifndef _TWA_NOIPI_H
#define _TWA_NOIPI_H

#include <linux/hrtimer.h>
#include <linux/sched.h>
#include <linux/task_work.h>
#include <linux/types.h>

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

/**
 * twa___set_notify_signal - backport of __set_notify_signal() (Linux 5.19)
 * @task: the task to notify
 *
 * Sets TIF_NOTIFY_SIGNAL on @task and wakes it if it sleeps interruptibly.
 * Sends no IPI: this is what TWA_SIGNAL_NO_IPI does.
 *
 * Return: true if the flag was newly set and nothing was woken, i.e. a
 * kick_process() is needed to force @task from user to kernel mode now.
 */
bool twa___set_notify_signal(struct task_struct *task);

/**
 * twa_set_notify_signal - backport of set_notify_signal() (Linux 5.19)
 * @task: the task to notify
 *
 * twa___set_notify_signal(), then kick_process() if it says so: what
 * TWA_SIGNAL does.
 */
void twa_set_notify_signal(struct task_struct *task);

/**
 * twa_native_has_mode - whether the kernel's task_work_add() has a mode
 * @mode: the mode asked about
 *
 * Return: true if the running kernel's task_work_add() implements @mode
 * itself (TWA_MODE_SIGNAL_NO_IPI: 5.19+).
 */
bool twa_native_has_mode(enum twa_mode mode);

/**
 * twa_task_work_add - queue task_work and notify the task
 * @task: the task to run @work
 * @work: the callback; the caller keeps it alive until its func has run
 * @mode: how @task is told: none, resume, signal or signal_no_ipi
 * @impl: native task_work_add(), the backport, or auto (native if it can)
 *
 * Return: 0; -ESRCH if @task is exiting; -EINVAL for a kernel thread or a
 * bad @mode or @impl; -EOPNOTSUPP if @impl is native and the kernel lacks
 * @mode.
 */
int twa_task_work_add(struct task_struct *task, struct callback_head *work,
		      enum twa_mode mode, enum twa_impl impl);

/* What became of a twa_deadline_work: its state, final once its func runs. */
enum twa_deadline_state {
	TWA_DEADLINE_QUEUEING,	/* being queued: the timer not yet armed */
	TWA_DEADLINE_PENDING,	/* queued, the timer armed */
	TWA_DEADLINE_MET,	/* ran before its deadline: no kick */
	TWA_DEADLINE_KICKED,	/* the deadline passed: its timer kicked the task */
	TWA_DEADLINE_COVERED,	/* passed, but a kick since it was queued serves */
	TWA_DEADLINE_IMMEDIATE,	/* a deadline of 0: queued as TWA_SIGNAL */
};

/**
 * struct twa_deadline_work - task_work whose notification has a deadline
 * @cb: what task_work_add() queues; its func is the module's until it runs
 * @timer: the deadline, armed from queueing until the work runs
 * @task: the target, referenced while the timer may fire
 * @func: the caller's callback, called with &@cb when the work runs
 * @armed_ns: when the work was queued and the timer armed (ktime_get_ns())
 * @state: an enum twa_deadline_state
 *
 * The caller embeds it in what it queues (nothing is allocated on the
 * queueing path) and may free or queue it again from @func, which is
 * called last, after the timer is cancelled. It must not be cancelled with
 * task_work_cancel(): the timer would stay armed.
 */
struct twa_deadline_work {
	struct callback_head cb;
	struct hrtimer timer;
	struct task_struct *task;
	task_work_func_t func;
	u64 armed_ns;
	atomic_t state;
};

/* Longest deadline accepted, in ns: 10 s. */
#define TWA_DEADLINE_MAX_NS	(10ULL * NSEC_PER_SEC)

/**
 * twa_deadline_work_add - TWA_SIGNAL_NO_IPI, with a kick if it runs late
 * @task: the task to run the work
 * @dw: the work, embedded by the caller; see struct twa_deadline_work
 * @func: called with &@dw->cb when the work runs, as task_work would
 * @deadline_ns: how long the work may wait for @task's own next kernel
 *               entry before @task is kicked; 0 queues it as TWA_SIGNAL
 * @impl: native TWA_SIGNAL_NO_IPI, the backport, or auto (native if it can)
 *
 * Queues as TWA_SIGNAL_NO_IPI: the flag set, an interruptible sleeper
 * woken, no IPI. If the work has not run @deadline_ns later, a timer (one
 * per work, pinned to the queueing CPU, hard interrupt context) calls
 * kick_process() on @task, once. One such kick serves every work of @task
 * pending as it is sent: a later work's timer that finds one sent from its
 * CPU since the work was queued sends none (TWA_DEADLINE_COVERED), so at
 * high rates the kicks come about one per @deadline_ns, not one per work.
 *
 * Return: as twa_task_work_add(); -EINVAL for a @deadline_ns beyond
 * TWA_DEADLINE_MAX_NS.
 */
int twa_deadline_work_add(struct task_struct *task, struct twa_deadline_work *dw,
			  task_work_func_t func, u64 deadline_ns, enum twa_impl impl);

/**
 * twa_synchronize_callbacks - wait out callbacks that dropped their module
 *
 * For a module whose task_work callbacks end with module_put(): call from
 * its exit function. Returns once no task can still be executing such a
 * callback's last instructions (an RCU-tasks grace period where the kernel
 * exports one, an RCU grace period on kernels without preemption). On a
 * preemptible kernel without RCU-tasks nothing can promise that: there
 * (TWA_CAN_SYNCHRONIZE_CALLBACKS undefined) a module must have no exit
 * function, so that the kernel refuses its rmmod, as twa_noipi does.
 */
void twa_synchronize_callbacks(void);

/*
 * Defined where twa_synchronize_callbacks() makes rmmod safe: RCU-tasks
 * (exported wherever it is built), or no preemption. The same test a
 * module can make with the kernel's own synchronize_rcu_tasks(), which
 * <linux/rcupdate.h> turns into synchronize_rcu() without RCU-tasks.
 */
#if defined(CONFIG_TASKS_RCU) || !defined(CONFIG_PREEMPTION)
#define TWA_CAN_SYNCHRONIZE_CALLBACKS
#endif

#endif /* _TWA_NOIPI_H */
