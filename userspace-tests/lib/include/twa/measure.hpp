// Queue items one at a time and count the IPIs the target CPU received
// meanwhile: shared by the in-guest tests and the benchmark.
#pragma once

#include "twa/client.hpp"
#include "twa/interrupts.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace twa {

// The CPUs a measurement uses: items are queued from queue_cpu() to a
// target on target_cpu(). CPUs 0 and 1 in the test guests; twa-bench's
// --queue-cpu and --target-cpu (make bench) pick others on a real machine.
int target_cpu();
int queue_cpu();
void set_cpus(int queue, int target);

struct Sample {
	int items = 0;
	std::int64_t ran = 0;
	std::uint64_t res = 0; // receiver side: RES on the target CPU (/proc/interrupts)
	std::uint64_t cal = 0; // receiver side: CAL on the target CPU
	// Receiver side: every other interrupt of the target CPU but its tick
	// (device IRQs, irq_work self-interrupts, ...): kernel entries too.
	std::uint64_t other_irqs = 0;
	// Sender side (the module's "ipis" file): IPIs sent to the target CPU,
	// by who sent them; valid if sender_side.
	bool sender_side = false;
	IpiCounts sent;
	std::int64_t kick_process_calls = 0;          // kick_process() calls from our queueing
	std::int64_t kick_ipis_owed = 0;              // of those, with the target on another CPU
	std::vector<IpiSender> senders;               // to the target CPU
	std::int64_t backport_kick_process_calls = 0; // the backport's own counter
	std::int64_t wakeups = 0;
	std::int64_t queue_ns = 0;
	std::chrono::milliseconds elapsed{0}; // wall time of the measurement
	int held = 0;                         // items still pending after the hold check, if any
	std::vector<std::uint64_t> latencies_ns;
	std::vector<bool> after_mark;
	std::vector<std::string> deadlines; // per item, as ItemRecord::deadline
	Stats stats;                        // the module's, after the run
	std::string error;                  // empty unless something went wrong

	bool ok() const { return error.empty(); }
	std::uint64_t ipis() const { return res + cal; }
	double per_item(double v) const { return items ? v / items : 0; }
	std::uint64_t latency_pct(double p) const;
};

struct RunOptions {
	// Called while waiting for an item, e.g. to make the target syscall,
	// once poke_after has passed since the item was queued.
	std::function<void()> poke;
	std::chrono::milliseconds poke_after{0};
	// If > 0: after queueing, wait this long and count the item as held if
	// it has not run yet; then call poke() once.
	std::chrono::milliseconds hold{0};
	std::chrono::milliseconds timeout{3000};
	// Queue each item only once the target is asleep again (state S): for
	// a sleeper, so that every item finds it asleep and none needs a kick.
	bool wait_asleep = false;
	// Another way to queue (the example consumer's own debugfs file):
	// queue item @i and return 0 or an errno value; and how many of the
	// run's items have run. Unset: Client::queue() and the module's
	// stats. The IPIs are counted at the sender either way.
	std::function<int(int i)> queue;
	// Queue with this deadline (the deadline mode; signal_no_ipi only).
	std::optional<std::uint64_t> deadline_us;
	std::function<std::int64_t()> ran;
};

// Reset the module's counters, then queue @n items to @tid one at a time,
// each after the previous one ran, and measure. @mode and @impl are what
// Client::queue() asks for (with opt.queue: what that path does).
Sample run_items(const Client& c, pid_t tid, Mode mode, Impl impl, int n,
                 const RunOptions& opt = {});

// IPIs CPU target_cpu() receives while nothing is queued: poll the stats file
// for @duration, as run_items() does while it waits, and count RES + CAL.
// What a mode adds is then what it gets beyond this background.
std::uint64_t background_ipis(const Client& c, std::chrono::milliseconds duration);

// One parseable line per measurement: "# ipi key=value ...".
std::string ipi_line(const std::string& target, Mode mode, Impl impl, const Sample& s);
// "# sender count=N origin=O vector=V caller=SYM" lines for the target CPU.
std::string sender_lines(const Sample& s);

int env_int(const char* name, int def);

// The @p-th percentile (0..100, nearest rank) of @v; 0 if empty.
std::uint64_t percentile(std::vector<std::uint64_t> v, double p);

} // namespace twa
