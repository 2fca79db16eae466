/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What include/shim/ (the <linux/task_work.h> and <linux/sched/signal.h>
 * shims) and twa_noipi.ko share: the exports the shim renames kernel calls
 * onto, and the decisions every shim header makes alike. Consumers never
 * include this header themselves: they write upstream code against the
 * kernel's headers, and include/shim/Kbuild.include puts the shim ahead of
 * them.
 */
/*
 * Before the guard: included from the shim's <linux/sched/signal.h> first,
 * this brings in the shim's <linux/task_work.h>, which includes this
 * header in turn and needs all of it, so that inner inclusion is the one
 * that defines it.
 */
#include <linux/task_work.h>

#ifndef _TWA_NOIPI_SHIM_H
#define _TWA_NOIPI_SHIM_H

#include <linux/compiler.h>
#include <linux/types.h>

struct callback_head;
struct task_struct;

/*
 * TWA_SIGNAL_NO_IPI where the kernel's enum lacks it: Linux 5.19's value,
 * the member after TWA_SIGNAL. twa_shim_task_work_add() is the one reader.
 */
#define TWA_SHIM_SIGNAL_NO_IPI	((enum task_work_notify_mode)(TWA_SIGNAL + 1))

/**
 * twa_shim_task_work_add - task_work_add() as Linux 5.19 defines it
 * @task: the task to run @work
 * @work: the callback; the caller keeps it alive until its func has run
 * @notify: how to notify @task: the kernel's modes, and TWA_SIGNAL_NO_IPI
 *	on every kernel (TWA_SHIM_SIGNAL_NO_IPI where the kernel lacks it)
 *
 * The shim's task_work_add() where the kernel's cannot serve a module: on a
 * kernel without TWA_SIGNAL_NO_IPI (whose task_work_add() would queue the
 * work and silently ignore the mode), TWA_SIGNAL_NO_IPI queues with
 * TWA_NONE and notifies with the backport's __set_notify_signal(); every
 * other mode, and every mode where the kernel has TWA_SIGNAL_NO_IPI, goes
 * to the kernel's task_work_add() (its export, or where it has none the
 * function twa_noipi found by its kprobe lookup at load). Like upstream's,
 * it queues to any task, kernel threads included.
 *
 * Return: 0, or -ESRCH if @task is exiting (the kernel's task_work_add()).
 */
int twa_shim_task_work_add(struct task_struct *task, struct callback_head *work,
			   enum task_work_notify_mode notify);

/*
 * The consumer side, for the shim headers alone (TWA_SHIM comes from
 * include/shim/Kbuild.include, with what the kernel has: TWA_SHIM_KERNEL_*
 * read from its headers, TWA_SHIM_EXPORT_* from its Module.symvers).
 */
#ifdef TWA_SHIM
/*
 * Whether twa_noipi.ko builds and loads on this kernel, by its own rules
 * (module/compat.h): TIF_NOTIFY_SIGNAL to notify with, kick_process()
 * exported. TIF_NOTIFY_SIGNAL is a macro of <asm/thread_info.h>, which
 * <linux/task_work.h> pulls in through <linux/sched.h>.
 */
#if defined(TIF_NOTIFY_SIGNAL) && defined(TWA_SHIM_EXPORT_KICK_PROCESS)
#define TWA_SHIM_BACKPORT
#endif

/*
 * What the shim cannot provide on a kernel fails the build where it is
 * called, with the reason as the compiler's error; a header that merely
 * includes the shim's (the kernel's own headers do) builds.
 */
#define TWA_SHIM_WHY_NO_BACKPORT \
	"twa-noipi shim: this kernel lacks TIF_NOTIFY_SIGNAL or an exported " \
	"kick_process(), so twa_noipi cannot backport TWA_SIGNAL_NO_IPI or " \
	"__set_notify_signal() onto it"
#define TWA_SHIM_WHY_NO_TASK_WORK_ADD \
	"twa-noipi shim: this kernel does not export task_work_add() and " \
	"twa_noipi cannot reach it either (it needs TIF_NOTIFY_SIGNAL and the " \
	"kick_process() and register_kprobe() exports), so no module can queue " \
	"task_work here"
#define TWA_SHIM_WHY_NO_NOTIFY \
	"twa-noipi shim: the kernel's __set_notify_signal() and " \
	"set_notify_signal() call wake_up_state(), which it does not export, " \
	"and twa_noipi cannot backport them here (it needs TIF_NOTIFY_SIGNAL " \
	"and the kick_process() export)"

enum task_work_notify_mode __compiletime_error(TWA_SHIM_WHY_NO_BACKPORT)
twa_shim_no_signal_no_ipi(enum task_work_notify_mode notify);
int __compiletime_error(TWA_SHIM_WHY_NO_TASK_WORK_ADD)
twa_shim_no_task_work_add(struct task_struct *task, struct callback_head *work,
			  enum task_work_notify_mode notify);

/*
 * __set_notify_signal() and set_notify_signal(), which the shim's
 * <linux/sched/signal.h> (and on 5.11 to 5.17 its <linux/tracehook.h>)
 * rename: the kernel's inline ones call wake_up_state(), which no kernel
 * of the matrix exports, so in a module they do not link; before 5.19
 * there is no __set_notify_signal() at all. Where wake_up_state() is
 * exported and the kernel has both, the kernel's stay.
 */
#if !defined(TWA_SHIM_EXPORT_WAKE_UP_STATE) || !defined(TWA_SHIM_KERNEL___SET_NOTIFY_SIGNAL)
#define TWA_SHIM_NOTIFY
#ifdef TWA_SHIM_BACKPORT
bool twa___set_notify_signal(struct task_struct *task);
void twa_set_notify_signal(struct task_struct *task);
#define TWA_SHIM___SET_NOTIFY_SIGNAL	twa___set_notify_signal
#define TWA_SHIM_SET_NOTIFY_SIGNAL	twa_set_notify_signal
#else
bool __compiletime_error(TWA_SHIM_WHY_NO_NOTIFY)
twa_shim_no___set_notify_signal(struct task_struct *task);
void __compiletime_error(TWA_SHIM_WHY_NO_NOTIFY)
twa_shim_no_set_notify_signal(struct task_struct *task);
#define TWA_SHIM___SET_NOTIFY_SIGNAL	twa_shim_no___set_notify_signal
#define TWA_SHIM_SET_NOTIFY_SIGNAL	twa_shim_no_set_notify_signal
#endif
#endif
#endif /* TWA_SHIM */

#endif /* _TWA_NOIPI_SHIM_H */
