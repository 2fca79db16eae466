/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TWA_INTERNAL_H
#define _TWA_INTERNAL_H

#include <linux/atomic.h>
#include <linux/export.h>
#include <linux/types.h>

struct callback_head;
struct task_struct;

#include "../include/twa_noipi.h"

/* Largest count one debugfs write may queue (bounds what it allocates). */
#define TWA_MAX_COUNT		65536
/* Largest number of items pending at once, over all writers. */
#define TWA_MAX_OUTSTANDING	(4 * TWA_MAX_COUNT)

/* Stand-in for EXPORT_SYMBOL_IF_KUNIT() (6.2+): exports for the suites only. */
#if IS_ENABLED(CONFIG_KUNIT)
#define EXPORT_SYMBOL_IF_TWA_KUNIT(sym)	EXPORT_SYMBOL_GPL(sym)
#else
#define EXPORT_SYMBOL_IF_TWA_KUNIT(sym)
#endif

enum twa_err {
	TWA_ERR_ESRCH,
	TWA_ERR_EINVAL,
	TWA_ERR_EOPNOTSUPP,
	TWA_ERR_ENOMEM,
	TWA_ERR_EBUSY,
	TWA_ERR_OTHER,
	TWA_ERR_COUNT,
};

struct twa_stats {
	atomic64_t queued;	/* accepted by task_work_add() */
	atomic64_t run;		/* callbacks that ran */
	atomic64_t failed[TWA_ERR_COUNT];
	atomic64_t backport_kick_process_calls; /* kick_process() calls by the backport */
	atomic64_t wakeups;	/* wake_up_state() wakes by the backport */
	atomic64_t queue_ns;	/* time spent in twa_task_work_add() */
	atomic64_t latency_ns;	/* queue-to-run, summed over run items */
	atomic64_t marks;	/* "mark" commands */
	atomic_t outstanding;	/* queued, not yet run; never reset */
};

extern struct twa_stats twa_stats;
extern const char *const twa_mode_names[TWA_MODE_COUNT];
extern const char *const twa_impl_names[TWA_IMPL_COUNT];
extern const char *const twa_err_names[TWA_ERR_COUNT];

int __twa_task_work_add(struct task_struct *task, struct callback_head *work,
			enum twa_mode mode, enum twa_impl impl);

/* A deadline_ns of TWA_NO_DEADLINE queues without one. */
#define TWA_NO_DEADLINE		U64_MAX
int twa_queue(pid_t tid, enum twa_mode mode, enum twa_impl impl,
	      unsigned int count, u64 deadline_ns);
void twa_mark(void);
int twa_reset(void);

/*
 * The deadline mode (deadline.c), module-wide: works queued with a
 * deadline, and what became of them once it passed or they ran. Every
 * queued work ends as exactly one of met, kicks, covered or immediate (a
 * deadline of 0: queued - met - kicks - covered, once all ran).
 */
struct twa_deadline_stats {
	atomic64_t queued;
	atomic64_t met;		/* ran before the deadline */
	atomic64_t kicks;	/* the deadline passed: kick_process() */
	atomic64_t covered;	/* passed, a kick since queued forces it in */
};

extern struct twa_deadline_stats twa_deadline_stats;

typedef int (*twa_add_fn)(struct task_struct *task, struct callback_head *work,
			  enum twa_mode mode, enum twa_impl impl);

struct hrtimer;
enum hrtimer_restart twa_deadline_fire(struct hrtimer *timer);
void twa_deadline_run(struct callback_head *cb);
int __twa_deadline_work_add(struct task_struct *task, struct twa_deadline_work *dw,
			    task_work_func_t func, u64 deadline_ns,
			    enum twa_impl impl, twa_add_fn add);
void twa_deadline_reset(void);

struct seq_file;
void twa_deadline_show_stats(struct seq_file *m);
void twa_stats_show(struct seq_file *m);
int twa_items_show(struct seq_file *m);

/*
 * Sender-side IPI counts (ipi.c), by origin: the kick IPI (kick_process()
 * from a twa queueing call), a wake from one, or anything else.
 */
enum twa_ipi_origin {
	TWA_IPI_KICK, TWA_IPI_WAKE, TWA_IPI_OTHER, TWA_IPI_DEADLINE, TWA_IPI_ORIGINS
};

int twa_ipi_init(void);
void twa_ipi_exit(void);
int twa_ipi_notify_begin(void);
void twa_ipi_notify_end(int slot);
void twa_ipi_reset(void);
void twa_ipi_deadline_kick_begin(struct task_struct *task);
void twa_ipi_deadline_kick_end(void);
void twa_ipi_show(struct seq_file *m);
void twa_ipi_show_senders(struct seq_file *m);
void twa_ipi_show_stats(struct seq_file *m);
void twa_ipi_show_feature(struct seq_file *m);
s64 twa_ipi_sent(int cpu, enum twa_ipi_origin origin);
s64 twa_ipi_kick_process_calls(void);
s64 twa_ipi_kick_ipis_owed(void);
s64 twa_ipi_deadline_kick_ipis_owed(void);
u64 twa_ipi_probes_missed(void);

int twa_debugfs_init(void);
void twa_debugfs_exit(void);

#endif /* _TWA_INTERNAL_H */
