// SPDX-License-Identifier: GPL-2.0
/*
 * Sender-side IPI accounting. /proc/interrupts counts at the receiver and
 * cannot tell our kick from RCU's, a timer's or kmemleak's; on debug and RT
 * kernels those outnumber what a test is looking for. So every IPI is
 * caught where the architecture sends it (a kprobe on the arch's send
 * function, the same point the 6.4+ ipi:ipi_send_* tracepoints mark), and
 * given an origin, by who sent it, and a vector, RES or CAL (the
 * /proc/interrupts line it lands on):
 *
 *   kick_ipi  the reschedule IPI kick_process() sends when called from
 *             inside a twa queueing call (__twa_task_work_add(): native or
 *             backport)
 *   wake      any other IPI sent from inside such a call: try_to_wake_up()
 *             of an interruptible sleeper (wake list CAL or a resched RES)
 *   other     everything else: background, other tasks' kick IPIs, TLB
 *             flushes
 *   deadline_kick
 *             the reschedule IPI a deadline timer's kick_process() sends
 *             (deadline.c), counted apart: it comes from an interrupt, not
 *             from a queueing call
 *
 * Besides, the kprobe on kick_process() counts kick_process_calls (its
 * calls from inside a twa queueing call, whether or not they sent an IPI)
 * and kick_ipis_owed (those of them whose target was current on another
 * CPU: the calls that owed a kick IPI). Names say what they count:
 * "kick_process" a call, "kick_ipi" the IPI (docs/module.md).
 *
 * Counts are per target CPU and exact: a send we cannot attribute is
 * "other", never dropped; a probe hit the kprobe core had to skip is
 * counted in ipi_missed (stats).
 */
#include <linux/cpumask.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "compat.h"
#include "internal.h"

static bool count_ipis = true;
module_param(count_ipis, bool, 0444);
MODULE_PARM_DESC(count_ipis,
		 "count IPIs at the sender with kprobes (ipis, ipi_senders files)");

enum twa_ipi_vector { TWA_IPI_RES, TWA_IPI_CAL, TWA_IPI_VECTORS };

static const char *const twa_ipi_origin_names[TWA_IPI_ORIGINS] = {
	"kick_ipi", "wake", "other", "deadline_kick",
};

static const char *const twa_ipi_vector_names[TWA_IPI_VECTORS] = { "res", "cal" };

struct twa_ipi_cpu {
	atomic64_t n[TWA_IPI_ORIGINS][TWA_IPI_VECTORS];
};

static struct twa_ipi_cpu *twa_ipi_cpus;	/* [nr_cpu_ids] */
static atomic64_t twa_kick_process_calls;	/* kick_process() in a twa call */
/* ... whose target was on another CPU as it was called: a kick IPI owed. */
static atomic64_t twa_kick_ipis_owed;
static const char *twa_ipi_state = "off (count_ipis=0)";
/* Deadline kicks whose target was current on another CPU. */
static atomic64_t twa_deadline_kick_ipis_owed;
/*
 * Set around a deadline timer's kick_process(), in hard interrupt context
 * on this CPU: the reschedule IPI sent meanwhile is the deadline kick's.
 */
static DEFINE_PER_CPU(bool, twa_in_deadline_kick);

/*
 * kick_process(t) sends an IPI only to a task current on another CPU; a
 * task's on_cpu is that, a few instructions earlier. What the suites need
 * to tell a call that owed no kick IPI from one whose IPI went uncounted.
 */
static bool twa_kick_ipi_owed(struct task_struct *t)
{
#ifdef CONFIG_SMP
	return READ_ONCE(t->on_cpu) && task_cpu(t) != raw_smp_processor_id();
#else
	return false;
#endif
}

void twa_ipi_deadline_kick_begin(struct task_struct *task)
{
	if (!twa_ipi_cpus)
		return;
	if (twa_kick_ipi_owed(task))
		atomic64_inc(&twa_deadline_kick_ipis_owed);
	this_cpu_write(twa_in_deadline_kick, true);
}

void twa_ipi_deadline_kick_end(void)
{
	this_cpu_write(twa_in_deadline_kick, false);
}

