/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that differs between the kernels twa-noipi builds for lives
 * behind this header. TWA_HAVE_* come from module/Kbuild.compat, which
 * reads the target's headers and Module.symvers: Debian's 5.10 carries
 * backports that a LINUX_VERSION_CODE test would get wrong.
 */
#ifndef _TWA_COMPAT_H
#define _TWA_COMPAT_H

#include <linux/hrtimer.h>
#include <linux/sched.h>
#include <linux/task_work.h>
#include <linux/thread_info.h>
#include <asm/ptrace.h>

struct cpumask;

#ifndef TIF_NOTIFY_SIGNAL
#error "kernel lacks TIF_NOTIFY_SIGNAL (5.11+, or a stable backport): nothing to backport onto"
#endif
/* Without Module.symvers there is no telling: assume Debian's export. */
#ifdef TWA_NO_SYMVERS
#define TWA_HAVE_EXPORT_TASK_WORK_ADD
#endif
#if !defined(TWA_HAVE_EXPORT_KICK_PROCESS) && !defined(TWA_NO_SYMVERS)
#error "kernel does not export kick_process()"
#endif

/*
 * Stand-ins for the two scheduler calls of upstream's notify functions.
 * wake_up_state() is exported by no kernel; twa_compat_init() picks how to
 * reach it (see compat.c). Both count their effect for the bench on the
 * way (wakeups; backport_kick_process_calls). notify.c, and only notify.c, calls them by
 * their upstream names so that it reads like Linux 5.19: the #defines that
 * rename them live there, so every other file (the IPI probes on the real
 * kick_process() among them) sees the kernel's own symbols.
 */
int twa_compat_wake_up_state(struct task_struct *task, unsigned int state);
void twa_compat_kick_process(struct task_struct *task);

/*
 * A kernel function reached at load through a kprobe, where no export
 * reaches it, and what was found: result is "not tried", "ok",
 * "ok-endbr-4" (the entry is 4 bytes before the probe), "lookup-failed",
 * "unreadable", "no-endbr" or "no-bti" (refused: see
 * twa_compat_endbr_entry(), twa_compat_bti_entry()) or
 * "no-kprobes"; bytes are the 4 before the probe address and the 4 at it.
 */
struct twa_lookup {
	const char *name;
	const char *result;
	u8 bytes[8];
	const void *entry;
};

extern struct twa_lookup twa_lookup_wake_up_state, twa_lookup_task_work_add;

/*
 * Stand-in for task_work_add(), which mainline never exports (Debian's
 * kernels do, through a patch of their own). It calls the export where
 * there is one, unless task_work_add_method=kprobe asks otherwise; else the
 * function found by the kprobe lookup at load, under the same ENDBR64 rule:
 * the module refuses to load where that is not safe. notify.c calls it as
 * task_work_add(), as it does the two above.
 */
int twa_compat_task_work_add(struct task_struct *task, struct callback_head *work,
			     enum task_work_notify_mode notify);
/* How task_work_add() is reached: "export" or "kprobe". */
const char *twa_compat_task_work_add_via(void);

/* task_struct::state became __state in 5.14. */
#ifdef TWA_HAVE_TASK___STATE
#define twa_task_state(p)	READ_ONCE((p)->__state)
#else
#define twa_task_state(p)	READ_ONCE((p)->state)
#endif

/* Whether task_work_add() knows TWA_SIGNAL_NO_IPI (5.19+). */
#ifdef TWA_HAVE_TWA_SIGNAL_NO_IPI
#define TWA_COMPAT_NATIVE_SIGNAL_NO_IPI	true
#else
#define TWA_COMPAT_NATIVE_SIGNAL_NO_IPI	false
#endif

/*
 * 6.4+: the tick queues an mm_cid scan on the running task as TWA_RESUME
 * task_work, which runs every other pending item too (TWA_NONE included).
 */
#if defined(TWA_HAVE_TASK_CID_WORK) && defined(CONFIG_SCHED_MM_CID)
#define TWA_COMPAT_TICK_TASK_WORK	"mm_cid"
#else
#define TWA_COMPAT_TICK_TASK_WORK	"none"
#endif

/*
 * Stand-in for synchronize_rcu_tasks(): returns once no task can still be
 * executing a task_work callback that already dropped its module reference.
 * TWA_COMPAT_CAN_UNLOAD is left undefined where the kernel offers no such
 * guarantee (PREEMPTION without exported RCU-tasks): the module then has no
 * exit function and the kernel refuses rmmod.
 */
