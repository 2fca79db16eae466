// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel differences, resolved once at build time (Kbuild.compat) or at
 * load (task_work_add where it is not exported, or on request;
 * wake_up_state on request). Named after the upstream symbols they stand
 * in for.
 */
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/tick.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "compat.h"
#include "internal.h"
#include "../include/twa_noipi.h"

static char *wake_method = "auto";
module_param(wake_method, charp, 0444);
MODULE_PARM_DESC(wake_method,
		 "how to reach wake_up_state(): default_wake_function (auto) or kprobe");

/*
 * task_work_add_method=kprobe takes the no-export path (the kprobe lookup
 * and its ENDBR64/BTI entry check) on a kernel that exports task_work_add(),
 * so that path also runs on Debian's own kernels. The export takes the
 * function's address, so objtool leaves its ENDBR64 unsealed there (as on
 * Debian's IBT kernels 6.12 and 7.2): the lookup finds it and loads. A
 * sealed entry is refused (-EOPNOTSUPP), exactly as without the export.
 */
static char *task_work_add_method = "auto";
module_param(task_work_add_method, charp, 0444);
MODULE_PARM_DESC(task_work_add_method,
		 "how to reach task_work_add(): auto (its export, else kprobe) or kprobe");

typedef int (*twa_wake_up_state_t)(struct task_struct *p, unsigned int state);

/* The kprobe lookup's wake_up_state(); NULL: default_wake_function(). */
static twa_wake_up_state_t twa_wake_up_state_fn;

struct twa_lookup twa_lookup_wake_up_state = {
	.name = "wake_up_state", .result = "not tried",
};

struct twa_lookup twa_lookup_task_work_add = {
	.name = "task_work_add", .result = "not tried",
};

static const u8 twa_endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

/**
 * twa_compat_endbr_entry - the address an indirect call may use
 * @probe_addr: where a kprobe on the function sits
 * @before: the 4 bytes before @probe_addr
 * @at: the 4 bytes at @probe_addr
 * @ibt: whether the kernel has CONFIG_X86_KERNEL_IBT
 *
 * On IBT kernels a kprobe on a function sits just past its ENDBR64, and an
 * indirect call must land on the ENDBR64 itself or the CPU raises #CP.
 * Boot-time sealing also overwrites ENDBR64 in functions whose address the
 * kernel never takes. QEMU's TCG does not enforce IBT, so this check is
 * what stands between a wrong address and a #CP on real hardware: the
 * KUnit suite tests it.
 *
 * Return: on IBT kernels the address that holds an ENDBR64 (@probe_addr or
 * 4 bytes before it), NULL if neither does; elsewhere @probe_addr.
 */
const void *twa_compat_endbr_entry(const void *probe_addr, const u8 before[4],
				   const u8 at[4], bool ibt)
{
	if (!ibt)
		return probe_addr;
	if (!memcmp(at, twa_endbr64, sizeof(twa_endbr64)))
		return probe_addr;
	if (!memcmp(before, twa_endbr64, sizeof(twa_endbr64)))
		return (const u8 *)probe_addr - 4;
	return NULL;
}
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_compat_endbr_entry);

/* BTI c, BTI jc, PACIASP, PACIBSP: what BLR may land on in guarded pages. */
static const u32 twa_bti_call_pads[] = {
	0xd503245f, 0xd50324df, 0xd503233f, 0xd503237f,
};

/**
 * twa_compat_bti_entry - arm64's counterpart of twa_compat_endbr_entry()
 * @probe_addr: where a kprobe on the function sits (its first instruction:
 *	arm64 does not move a kprobe past a landing pad)
 * @at: the 4 bytes at @probe_addr, the instruction, little-endian
 * @bti: whether the kernel has CONFIG_ARM64_BTI_KERNEL
 *
 * Where kernel text is guarded, an indirect call (BLR) must land on a
 * BTI c or jc, or on PACIASP/PACIBSP (which are implicit BTI c), or the CPU
 * raises a Branch Target exception. The compiler puts one at the start of
 * every function that may be called indirectly and leaves it out of the
 * others. Pointer authentication asks nothing of a caller: the kernel
 * signs return addresses only, inside each function. (GCC cannot build
 * ARM64_BTI_KERNEL up to 7.2 at least: Debian's arm64 kernels have
 * ARM64_BTI and PTR_AUTH_KERNEL, not this. A clang-built kernel can.)
 *
 * Return: @probe_addr if @bti is false or @at is a landing pad, else NULL.
 */
const void *twa_compat_bti_entry(const void *probe_addr, const u8 at[4], bool bti)
{
	u32 insn = at[0] | at[1] << 8 | at[2] << 16 | (u32)at[3] << 24;
	int i;

	if (!bti)
		return probe_addr;
	for (i = 0; i < ARRAY_SIZE(twa_bti_call_pads); i++)
		if (insn == twa_bti_call_pads[i])
			return probe_addr;
	return NULL;
}
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_compat_bti_entry);

