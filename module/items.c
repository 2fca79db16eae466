// SPDX-License-Identifier: GPL-2.0
/*
 * Test items: task_work queued through twa_task_work_add() on behalf of
 * debugfs writers, with counters and a log of recent run times.
 */
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/task_work.h>

#include "internal.h"

/* The module's counters, shown in debugfs "stats"; the suites read them. */
struct twa_stats twa_stats;
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_stats);

const char *const twa_mode_names[TWA_MODE_COUNT] = {
	"none", "resume", "signal", "signal_no_ipi",
};

/* The impl names of the debugfs protocol; the suites print them. */
const char *const twa_impl_names[TWA_IMPL_COUNT] = {
	"auto", "native", "backport",
};
EXPORT_SYMBOL_IF_TWA_KUNIT(twa_impl_names);

const char *const twa_err_names[TWA_ERR_COUNT] = {
	"esrch", "einval", "eopnotsupp", "enomem", "ebusy", "other",
};

struct twa_item {
	union {
		struct callback_head cb;
		struct twa_deadline_work dw;	/* if @deadline */
	};
	u64 seq;
	u64 queued_ns;
	s64 marks;	/* twa_stats.marks when queued */
	pid_t tid;
	u8 mode;
	u8 impl;
	u8 deadline;	/* queued with a deadline: @dw */
};

/* One line of the "items" file: what happened to a run item. */
struct twa_record {
	u64 seq;
	u64 latency_ns;
	pid_t tid;
	u16 cpu;
	u8 mode;
	u8 impl;
	u8 after_mark;	/* a mark was written between queue and run */
	u8 exiting;	/* ran from the target's exit path */
	u8 deadline;	/* 0, or 1 + enum twa_deadline_state as it ran */
};

/* The items file's deadline column: "-" for an item queued without one. */
static const char *const twa_deadline_names[] = {
	"-", "queueing", "pending", "met", "kicked", "covered", "immediate",
};

#define TWA_LOG_SIZE	4096

static struct twa_record twa_log[TWA_LOG_SIZE];
static u64 twa_log_next;	/* records ever written since reset */
static DEFINE_SPINLOCK(twa_log_lock);
static atomic64_t twa_seq;

/*
 * Queueing holds this shared, reset exclusive: no queue may land between
 * reset's check that nothing is outstanding and its zeroing, or the item
 * it queued would lose its "queued" to the zeroing and still add to "run"
 * when it runs. Shared, so writers on several CPUs still queue at once
 * (what the races suite tests). Reset only tries it, and answers -EBUSY,
 * as it does for pending items, while a queue is in progress: it never
 * waits on a batch, and item callbacks never take the lock.
 */
static DECLARE_RWSEM(twa_queue_sem);

static void twa_log_record(const struct twa_item *it, u64 now)
{
	struct twa_record r = {
		.seq = it->seq,
		.latency_ns = now - it->queued_ns,
		.tid = it->tid,
		.cpu = raw_smp_processor_id(),
		.mode = it->mode,
		.impl = it->impl,
		.after_mark = atomic64_read(&twa_stats.marks) != it->marks,
		.exiting = !!(current->flags & PF_EXITING),
		.deadline = it->deadline ? 1 + atomic_read(&it->dw.state) : 0,
	};

	atomic64_add(r.latency_ns, &twa_stats.latency_ns);
	spin_lock(&twa_log_lock);
	twa_log[twa_log_next++ % TWA_LOG_SIZE] = r;
	spin_unlock(&twa_log_lock);
}

/*
 * The last thing an item does. Its module reference kept rmmod out while it
 * was pending; once module_put() returns the module may be on its way out,
 * and twa_compat_synchronize_rcu_tasks() in the exit path waits for this
 * function to have returned.
 */
static void twa_item_release(void)
{
	/*
	 * Orders this item's counter updates before the decrement, to pair
	 * with twa_reset()'s acquire: a reset that sees the count drop to 0
	 * zeroes after them, never under them.
	 */
	smp_mb__before_atomic();
	atomic_dec(&twa_stats.outstanding);
	module_put(THIS_MODULE);
}

static void twa_item_func(struct callback_head *cb)
{
	struct twa_item *it = container_of(cb, struct twa_item, cb);

	twa_log_record(it, ktime_get_ns());
	kfree(it);
	atomic64_inc(&twa_stats.run);
	twa_item_release();
}

static enum twa_err twa_err_index(int err)
{
	switch (err) {
	case -ESRCH: return TWA_ERR_ESRCH;
	case -EINVAL: return TWA_ERR_EINVAL;
	case -EOPNOTSUPP: return TWA_ERR_EOPNOTSUPP;
	case -ENOMEM: return TWA_ERR_ENOMEM;
	case -EBUSY: return TWA_ERR_EBUSY;
	default: return TWA_ERR_OTHER;
	}
}

static int twa_queue_one(struct task_struct *task, pid_t tid,
			 enum twa_mode mode, enum twa_impl impl, u64 deadline_ns)
{
	struct twa_item *it;
	u64 t0;
	int ret;

