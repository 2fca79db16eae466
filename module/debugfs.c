// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/twa_noipi/: the text protocol user space drives the
 * module with. Documented in README.md. A write is parsed whole before it
 * acts, so a malformed one changes nothing.
 */
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>

#include "compat.h"
#include "internal.h"

/* Longest command accepted, newline included. */
#define TWA_CMD_MAX	256

struct twa_req {
	int tid;
	int mode;
	int impl;
	unsigned int count;
	u64 deadline_ns;	/* TWA_NO_DEADLINE unless deadline_us= */
};

static struct dentry *twa_dir;

static int twa_parse_count(const char *val, unsigned int *count)
{
	if (kstrtouint(val, 10, count) || *count < 1 || *count > TWA_MAX_COUNT)
		return -EINVAL;
	return 0;
}

static int twa_parse_deadline(const char *val, u64 *ns)
{
	u64 us;

	if (kstrtou64(val, 10, &us) || us > TWA_DEADLINE_MAX_NS / NSEC_PER_USEC)
		return -EINVAL;
	*ns = us * NSEC_PER_USEC;
	return 0;
}

static int twa_parse_kv(char *tok, struct twa_req *req)
{
	char *val = strchr(tok, '=');

	if (!val)
		return -EINVAL;
	*val++ = '\0';
	if (!strcmp(tok, "tid"))
		return kstrtoint(val, 10, &req->tid) || req->tid <= 0 ? -EINVAL : 0;
	if (!strcmp(tok, "mode")) {
		req->mode = match_string(twa_mode_names, TWA_MODE_COUNT, val);
		return req->mode < 0 ? -EINVAL : 0;
	}
	if (!strcmp(tok, "impl")) {
		req->impl = match_string(twa_impl_names, TWA_IMPL_COUNT, val);
		return req->impl < 0 ? -EINVAL : 0;
	}
	if (!strcmp(tok, "count"))
		return twa_parse_count(val, &req->count);
	if (!strcmp(tok, "deadline_us"))
		return twa_parse_deadline(val, &req->deadline_ns);
	return -EINVAL;
}

/* "queue tid=T mode=M [impl=I] [count=N] [deadline_us=D]" */
static int twa_cmd_queue(char *args)
{
	struct twa_req req = { .mode = -1, .impl = TWA_IMPL_AUTO, .count = 1,
			       .deadline_ns = TWA_NO_DEADLINE };
	char *tok;
	int ret;

	while ((tok = strsep(&args, " \t")) != NULL) {
		if (!*tok)
			continue;
		ret = twa_parse_kv(tok, &req);
		if (ret)
			return ret;
	}
	if (!req.tid || req.mode < 0)
		return -EINVAL;
	/* A deadline bounds signal_no_ipi's wait; the other modes have none. */
	if (req.deadline_ns != TWA_NO_DEADLINE && req.mode != TWA_MODE_SIGNAL_NO_IPI)
		return -EINVAL;
	return twa_queue(req.tid, req.mode, req.impl, req.count, req.deadline_ns);
}

static int twa_cmd(char *line)
{
	char *cmd = strsep(&line, " \t");

	if (!strcmp(cmd, "queue"))
		return twa_cmd_queue(line ? line : "");
	if (line && *skip_spaces(line))
		return -EINVAL;		/* the other commands take no arguments */
	if (!strcmp(cmd, "mark")) {
		twa_mark();
		return 0;
	}
	if (!strcmp(cmd, "reset"))
		return twa_reset();
	return -EINVAL;
}

static ssize_t twa_control_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	size_t n = len;
	char *buf;
	int ret;

	/* One command per write(), whole: no partial or continued writes. */
	if (*ppos || !len || len >= TWA_CMD_MAX)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	if (buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (strlen(buf) != n)
		ret = -EINVAL;		/* embedded NUL */
	else
		ret = twa_cmd(strim(buf));
	kfree(buf);
	return ret ? ret : len;
}

static const struct file_operations twa_control_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = twa_control_write,
	.llseek = noop_llseek,
};