/*
 * Tasks inside a twa queueing call. A slot per concurrent caller is enough:
 * when all are taken the call's IPIs count as "other" and ipi_untracked says
 * so. Keyed by task, not CPU: the caller may be preempted and migrate. Only
 * the owner writes in_kick, from its own context (the kprobe handlers run
 * in the task that calls kick_process() and sends the IPI).
 */
#define TWA_NOTIFY_SLOTS	16
struct twa_notifier {
	struct task_struct *task;
	bool in_kick;	/* kick_process() entered, its IPI not yet seen */
};

static struct twa_notifier twa_notifiers[TWA_NOTIFY_SLOTS];
static atomic64_t twa_untracked;

/* Who sent IPIs: the send function's caller, per origin, vector and CPU. */
#define TWA_SENDERS		64
struct twa_sender {
	unsigned long caller;
	int cpu;
	u8 origin;
	u8 vector;
	u64 count;
};

static struct twa_sender twa_senders[TWA_SENDERS];
static atomic64_t twa_senders_dropped;	/* no free entry, or lock busy */
static DEFINE_RAW_SPINLOCK(twa_senders_lock);

int twa_ipi_notify_begin(void)
{
	int i;

	if (!twa_ipi_cpus)
		return -1;
	for (i = 0; i < TWA_NOTIFY_SLOTS; i++) {
		if (!cmpxchg(&twa_notifiers[i].task, NULL, current)) {
			WRITE_ONCE(twa_notifiers[i].in_kick, false);
			return i;
		}
	}
	atomic64_inc(&twa_untracked);
	return -1;
}

void twa_ipi_notify_end(int slot)
{
	if (slot < 0)
		return;
	WRITE_ONCE(twa_notifiers[slot].in_kick, false);
	WRITE_ONCE(twa_notifiers[slot].task, NULL);
}

/*
 * What follows, up to the #else, runs only in the probes' handlers: without
 * them (no IPI send probes for the architecture, or no kprobes) it would be
 * compiled unused, and warn.
 */
#if defined(TWA_COMPAT_HAVE_IPI_PROBES) && defined(TWA_HAVE_EXPORT_REGISTER_KPROBE)
/*
 * Was the probed code running in task context, not in an interrupt that hit
 * the queueing task? A breakpoint kprobe's handler runs as an NMI
 * (irqentry_nmi_enter() adds NMI_OFFSET + HARDIRQ_OFFSET, so in_task() is
 * always false there); an ftrace-based or optimized one runs in the probed
 * context. The functions probed here never run in a real NMI.
 */
static bool twa_probed_in_task(void)
{
	unsigned long pc = preempt_count();

	if (pc & NMI_MASK)
		pc -= NMI_OFFSET + HARDIRQ_OFFSET;
	return !(pc & (NMI_MASK | HARDIRQ_MASK)) && !in_serving_softirq();
}

/* The current task's slot if it is inside a twa queueing call, else NULL. */
static struct twa_notifier *twa_current_notifier(void)
{
	int i;

	if (!twa_probed_in_task())
		return NULL;
	for (i = 0; i < TWA_NOTIFY_SLOTS; i++)
		if (READ_ONCE(twa_notifiers[i].task) == current)
			return &twa_notifiers[i];
	return NULL;
}

static void twa_sender_count(unsigned long caller, int cpu, u8 origin, u8 vector)
{
	struct twa_sender *s;
	unsigned long flags;
	int i;

	/*
	 * A breakpoint kprobe's handler runs as an NMI, where waiting for a
	 * lock its CPU may already hold would deadlock: only try, for a
	 * bounded time (a holder on another CPU scans 64 entries), and count
	 * the call as dropped if the lock stays taken.
	 */
	for (i = 0; !raw_spin_trylock_irqsave(&twa_senders_lock, flags); i++) {
		if (i == 10000) {
			atomic64_inc(&twa_senders_dropped);
			return;
		}
		cpu_relax();
	}
	for (i = 0; i < TWA_SENDERS; i++) {
		s = &twa_senders[i];
		if (!s->count) {
			*s = (struct twa_sender){ caller, cpu, origin, vector, 0 };
			break;
		}
		if (s->caller == caller && s->cpu == cpu && s->origin == origin &&
		    s->vector == vector)
			break;
	}
	if (i < TWA_SENDERS)
		s->count++;
	else
		atomic64_inc(&twa_senders_dropped);
	raw_spin_unlock_irqrestore(&twa_senders_lock, flags);
}