#ifdef TWA_HAVE_EXPORT_REGISTER_KPROBE
/* Find a symbol's address the way out-of-tree code can: arm a kprobe. */
static int twa_kprobe_addr(const char *name, u8 **addr)
{
	struct kprobe kp = { .symbol_name = name };
	int ret = register_kprobe(&kp);

	if (ret < 0)
		return ret;
	*addr = (u8 *)kp.addr;
	unregister_kprobe(&kp);
	return 0;
}

/* A function an indirect call may not land on: say why, refuse it. */
static int twa_refuse(struct twa_lookup *l, const char *result, const char *why)
{
	l->result = result;
	pr_warn("twa_noipi: %s %s\n", l->name, why);
	return -EOPNOTSUPP;
}

/*
 * Resolve @l with a kprobe; 0 and l->entry set if an indirect call may land
 * there. l->result says what was found, for the features file and the log.
 */
static int twa_resolve(struct twa_lookup *l)
{
	u8 before[4], at[4], *addr;
	int ret;

	ret = twa_kprobe_addr(l->name, &addr);
	if (ret) {
		l->result = "lookup-failed";
		pr_warn("twa_noipi: kprobe lookup of %s failed: %d\n", l->name, ret);
		return ret;
	}
	if (copy_from_kernel_nofault(before, addr - 4, sizeof(before)) ||
	    copy_from_kernel_nofault(at, addr, sizeof(at))) {
		l->result = "unreadable";
		return -EFAULT;
	}
	memcpy(l->bytes, before, 4);
	memcpy(l->bytes + 4, at, 4);
#ifdef CONFIG_ARM64
	l->entry = twa_compat_bti_entry(addr, at, IS_ENABLED(CONFIG_ARM64_BTI_KERNEL));
	if (!l->entry)
		return twa_refuse(l, "no-bti",
				  "does not begin with a BTI landing pad (nothing calls it indirectly), so an indirect call to it would fault under BTI");
#else
	l->entry = twa_compat_endbr_entry(addr, before, at,
					  IS_ENABLED(CONFIG_X86_KERNEL_IBT));
	if (!l->entry)
		return twa_refuse(l, "no-endbr",
				  "has no ENDBR64 (sealed at boot: nothing in the kernel takes its address), so an indirect call to it would fault under IBT");
#endif
	l->result = l->entry == addr ? "ok" : "ok-endbr-4";
	return 0;
}
#else
static int twa_resolve(struct twa_lookup *l)
{
	l->result = "no-kprobes";
	pr_warn("twa_noipi: cannot look up %s: the kernel does not export register_kprobe\n",
		l->name);
	return -EOPNOTSUPP;
}
#endif

/*
 * default_wake_function() is exported everywhere and is exactly
 * try_to_wake_up(curr->private, mode, wake_flags), as wake_up_state(p,
 * state) is try_to_wake_up(p, state, 0): same semantics, a direct call.
 * (Its WARN on unexpected wake_flags cannot fire: they are 0.)
 */
static int twa_wake_via_waitqueue(struct task_struct *task, unsigned int state)
{
	struct wait_queue_entry wq_entry = { .private = task };

	return default_wake_function(&wq_entry, state, 0, NULL);
}

int twa_compat_wake_up_state(struct task_struct *task, unsigned int state)
{
	int woken;

	if (twa_wake_up_state_fn)
		woken = twa_wake_up_state_fn(task, state);
	else
		woken = twa_wake_via_waitqueue(task, state);
	if (woken)
		atomic64_inc(&twa_stats.wakeups);
	return woken;
}

void twa_compat_kick_process(struct task_struct *task)
{
	atomic64_inc(&twa_stats.backport_kick_process_calls);
	kick_process(task);
}

const char *twa_compat_wake_method(void)
{
	return twa_wake_up_state_fn ? "kprobe" : "default_wake_function";
}

typedef int (*twa_task_work_add_t)(struct task_struct *task,
				   struct callback_head *work,
				   enum task_work_notify_mode notify);

/* The kprobe lookup's task_work_add(); NULL: the export is called. */
static twa_task_work_add_t twa_task_work_add_fn;

int twa_compat_task_work_add(struct task_struct *task, struct callback_head *work,
			     enum task_work_notify_mode notify)
{
	/*
	 * Without the export twa_compat_init() refuses to load unless the
	 * lookup found an entry it may call, so then fn is never NULL.
	 */
#ifdef TWA_HAVE_EXPORT_TASK_WORK_ADD
	if (!twa_task_work_add_fn)
		return task_work_add(task, work, notify);
#endif
	return twa_task_work_add_fn(task, work, notify);
}

const char *twa_compat_task_work_add_via(void)
{
	return twa_task_work_add_fn ? "kprobe" : "export";
}

/*
 * task_work_add() is reached through its export where the kernel has one,
 * through the kprobe lookup where it has none or task_work_add_method=kprobe
 * asks for it; the lookup refuses an entry an indirect call may not land on
 * (see twa_resolve()), and then so does the load.
 */
