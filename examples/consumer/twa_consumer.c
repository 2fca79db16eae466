// SPDX-License-Identifier: GPL-2.0
/*
 * Example consumer: upstream code that queues task_work with
 * TWA_SIGNAL_NO_IPI (Linux 5.19), against the kernel's headers alone. Built
 * through twa-noipi's shim (see Kbuild), it runs on every kernel twa_noipi
 * supports: on those with the mode and the task_work_add() export it is
 * the kernel's own task_work_add() and the module needs nothing of ours;
 * elsewhere the shim makes the same call twa_noipi's.
 *
 * Write a TID to /sys/kernel/debug/twa_consumer/queue; read "run" for the
 * number of items that ran, "pending" for those queued and not yet run.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>

static struct dentry *consumer_dir;
static atomic_t consumer_pending;
static atomic_t consumer_run;

struct consumer_item {
	struct callback_head cb;
};

static void consumer_item_func(struct callback_head *cb)
{
	kfree(container_of(cb, struct consumer_item, cb));
	atomic_inc(&consumer_run);
	atomic_dec(&consumer_pending);
	module_put(THIS_MODULE);
}

static int consumer_queue(pid_t tid)
{
	struct task_struct *task;
	struct consumer_item *it;
	int ret;

	rcu_read_lock();
	task = get_pid_task(find_vpid(tid), PIDTYPE_PID);
	rcu_read_unlock();
	if (!task)
		return -ESRCH;
	/* A kernel thread never returns to user mode: its work would wait. */
	if (task->flags & PF_KTHREAD) {
		put_task_struct(task);
		return -EINVAL;
	}
	it = kmalloc(sizeof(*it), GFP_KERNEL_ACCOUNT);
	ret = it ? 0 : -ENOMEM;
	if (it) {
		__module_get(THIS_MODULE);
		atomic_inc(&consumer_pending);
		init_task_work(&it->cb, consumer_item_func);
		/* The whole point: the target runs it at its next kernel entry. */
		ret = task_work_add(task, &it->cb, TWA_SIGNAL_NO_IPI);
		if (ret) {
			atomic_dec(&consumer_pending);
			module_put(THIS_MODULE);
			kfree(it);
		}
	}
	put_task_struct(task);
	return ret;
}

static ssize_t consumer_queue_write(struct file *file, const char __user *ubuf,
				    size_t len, loff_t *ppos)
{
	int tid, ret;

	ret = kstrtoint_from_user(ubuf, len, 10, &tid);
	if (ret || tid <= 0)
		return -EINVAL;
	ret = consumer_queue(tid);
	return ret ? ret : len;
}

static const struct file_operations consumer_queue_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = consumer_queue_write,
	.llseek = noop_llseek,
};

static int __init consumer_init(void)
{
	consumer_dir = debugfs_create_dir("twa_consumer", NULL);
	if (IS_ERR_OR_NULL(consumer_dir))
		return consumer_dir ? PTR_ERR(consumer_dir) : -ENODEV;
	debugfs_create_file("queue", 0200, consumer_dir, NULL, &consumer_queue_fops);
	debugfs_create_atomic_t("run", 0400, consumer_dir, &consumer_run);
	debugfs_create_atomic_t("pending", 0400, consumer_dir, &consumer_pending);
	return 0;
}
module_init(consumer_init);

/*
 * Unloading. Each pending item holds a module reference, so rmmod is
 * refused while any is pending. What is left is a callback that has
 * dropped its reference and is still returning through this module's
 * text: synchronize_rcu_tasks() waits that out, as an RCU-tasks grace
 * period ends only once every task has switched out voluntarily or run in
 * user space. Without RCU-tasks <linux/rcupdate.h> makes it
 * synchronize_rcu(), which covers that window only where nothing can
 * preempt the callback before it returns. A preemptible kernel without
 * RCU-tasks offers no such wait: there the module has no exit function,
 * and the kernel refuses rmmod.
 *
 * Kernel API only, no twa_* name. Upstream has no such code: its
 * task_work callbacks (io_uring's) are built in, and a module that cannot
 * be unloaded safely is built in or marked permanent. The #if is what an
 * out-of-tree module pays for living in text that can go away.
 */
#if defined(CONFIG_TASKS_RCU) || !defined(CONFIG_PREEMPTION)
static void __exit consumer_exit(void)
{
	debugfs_remove_recursive(consumer_dir);
	synchronize_rcu_tasks();
}
module_exit(consumer_exit);
#endif

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Example consumer: TWA_SIGNAL_NO_IPI task_work, upstream code built through the twa-noipi shim");