/*
 * A reschedule IPI from a task between its kick_process() entry and the end
 * of its twa call is the kick IPI: kick_process() is the last thing a notify
 * path does, and sends at most one. Not the send function's caller, which a
 * tail call in kick_process() (kernels whose preempt_enable() is empty)
 * would hide.
 */
static void twa_ipi_count(int cpu, unsigned long caller,
			  enum twa_ipi_vector vector)
{
	enum twa_ipi_origin origin = TWA_IPI_OTHER;
	struct twa_notifier *n;

	if (cpu < 0 || cpu >= nr_cpu_ids)
		return;
	n = twa_current_notifier();
	if (vector == TWA_IPI_RES && this_cpu_read(twa_in_deadline_kick)) {
		this_cpu_write(twa_in_deadline_kick, false);
		origin = TWA_IPI_DEADLINE;
	} else if (n && vector == TWA_IPI_RES && READ_ONCE(n->in_kick)) {
		WRITE_ONCE(n->in_kick, false);
		origin = TWA_IPI_KICK;
	} else if (n) {
		origin = TWA_IPI_WAKE;
	}
	atomic64_inc(&twa_ipi_cpus[cpu].n[origin][vector]);
	twa_sender_count(caller, cpu, origin, vector);
}

static int twa_ipi_res_pre(struct kprobe *p, struct pt_regs *regs)
{
	twa_ipi_count(regs_get_kernel_argument(regs, 0),
		      twa_compat_entry_return_address(regs), TWA_IPI_RES);
	return 0;
}

static int twa_ipi_cal_one_pre(struct kprobe *p, struct pt_regs *regs)
{
	twa_ipi_count(regs_get_kernel_argument(regs, 0),
		      twa_compat_entry_return_address(regs), TWA_IPI_CAL);
	return 0;
}

static int twa_ipi_cal_mask_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct cpumask *mask;
	unsigned long caller;
	int cpu;

	mask = (const struct cpumask *)regs_get_kernel_argument(regs, 0);
	caller = twa_compat_entry_return_address(regs);
	for_each_cpu(cpu, mask)
		twa_ipi_count(cpu, caller, TWA_IPI_CAL);
	return 0;
}

static int twa_kick_process_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct twa_notifier *n = twa_current_notifier();

	if (n) {
		atomic64_inc(&twa_kick_process_calls);
		if (twa_kick_ipi_owed((struct task_struct *)regs_get_kernel_argument(regs, 0)))
			atomic64_inc(&twa_kick_ipis_owed);
		WRITE_ONCE(n->in_kick, true);
	}
	return 0;
}

static struct kprobe twa_ipi_probes[] = {
	{ .symbol_name = TWA_COMPAT_SEND_RESCHEDULE, .pre_handler = twa_ipi_res_pre },
	{ .symbol_name = TWA_COMPAT_SEND_CALL_FUNC_SINGLE,
	  .pre_handler = twa_ipi_cal_one_pre },
	{ .symbol_name = TWA_COMPAT_SEND_CALL_FUNC_MASK,
	  .pre_handler = twa_ipi_cal_mask_pre },
	{ .symbol_name = "kick_process", .pre_handler = twa_kick_process_pre },
};

static struct kprobe *twa_ipi_probe_ptrs[ARRAY_SIZE(twa_ipi_probes)];
static char twa_ipi_error[160];

static int twa_ipi_register(void)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(twa_ipi_probes); i++)
		twa_ipi_probe_ptrs[i] = &twa_ipi_probes[i];
	ret = register_kprobes(twa_ipi_probe_ptrs, ARRAY_SIZE(twa_ipi_probes));
	if (ret)
		snprintf(twa_ipi_error, sizeof(twa_ipi_error),
			 "unavailable (kprobes on %s, %s, %s: %d)",
			 TWA_COMPAT_SEND_RESCHEDULE,
			 TWA_COMPAT_SEND_CALL_FUNC_SINGLE,
			 TWA_COMPAT_SEND_CALL_FUNC_MASK, ret);
	else
		snprintf(twa_ipi_error, sizeof(twa_ipi_error),
			 "kprobe %s %s %s kick_process",
			 TWA_COMPAT_SEND_RESCHEDULE,
			 TWA_COMPAT_SEND_CALL_FUNC_SINGLE,
			 TWA_COMPAT_SEND_CALL_FUNC_MASK);
	twa_ipi_state = twa_ipi_error;
	return ret;
}