static int twa_compat_init_task_work_add(bool kprobe)
{
	int ret;

#ifdef TWA_HAVE_EXPORT_TASK_WORK_ADD
	if (!kprobe)
		return 0;
#endif
	ret = twa_resolve(&twa_lookup_task_work_add);
	if (ret) {
#ifdef TWA_HAVE_EXPORT_TASK_WORK_ADD
		pr_err("twa_noipi: task_work_add_method=kprobe: task_work_add() cannot be called safely through its kprobe lookup (%s, %d); refusing to load\n",
		       twa_lookup_task_work_add.result, ret);
#else
		pr_err("twa_noipi: this kernel does not export task_work_add() and it cannot be called safely (%s, %d); refusing to load\n",
		       twa_lookup_task_work_add.result, ret);
#endif
		return ret;
	}
	twa_task_work_add_fn = twa_lookup_task_work_add.entry;
	return 0;
}

/*
 * wake_up_state() is reached through default_wake_function() unless
 * wake_method=kprobe asks for the symbol itself (to compare the two; it
 * refuses to load where the entry is not safe to call, see above).
 */
static int twa_compat_init_wake_up_state(bool kprobe)
{
	int ret;

	if (!kprobe)
		return 0;
	ret = twa_resolve(&twa_lookup_wake_up_state);
	if (ret) {
		pr_err("twa_noipi: cannot resolve wake_up_state safely (%d); refusing to load\n",
		       ret);
		return ret;
	}
	twa_wake_up_state_fn = twa_lookup_wake_up_state.entry;
	return 0;
}

/*
 * Both parameters are checked before either lookup is made: a bad value
 * is refused (-EINVAL) having armed no kprobe and resolved nothing.
 */
int twa_compat_init(void)
{
	bool twa_kprobe, wake_kprobe;
	int ret;

	if (!strcmp(task_work_add_method, "auto")) {
		twa_kprobe = false;
	} else if (!strcmp(task_work_add_method, "kprobe")) {
		twa_kprobe = true;
	} else {
		pr_err("twa_noipi: task_work_add_method=%s: expected auto or kprobe\n",
		       task_work_add_method);
		return -EINVAL;
	}
	if (!strcmp(wake_method, "auto") ||
	    !strcmp(wake_method, "default_wake_function")) {
		wake_kprobe = false;
	} else if (!strcmp(wake_method, "kprobe")) {
		wake_kprobe = true;
	} else {
		pr_err("twa_noipi: wake_method=%s: expected auto, kprobe or default_wake_function\n",
		       wake_method);
		return -EINVAL;
	}
	ret = twa_compat_init_task_work_add(twa_kprobe);
	if (!ret)
		ret = twa_compat_init_wake_up_state(wake_kprobe);
	return ret;
}

void twa_compat_synchronize_rcu_tasks(void)
{
#ifdef TWA_HAVE_EXPORT_SYNCHRONIZE_RCU_TASKS
	/*
	 * An RCU-tasks grace period ends when every task has switched out
	 * voluntarily or run in user space: past the last instruction of any
	 * callback that already dropped its module reference.
	 */
	synchronize_rcu_tasks();
#else
	/*
	 * Without CONFIG_PREEMPTION (see TWA_COMPAT_CAN_UNLOAD) nothing can
	 * switch a callback out between its module_put() and its return, and
	 * an RCU grace period needs every CPU to pass a context switch.
	 */
	synchronize_rcu();
#endif
}

void twa_synchronize_callbacks(void)
{
	twa_compat_synchronize_rcu_tasks();
}
EXPORT_SYMBOL_GPL(twa_synchronize_callbacks);

const char *twa_compat_unload_sync_name(void)
{
#ifdef TWA_HAVE_EXPORT_SYNCHRONIZE_RCU_TASKS
	return "synchronize_rcu_tasks";
#elif defined(TWA_COMPAT_CAN_UNLOAD)
	return "synchronize_rcu";
#else
	return "none (rmmod refused)";
#endif
}

/*
 * The nohz_full CPUs: 0 and *@mask (NULL if none are configured);
 * -ENOENT if the kernel has NO_HZ_FULL but does not export the mask;
 * -EOPNOTSUPP without NO_HZ_FULL.
 */
int twa_compat_nohz_full_mask(const struct cpumask **mask)
{
	*mask = NULL;
#if defined(CONFIG_NO_HZ_FULL) && defined(TWA_HAVE_EXPORT_TICK_NOHZ_FULL_MASK) && \
	defined(TWA_HAVE_EXPORT_TICK_NOHZ_FULL_RUNNING)
	if (tick_nohz_full_running)
		*mask = tick_nohz_full_mask;
	return 0;
#elif defined(CONFIG_NO_HZ_FULL)
	return -ENOENT;
#else
	return -EOPNOTSUPP;
#endif
}