static int stats_show(struct seq_file *m, void *v)
{
	twa_stats_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static int items_show(struct seq_file *m, void *v)
{
	return twa_items_show(m);
}
DEFINE_SHOW_ATTRIBUTE(items);

static int ipis_show(struct seq_file *m, void *v)
{
	twa_ipi_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ipis);

static int ipi_senders_show(struct seq_file *m, void *v)
{
	twa_ipi_show_senders(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ipi_senders);

static void twa_show_lookups(struct seq_file *m)
{
	const struct twa_lookup *w = &twa_lookup_wake_up_state;
	const struct twa_lookup *t = &twa_lookup_task_work_add;

	seq_printf(m, "wake_up_state %s\n", twa_compat_wake_method());
	seq_printf(m, "wake_up_state_kprobe %s %8phN\n", w->result, w->bytes);
	seq_printf(m, "task_work_add %s\n", twa_compat_task_work_add_via());
	seq_printf(m, "task_work_add_kprobe %s %8phN\n", t->result, t->bytes);
}

static void twa_show_nohz_full(struct seq_file *m)
{
	const struct cpumask *mask;

	switch (twa_compat_nohz_full_mask(&mask)) {
	case 0:
		if (mask)
			seq_printf(m, "nohz_full %*pbl\n", cpumask_pr_args(mask));
		else
			seq_puts(m, "nohz_full none\n");
		break;
	case -ENOENT:
		seq_puts(m, "nohz_full unknown\n");
		break;
	default:
		seq_puts(m, "nohz_full unsupported\n");
		break;
	}
}

/* The protocol's names, for clients to check their own table against. */
static void twa_show_names(struct seq_file *m, const char *key,
			   const char *const *names, int count)
{
	int i;

	seq_puts(m, key);
	for (i = 0; i < count; i++)
		seq_printf(m, " %s", names[i]);
	seq_putc(m, '\n');
}

static int features_show(struct seq_file *m, void *v)
{
	seq_printf(m, "release %s\n", init_utsname()->release);
	seq_printf(m, "native_signal_no_ipi %s\n",
		   TWA_COMPAT_NATIVE_SIGNAL_NO_IPI ? "yes" : "no");
	seq_puts(m, "tif_notify_signal yes\n");
	seq_printf(m, "notify_cleared %s\n", TWA_COMPAT_NOTIFY_CLEARED);
	twa_show_lookups(m);
	seq_printf(m, "ibt %s\n", IS_ENABLED(CONFIG_X86_KERNEL_IBT) ? "yes" : "no");
	seq_printf(m, "bti %s\n", IS_ENABLED(CONFIG_ARM64_BTI_KERNEL) ? "yes" : "no");
	seq_printf(m, "preemption %s\n", IS_ENABLED(CONFIG_PREEMPTION) ? "yes" : "no");
	seq_printf(m, "unload_sync %s\n", twa_compat_unload_sync_name());
	seq_printf(m, "hz %d\n", HZ);
	seq_printf(m, "tick_task_work %s\n", TWA_COMPAT_TICK_TASK_WORK);
	twa_show_nohz_full(m);
	twa_ipi_show_feature(m);
	seq_printf(m, "cpus %u\n", num_online_cpus());
	seq_printf(m, "max_count %d\n", TWA_MAX_COUNT);
	seq_printf(m, "max_outstanding %d\n", TWA_MAX_OUTSTANDING);
	seq_printf(m, "deadline_max_us %llu\n", TWA_DEADLINE_MAX_NS / NSEC_PER_USEC);
	twa_show_names(m, "modes", twa_mode_names, TWA_MODE_COUNT);
	twa_show_names(m, "impls", twa_impl_names, TWA_IMPL_COUNT);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(features);

int twa_debugfs_init(void)
{
	twa_dir = debugfs_create_dir("twa_noipi", NULL);
	if (IS_ERR_OR_NULL(twa_dir))
		return twa_dir ? PTR_ERR(twa_dir) : -ENODEV;
	/* Root only, and only the access each file needs. */
	debugfs_create_file("control", 0200, twa_dir, NULL, &twa_control_fops);
	debugfs_create_file("stats", 0400, twa_dir, NULL, &stats_fops);
	debugfs_create_file("items", 0400, twa_dir, NULL, &items_fops);
	debugfs_create_file("features", 0400, twa_dir, NULL, &features_fops);
	debugfs_create_file("ipis", 0400, twa_dir, NULL, &ipis_fops);
	debugfs_create_file("ipi_senders", 0400, twa_dir, NULL,
			    &ipi_senders_fops);
	return 0;
}

void twa_debugfs_exit(void)
{
	/* Waits for writers and readers inside our file operations. */
	debugfs_remove_recursive(twa_dir);
}