#if defined(TWA_HAVE_EXPORT_SYNCHRONIZE_RCU_TASKS) || !defined(CONFIG_PREEMPTION)
#define TWA_COMPAT_CAN_UNLOAD
#endif
void twa_compat_synchronize_rcu_tasks(void);
const char *twa_compat_unload_sync_name(void);

/*
 * When a task's TIF_NOTIFY_SIGNAL is cleared: before its work runs (generic
 * entry, x86; get_signal() from 5.18 on), or after (get_signal() of 5.10 to
 * 5.17 without generic entry, arm64: task_work_run(), then
 * tracehook_notify_signal()). After: an item queued the moment the one
 * before it ran can find the flag still set; it needs no kick, and runs in
 * the same get_signal(). The suites read this from features.
 */
#if defined(TWA_HAVE_TRACEHOOK_NOTIFY_SIGNAL) && !defined(CONFIG_GENERIC_ENTRY)
#define TWA_COMPAT_NOTIFY_CLEARED	"after_work"
#else
#define TWA_COMPAT_NOTIFY_CLEARED	"before_work"
#endif

/* ENDBR64 check, exposed for tests: see compat.c. */
const void *twa_compat_endbr_entry(const void *probe_addr, const u8 before[4],
				   const u8 at[4], bool ibt);
/* Its arm64 counterpart, the BTI landing pad check: see compat.c. */
const void *twa_compat_bti_entry(const void *probe_addr, const u8 at[4], bool bti);

/*
 * Where the architecture sends IPIs, for the sender-side counts (ipi.c):
 * the functions the 6.4+ ipi:ipi_send_* tracepoints sit in front of, the
 * same on x86_64 from 5.10 to 7.x; on arm64 the arch_* functions of
 * arch/arm64/kernel/smp.c, whose reschedule one was smp_send_reschedule()
 * before 6.4. Elsewhere the counts are unavailable.
 */
#if defined(CONFIG_X86_64)
#define TWA_COMPAT_SEND_RESCHEDULE		"native_smp_send_reschedule"
#define TWA_COMPAT_SEND_CALL_FUNC_SINGLE	"native_send_call_func_single_ipi"
#define TWA_COMPAT_SEND_CALL_FUNC_MASK		"native_send_call_func_ipi"

/* At a probed function's entry its return address is on top of the stack. */
static inline unsigned long twa_compat_entry_return_address(struct pt_regs *regs)
{
	return regs_get_kernel_stack_nth(regs, 0);
}

#define TWA_COMPAT_HAVE_IPI_PROBES
#elif defined(CONFIG_ARM64)
#ifdef TWA_HAVE_ARCH_SMP_SEND_RESCHEDULE
#define TWA_COMPAT_SEND_RESCHEDULE		"arch_smp_send_reschedule"
#else
#define TWA_COMPAT_SEND_RESCHEDULE		"smp_send_reschedule"
#endif
#define TWA_COMPAT_SEND_CALL_FUNC_SINGLE	"arch_send_call_function_single_ipi"
#define TWA_COMPAT_SEND_CALL_FUNC_MASK		"arch_send_call_function_ipi_mask"

/*
 * At a probed function's entry its return address is in the link register;
 * a probe placed after the function's PACIASP sees it signed. Kernel text
 * addresses have every bit above VA_BITS set: setting them strips a PAC.
 */
static inline unsigned long twa_compat_entry_return_address(struct pt_regs *regs)
{
	return procedure_link_pointer(regs) | GENMASK_ULL(63, VA_BITS);
}

#define TWA_COMPAT_HAVE_IPI_PROBES
#endif

int twa_compat_init(void);
const char *twa_compat_wake_method(void);
int twa_compat_nohz_full_mask(const struct cpumask **mask);

/*
 * Stand-in for hrtimer_setup() (6.13+), where the kernel has only
 * hrtimer_init() and the caller sets the function (5.10 to 6.12).
 */
#ifdef TWA_HAVE_HRTIMER_SETUP
#define twa_compat_hrtimer_setup	hrtimer_setup
#else
static inline void twa_compat_hrtimer_setup(struct hrtimer *timer,
					    enum hrtimer_restart (*function)(struct hrtimer *),
					    clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
}
#endif

#endif /* _TWA_COMPAT_H */