static void twa_ipi_unregister(void)
{
	/* Waits for handlers still running. */
	unregister_kprobes(twa_ipi_probe_ptrs, ARRAY_SIZE(twa_ipi_probes));
}

static unsigned long twa_ipi_missed(void)
{
	unsigned long missed = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(twa_ipi_probes); i++)
		missed += twa_ipi_probes[i].nmissed;
	return missed;
}
#else
static int twa_ipi_register(void)
{
	twa_ipi_state = "unavailable (no IPI send probes for this architecture)";
	return -EOPNOTSUPP;
}

static void twa_ipi_unregister(void)
{
}

static unsigned long twa_ipi_missed(void)
{
	return 0;
}
#endif

static void twa_ipi_reset_counts(void)
{
	unsigned long flags;
	int cpu, origin, vector;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		for (origin = 0; origin < TWA_IPI_ORIGINS; origin++)
			for (vector = 0; vector < TWA_IPI_VECTORS; vector++)
				atomic64_set(&twa_ipi_cpus[cpu].n[origin][vector], 0);
	atomic64_set(&twa_kick_process_calls, 0);
	atomic64_set(&twa_kick_ipis_owed, 0);
	atomic64_set(&twa_deadline_kick_ipis_owed, 0);
	atomic64_set(&twa_untracked, 0);
	raw_spin_lock_irqsave(&twa_senders_lock, flags);
	memset(twa_senders, 0, sizeof(twa_senders));
	atomic64_set(&twa_senders_dropped, 0);
	raw_spin_unlock_irqrestore(&twa_senders_lock, flags);
}

void twa_ipi_reset(void)
{
	if (twa_ipi_cpus)
		twa_ipi_reset_counts();
}

int twa_ipi_init(void)
{
	struct twa_ipi_cpu *cpus;

	if (!count_ipis)
		return 0;
	cpus = kcalloc(nr_cpu_ids, sizeof(*cpus), GFP_KERNEL);
	if (!cpus)
		return -ENOMEM;
	/* Handlers may fire as soon as a probe is armed. */
	twa_ipi_cpus = cpus;
	if (twa_ipi_register()) {
		/* No such send path here: run without the counts. */
		twa_ipi_cpus = NULL;
		kfree(cpus);
	}
	return 0;
}

void twa_ipi_exit(void)
{
	if (!twa_ipi_cpus)
		return;
	twa_ipi_unregister();
	kfree(twa_ipi_cpus);
	twa_ipi_cpus = NULL;
}

/**
 * twa_ipi_sent - IPIs sent to a CPU, counted at the sender
 * @cpu: the receiving CPU
 * @origin: who sent them: our kick_process() (the kick IPI), our wake, other
 *
 * Return: the IPIs of @origin sent to @cpu since reset (RES and CAL); -1 if
 * not counting.
 */
s64 twa_ipi_sent(int cpu, enum twa_ipi_origin origin)
{
	struct twa_ipi_cpu *c;

	if (!twa_ipi_cpus || cpu < 0 || cpu >= nr_cpu_ids)
		return -1;
	c = &twa_ipi_cpus[cpu];
	return atomic64_read(&c->n[origin][TWA_IPI_RES]) +
	       atomic64_read(&c->n[origin][TWA_IPI_CAL]);
}
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_ipi_sent);

/**
 * twa_ipi_kick_process_calls - kick_process() calls from twa queueing calls
 *
 * Return: the calls since reset, native or backport, whether or not they
 * sent an IPI; -1 if not counting.
 */
s64 twa_ipi_kick_process_calls(void)
{
	return twa_ipi_cpus ? atomic64_read(&twa_kick_process_calls) : -1;
}
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_ipi_kick_process_calls);

/**
 * twa_ipi_kick_ipis_owed - kick_process() calls that had to send an IPI
 *
 * Return: the kick_process() calls from twa queueing calls whose target was
 * current on another CPU as it was called (each owed a kick IPI), since
 * reset; -1 if not counting.
 */
s64 twa_ipi_kick_ipis_owed(void)
{
	return twa_ipi_cpus ? atomic64_read(&twa_kick_ipis_owed) : -1;
}
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_ipi_kick_ipis_owed);