	if (atomic_inc_return(&twa_stats.outstanding) > TWA_MAX_OUTSTANDING) {
		atomic_dec(&twa_stats.outstanding);
		return -EBUSY;
	}
	it = kmalloc(sizeof(*it), GFP_KERNEL_ACCOUNT);
	if (!it) {
		atomic_dec(&twa_stats.outstanding);
		return -ENOMEM;
	}
	__module_get(THIS_MODULE);	/* our caller holds a reference */
	init_task_work(&it->cb, twa_item_func);
	it->seq = atomic64_inc_return(&twa_seq);
	it->marks = atomic64_read(&twa_stats.marks);
	it->tid = tid;
	it->mode = mode;
	it->impl = impl;
	it->deadline = deadline_ns != TWA_NO_DEADLINE;
	/* Count before queueing: the item may run before we return. */
	atomic64_inc(&twa_stats.queued);
	t0 = ktime_get_ns();
	it->queued_ns = t0;
	if (it->deadline)
		ret = twa_deadline_work_add(task, &it->dw, twa_item_func,
					    deadline_ns, impl);
	else
		ret = twa_task_work_add(task, &it->cb, mode, impl);
	if (ret) {
		atomic64_dec(&twa_stats.queued);
		kfree(it);
		twa_item_release();
		return ret;
	}
	/* @it may be freed already. */
	atomic64_add(ktime_get_ns() - t0, &twa_stats.queue_ns);
	return 0;
}

int twa_queue(pid_t tid, enum twa_mode mode, enum twa_impl impl,
	      unsigned int count, u64 deadline_ns)
{
	struct task_struct *task;
	unsigned int i;
	int ret = 0;

	down_read(&twa_queue_sem);
	rcu_read_lock();
	task = get_pid_task(find_vpid(tid), PIDTYPE_PID);
	rcu_read_unlock();
	if (!task)
		ret = -ESRCH;
	for (i = 0; task && i < count; i++) {
		ret = twa_queue_one(task, tid, mode, impl, deadline_ns);
		if (ret)
			break;
	}
	if (ret)
		atomic64_add(count - i, &twa_stats.failed[twa_err_index(ret)]);
	if (task)
		put_task_struct(task);
	up_read(&twa_queue_sem);
	return ret;
}

void twa_mark(void)
{
	atomic64_inc(&twa_stats.marks);
}

/*
 * Zero the counters; refused while items are pending or being queued, so
 * they stay balanced (see twa_queue_sem).
 */
int twa_reset(void)
{
	int i;

	if (!down_write_trylock(&twa_queue_sem))
		return -EBUSY;
	/* Pairs with twa_item_release(). */
	if (atomic_read_acquire(&twa_stats.outstanding)) {
		up_write(&twa_queue_sem);
		return -EBUSY;
	}
	atomic64_set(&twa_stats.queued, 0);
	atomic64_set(&twa_stats.run, 0);
	for (i = 0; i < TWA_ERR_COUNT; i++)
		atomic64_set(&twa_stats.failed[i], 0);
	atomic64_set(&twa_stats.backport_kick_process_calls, 0);
	atomic64_set(&twa_stats.wakeups, 0);
	atomic64_set(&twa_stats.queue_ns, 0);
	atomic64_set(&twa_stats.latency_ns, 0);
	twa_ipi_reset();
	twa_deadline_reset();
	spin_lock(&twa_log_lock);
	twa_log_next = 0;
	spin_unlock(&twa_log_lock);
	up_write(&twa_queue_sem);
	return 0;
}

void twa_stats_show(struct seq_file *m)
{
	s64 failed = 0;
	int i;

	for (i = 0; i < TWA_ERR_COUNT; i++)
		failed += atomic64_read(&twa_stats.failed[i]);
	seq_printf(m, "queued %lld\n", atomic64_read(&twa_stats.queued));
	seq_printf(m, "run %lld\n", atomic64_read(&twa_stats.run));
	seq_printf(m, "outstanding %d\n", atomic_read(&twa_stats.outstanding));
	seq_printf(m, "failed %lld\n", failed);
	for (i = 0; i < TWA_ERR_COUNT; i++)
		seq_printf(m, "failed_%s %lld\n", twa_err_names[i],
			   atomic64_read(&twa_stats.failed[i]));
	seq_printf(m, "backport_kick_process_calls %lld\n",
		   atomic64_read(&twa_stats.backport_kick_process_calls));
	seq_printf(m, "wakeups %lld\n", atomic64_read(&twa_stats.wakeups));
	seq_printf(m, "queue_ns %lld\n", atomic64_read(&twa_stats.queue_ns));
	seq_printf(m, "latency_ns %lld\n", atomic64_read(&twa_stats.latency_ns));
	seq_printf(m, "marks %lld\n", atomic64_read(&twa_stats.marks));
	twa_ipi_show_stats(m);
	twa_deadline_show_stats(m);
}

/*
 * The last TWA_LOG_SIZE run items, oldest first. Every callback takes
 * twa_log_lock, on whatever CPU a test measures: the log is copied under it
 * (a memcpy, at most two) into a buffer allocated before, and formatted
 * after, as ipi.c does its senders table.
 */
int twa_items_show(struct seq_file *m)
{
	struct twa_record *copy;
	unsigned int n, head, i;

	copy = kvmalloc_array(TWA_LOG_SIZE, sizeof(*copy), GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	spin_lock(&twa_log_lock);
	n = min_t(u64, twa_log_next, TWA_LOG_SIZE);
	/* The oldest record: the next one overwritten, once the log is full. */
	head = n < TWA_LOG_SIZE ? 0 : twa_log_next % TWA_LOG_SIZE;
	memcpy(copy, &twa_log[head], (n - head) * sizeof(*copy));
	memcpy(copy + n - head, twa_log, head * sizeof(*copy));
	spin_unlock(&twa_log_lock);
	seq_puts(m, "# seq tid mode impl cpu latency_ns mark exiting deadline\n");
	for (i = 0; i < n; i++) {
		const struct twa_record *r = &copy[i];

		seq_printf(m, "%llu %d %s %s %u %llu %s %u %s\n", r->seq, r->tid,
			   twa_mode_names[r->mode], twa_impl_names[r->impl],
			   r->cpu, r->latency_ns,
			   r->after_mark ? "after" : "before", r->exiting,
			   twa_deadline_names[r->deadline]);
	}
	kvfree(copy);
	return 0;
}