/**
 * twa_ipi_deadline_kick_ipis_owed - deadline kicks that had to send an IPI
 *
 * Return: the deadline timers' kick_process() calls whose target was
 * current on another CPU as they were made, since reset; -1 if not counting.
 */
s64 twa_ipi_deadline_kick_ipis_owed(void)
{
	return twa_ipi_cpus ? atomic64_read(&twa_deadline_kick_ipis_owed) : -1;
}
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_ipi_deadline_kick_ipis_owed);

/**
 * twa_ipi_probes_missed - probe hits the kprobes core dropped
 *
 * Return: the hits of the module's kprobes since load that the kprobes core
 * did not deliver (a hit inside another probe's handler).
 */
u64 twa_ipi_probes_missed(void)
{
	return twa_ipi_cpus ? twa_ipi_missed() : 0;
}
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_ipi_probes_missed);

void twa_ipi_show_feature(struct seq_file *m)
{
	seq_printf(m, "ipi_count %s\n", twa_ipi_state);
}

void twa_ipi_show_stats(struct seq_file *m)
{
	seq_printf(m, "kick_process_calls %lld\n",
		   atomic64_read(&twa_kick_process_calls));
	seq_printf(m, "kick_ipis_owed %lld\n", atomic64_read(&twa_kick_ipis_owed));
	seq_printf(m, "deadline_kick_ipis_owed %lld\n",
		   atomic64_read(&twa_deadline_kick_ipis_owed));
	seq_printf(m, "ipi_missed %lu\n", twa_ipi_cpus ? twa_ipi_missed() : 0);
	seq_printf(m, "ipi_untracked %lld\n", atomic64_read(&twa_untracked));
}

/*
 * One line per possible CPU: IPIs sent to it since reset, by origin and
 * vector (a kick IPI is a RES by definition). The header names the columns
 * ORIGIN_VECTOR (before 0.2.0 the first was "kick"; readers skip it); the
 * last, deadline_kick_res, came with the deadline mode (0.3.0).
 */
void twa_ipi_show(struct seq_file *m)
{
	int cpu;

	seq_puts(m, "# cpu kick_ipi_res wake_res wake_cal other_res other_cal deadline_kick_res\n");
	if (!twa_ipi_cpus)
		return;
	for_each_possible_cpu(cpu) {
		struct twa_ipi_cpu *c = &twa_ipi_cpus[cpu];

		seq_printf(m, "%d %lld %lld %lld %lld %lld %lld\n", cpu,
			   atomic64_read(&c->n[TWA_IPI_KICK][TWA_IPI_RES]),
			   atomic64_read(&c->n[TWA_IPI_WAKE][TWA_IPI_RES]),
			   atomic64_read(&c->n[TWA_IPI_WAKE][TWA_IPI_CAL]),
			   atomic64_read(&c->n[TWA_IPI_OTHER][TWA_IPI_RES]),
			   atomic64_read(&c->n[TWA_IPI_OTHER][TWA_IPI_CAL]),
			   atomic64_read(&c->n[TWA_IPI_DEADLINE][TWA_IPI_RES]));
	}
}

/* The senders table, copied under the lock and printed outside it. */
void twa_ipi_show_senders(struct seq_file *m)
{
	struct twa_sender *copy;
	unsigned long flags;
	u64 dropped;
	int i;

	seq_puts(m, "# count origin vector cpu caller\n");
	copy = kmalloc(sizeof(twa_senders), GFP_KERNEL);
	if (!copy || !twa_ipi_cpus)
		goto out;
	raw_spin_lock_irqsave(&twa_senders_lock, flags);
	memcpy(copy, twa_senders, sizeof(twa_senders));
	dropped = atomic64_read(&twa_senders_dropped);
	raw_spin_unlock_irqrestore(&twa_senders_lock, flags);
	for (i = 0; i < TWA_SENDERS && copy[i].count; i++)
		seq_printf(m, "%llu %s %s %d %pS\n", copy[i].count,
			   twa_ipi_origin_names[copy[i].origin],
			   twa_ipi_vector_names[copy[i].vector], copy[i].cpu,
			   (void *)copy[i].caller);
	if (dropped)
		seq_printf(m, "%llu other any -1 (table full or busy)\n", dropped);
out:
	kfree(copy);
}
