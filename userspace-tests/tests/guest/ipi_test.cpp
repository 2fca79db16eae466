// In-guest IPI tests: does each notification mode send the IPIs it should
// to a target on CPU 1, and does the work run? Tolerances are stated next
// to each assertion; figures are printed as "# ipi" lines.
#include "twa/cpu.hpp"
#include "twa/ipitrace.hpp"
#include "twa/measure.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

using namespace twa;
using namespace std::chrono_literals;

namespace {

// Items per measurement; TWA_ITEMS overrides (the benchmark uses 1000).
int items_fast() { return env_int("TWA_ITEMS", 200); }
// NO_IPI items to a spinner wait for a tick (5-40 ms under TCG): fewer.
int items_slow() { return std::max(20, items_fast() / 2); }

class Ipi : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_EQ(pin_to_cpu(queue_cpu()), 0);
		ASSERT_GE(online_cpus(), 2) << "the IPI tests need CPU 1";
		features = client.features();
		ASSERT_FALSE(features.release().empty()) << "module not loaded?";
		// Every verdict about a kick rests on the sender-side counts: a
		// kernel where the module cannot take them fails here, loudly.
		ASSERT_TRUE(features.ipi_count()) << "ipi_count " << features.get("ipi_count");
	}
	bool native(Mode m) const
	{
		return m != Mode::SignalNoIpi || features.native_signal_no_ipi();
	}
	std::vector<Impl> impls(Mode m) const
	{
		if (native(m))
			return {Impl::Native, Impl::Backport};
		return {Impl::Backport};
	}

	// Measure, print the figures, and fail the test on a measurement error.
	Sample measure(const std::string& target, pid_t tid, Mode mode, Impl impl, int n,
	               const RunOptions& opt = {})
	{
		auto s = run_items(client, tid, mode, impl, n, opt);
		std::printf("%s\n%s", ipi_line(target, mode, impl, s).c_str(),
		            sender_lines(s).c_str());
		std::fflush(stdout);
		EXPECT_TRUE(s.ok()) << s.error;
		EXPECT_TRUE(s.sender_side);
		auto prefix = target + "_" + std::string(to_string(mode)) + "_" +
		              std::string(to_string(impl));
		RecordProperty(prefix + "_ipis", static_cast<int>(s.ipis()));
		RecordProperty(prefix + "_sent_kick_ipi", static_cast<int>(s.sent.kick_ipi));
		RecordProperty(prefix + "_kick_process_calls",
		               static_cast<int>(s.kick_process_calls));
		RecordProperty(prefix + "_kick_ipis_owed", static_cast<int>(s.kick_ipis_owed));
		return s;
	}

	Client client;
	Features features;
};

// Process-wide setup before any test: see keep_heap_mapped() and
// install_poke_signal().
class NoTlbNoise : public ::testing::Environment {
	void SetUp() override
	{
		keep_heap_mapped();
		ASSERT_EQ(install_poke_signal(), 0);
	}
};
const auto* const kNoTlbNoise = ::testing::AddGlobalTestEnvironment(new NoTlbNoise);

} // namespace

// Kick IPIs are counted at the sender (module/ipi.c): a reschedule IPI sent
// by kick_process() from inside our queueing call. kick_process() sends one
// only if the target is running on its CPU at that instant; a spinner that a
// kernel thread just preempted (kmemleak, RCU, kworkers on debug kernels)
// needs none. So the exact claim is on kick_process() calls; the IPIs are
// judged against the kick IPIs owed (the module's kick_ipis_owed: the calls
// that found the target current on another CPU, sampled as kick_process()
// is entered), as KUnit judges them. On a loaded debug kernel a spinner is
// switched out often, and a floor on all calls failed (158 IPIs for 200
// calls, debug-7.x beside two other boots). The 80 % left is for a switch
// that begins inside kick_process() itself, after the sample: on_cpu still
// set, rq->curr no longer the target.
constexpr double kKickIpiFloor = 0.8;
bool sent_kick_ipis_owed(const Sample& s)
{
	return s.kick_ipis_owed > 0 &&
	       s.sent.kick_ipi <= static_cast<std::uint64_t>(s.kick_process_calls) &&
	       static_cast<double>(s.sent.kick_ipi) >=
	           kKickIpiFloor * static_cast<double>(s.kick_ipis_owed);
}
std::string kick_ipis_said(const Sample& s)
{
	return "sent " + std::to_string(s.sent.kick_ipi) + " kick IPIs for " +
	       std::to_string(s.kick_process_calls) + " kick_process() calls, " +
	       std::to_string(s.kick_ipis_owed) + " of them owing one";
}
// Receiver cross-check: CPU 1 counts what it received, not what was sent.
// A kick may still be in flight when /proc/interrupts is read, and a kick
// sent while the previous one is still pending there (its item already run
// by another kernel entry, the vCPU not scheduled by the host) is merged
// into it by the local APIC, one IRR bit per vector. So received may fall
// short of sent: by 2 in flight and up to 5 % merged, a margin that grows
// with how busy the host is, never with what the module does.
bool received_all_but_merges(const Sample& s)
{
	return s.res + 2 + s.sent.kick_ipi / 20 >= s.sent.kick_ipi;
}

// What a deadline run's counters must add up to, exactly: every item was
// queued with a deadline and ended as one of met (ran before it), kicked
// (its timer called kick_process()) or covered (a kick sent since it was
// queued already forced the target in); the items file says which, per
// item, and agrees with the counters.
struct DeadlineCounts {
	std::int64_t met = 0, kicked = 0, covered = 0, immediate = 0, other = 0;
	std::uint64_t kicked_min_latency_ns = UINT64_MAX;
};
DeadlineCounts deadline_counts(const Sample& s)
{
	DeadlineCounts d;
	for (std::size_t i = 0; i < s.deadlines.size(); i++) {
		const auto& o = s.deadlines[i];
		if (o == "met")
			d.met++;
		else if (o == "kicked") {
			d.kicked++;
			d.kicked_min_latency_ns =
			    std::min<std::uint64_t>(d.kicked_min_latency_ns, s.latencies_ns[i]);
		} else if (o == "covered")
			d.covered++;
		else if (o == "immediate")
			d.immediate++;
		else
			d.other++;
	}
	return d;
}
void expect_deadline_balanced(const Sample& s, int n)
{
	auto d = deadline_counts(s);
	EXPECT_EQ(s.stats.deadline_queued(), n);
	EXPECT_EQ(s.stats.deadline_met(), d.met);
	EXPECT_EQ(s.stats.deadline_kicks(), d.kicked);
	EXPECT_EQ(s.stats.deadline_covered(), d.covered);
	EXPECT_EQ(d.met + d.kicked + d.covered + d.immediate, n)
	    << d.other << " without a deadline";
	// A deadline kick is a kick_process() of its own, sent from the timer:
	// never one of the queueing calls' (a deadline item queues as NO_IPI).
	EXPECT_LE(s.sent.deadline_kick, static_cast<std::uint64_t>(d.kicked));
	std::printf("# deadline met=%lld kicked=%lld covered=%lld immediate=%lld "
	            "deadline_kick_ipi=%llu deadline_kick_ipis_owed=%lld\n",
	            static_cast<long long>(d.met), static_cast<long long>(d.kicked),
	            static_cast<long long>(d.covered), static_cast<long long>(d.immediate),
	            static_cast<unsigned long long>(s.sent.deadline_kick),
	            static_cast<long long>(s.stats.deadline_kick_ipis_owed()));
}

// signal to a task spinning in user space: one kick per item.
TEST_F(Ipi, SignalToSpinnerKicksOncePerItem)
{
	Spinner spin(target_cpu());
	int n = items_fast();
	for (auto impl : impls(Mode::Signal)) {
		auto s = measure("spinner", spin.tid(), Mode::Signal, impl, n);
		EXPECT_EQ(s.ran, n);
		if (!features.notify_cleared_after_work()) {
			// Exact: each item was queued after the previous one ran,
			// so it found TIF_NOTIFY_SIGNAL clear and a running target
			// that wake_up_state() could not wake: set_notify_signal()
			// kicks.
			EXPECT_EQ(s.kick_process_calls, n) << to_string(impl);
		} else {
			// 5.10's get_signal() on arm64 runs the work before it
			// clears the flag (features: notify_cleared after_work): an
			// item queued in between finds it set and is run without a
			// kick. Seen: 1 in 2000. Hence, as for resume, a 90 % floor.
			EXPECT_LE(s.kick_process_calls, n) << to_string(impl);
			EXPECT_GE(s.kick_process_calls, static_cast<std::int64_t>(0.9 * n))
			    << to_string(impl);
		}
		if (impl == Impl::Backport) {
			EXPECT_EQ(s.backport_kick_process_calls, s.kick_process_calls)
			    << "module counter vs kprobe";
		}
		EXPECT_LE(s.sent.kick_ipi, static_cast<std::uint64_t>(n));
		EXPECT_TRUE(sent_kick_ipis_owed(s)) << kick_ipis_said(s);
		EXPECT_EQ(s.sent.wake(), 0u) << "a running target is not woken";
		EXPECT_TRUE(received_all_but_merges(s))
		    << "sent " << s.sent.kick_ipi << " kick IPIs, CPU 1 received " << s.res
		    << " RES";
	}
}

// signal_no_ipi to a spinner: not one IPI from our queueing, and the work
// still runs (at the tick).
TEST_F(Ipi, SignalNoIpiToSpinnerSendsNoIpi)
{
	Spinner spin(target_cpu());
	int n = items_slow();
	for (auto impl : impls(Mode::SignalNoIpi)) {
		auto s = measure("spinner", spin.tid(), Mode::SignalNoIpi, impl, n);
		EXPECT_EQ(s.ran, n);
		EXPECT_EQ(s.kick_process_calls, 0) << to_string(impl);
		EXPECT_EQ(s.backport_kick_process_calls, 0) << to_string(impl);
		EXPECT_EQ(s.sent.ours(), 0u) << to_string(impl) << ": kick_ipi " << s.sent.kick_ipi
					     << " wake " << s.sent.wake();
	}
}

// An interruptible sleeper is woken in every signal mode and never kicked.
// Each item is queued once the sleeper is back asleep (state S), so every
// wake_up_state() finds it asleep: the counts are exact.
TEST_F(Ipi, SleeperIsWokenNotKicked)
{
	Sleeper sleeper(target_cpu());
	int n = items_fast() / 2;
	RunOptions opt;
	opt.wait_asleep = true;
	for (auto mode : {Mode::Signal, Mode::SignalNoIpi}) {
		for (auto impl : impls(mode)) {
			auto s = measure("sleeper", sleeper.tid(), mode, impl, n, opt);
			EXPECT_EQ(s.ran, n); // it sleeps until notified: ran means woken
			EXPECT_EQ(s.kick_process_calls, 0)
			    << to_string(mode) << " " << to_string(impl);
			EXPECT_EQ(s.sent.kick_ipi, 0u);
			if (impl == Impl::Backport) {
				EXPECT_EQ(s.backport_kick_process_calls, 0);
				EXPECT_EQ(s.wakeups, n);
			}
		}
	}
}

// The kernel's IPI tracepoints (6.4+) and the module's kprobes count the
// same IPIs to CPU 1: all of them, and the kick IPIs (reschedule IPIs whose
// call site is kick_process()'s caller: task_work_add or the module). The
// tracer's window is a little wider (it spans the module's reset and its
// reads): kick IPIs 2 or 2 % apart at most; all IPIs, at least as many.
bool counts_agree(std::uint64_t a, std::uint64_t b)
{
	auto hi = std::max(a, b), lo = std::min(a, b);
	return hi - lo <= std::max<std::uint64_t>(2, hi / 50);
}

TEST_F(Ipi, TracepointsAgreeWithKprobes)
{
	std::string why;
	// Before any target runs on CPU 1: setting the triggers patches the
	// tracepoints' text (under TCG never under a running vCPU's feet).
	auto tracer = IpiTracer::start(target_cpu(), why);
	if (!tracer)
		GTEST_SKIP() << why;
	int n = items_fast() / 2;
	auto check = [&](const char* target, pid_t tid, Mode mode, Impl impl,
	                 const RunOptions& opt) {
		auto t0 = tracer->totals();
		auto s = measure(target, tid, mode, impl, n, opt);
		auto d = tracer->totals() - t0;
		auto prefix = std::string(target) + "_" + std::string(to_string(mode)) + "_" +
		              std::string(to_string(impl));
		std::printf("# tracepoints %s total=%llu kick_ipi=%llu kprobes total=%llu "
		            "kick_ipi=%llu\n",
		            prefix.c_str(), static_cast<unsigned long long>(d.total()),
		            static_cast<unsigned long long>(d.kick_ipis()),
		            static_cast<unsigned long long>(s.sent.total()),
		            static_cast<unsigned long long>(s.sent.kick_ipi));
		RecordProperty(prefix + "_tracepoint_ipis", static_cast<int>(d.total()));
		RecordProperty(prefix + "_tracepoint_kick_ipis", static_cast<int>(d.kick_ipis()));
		// All IPIs: the tracer's wider window also holds the background
		// that came before the module's reset and after its reads (on a
		// loaded arm64 guest 8 more for the sleeper's 187, whose wakes
		// bring CAL IPIs of others): the tracepoints see at least what the
		// kprobes saw, 2 in flight aside. The kick IPIs, ours, must agree.
		EXPECT_GE(d.total() + 2, s.sent.total())
		    << prefix << ": tracepoints " << d.total() << ", kprobes " << s.sent.total();
		EXPECT_TRUE(counts_agree(d.kick_ipis(), s.sent.kick_ipi))
		    << prefix << ": kick IPIs, tracepoints " << d.kick_ipis() << ", kprobes "
		    << s.sent.kick_ipi;
	};
	{
		Spinner spin(target_cpu());
		for (auto mode : {Mode::Signal, Mode::SignalNoIpi})
			for (auto impl : impls(mode))
				check("spinner", spin.tid(), mode, impl, {});
	}
	{
		Sleeper sleeper(target_cpu());
		RunOptions opt;
		opt.wait_asleep = true;
		for (auto impl : impls(Mode::Signal))
			check("sleeper", sleeper.tid(), Mode::Signal, impl, opt);
	}
}

// resume kicks a running task (set_notify_resume), so one kick per item
// that found TIF_NOTIFY_RESUME clear. The tick's own TWA_RESUME work
// (mm_cid scan, 6.4+; NUMA scans) sets it on the spinner for a moment, and
// an item queued then is not kicked: hence a 90 % floor on kick calls.
TEST_F(Ipi, ResumeToSpinnerKicks)
{
	Spinner spin(target_cpu());
	int n = items_fast() / 2;
	for (auto impl : {Impl::Native, Impl::Backport}) {
		auto s = measure("spinner", spin.tid(), Mode::Resume, impl, n);
		EXPECT_EQ(s.ran, n);
		EXPECT_LE(s.kick_process_calls, n);
		EXPECT_GE(s.kick_process_calls, static_cast<std::int64_t>(0.9 * n));
		if (impl == Impl::Backport) {
			EXPECT_EQ(s.backport_kick_process_calls, s.kick_process_calls)
			    << "module counter vs kprobe";
		}
		EXPECT_LE(s.sent.kick_ipi, static_cast<std::uint64_t>(s.kick_process_calls));
		EXPECT_TRUE(sent_kick_ipis_owed(s)) << kick_ipis_said(s);
		EXPECT_EQ(s.sent.wake(), 0u);
		EXPECT_TRUE(received_all_but_merges(s))
		    << "sent " << s.sent.kick_ipi << " kick IPIs, CPU 1 received " << s.res
		    << " RES";
	}
}

// none sets no flag: no IPI, and the work waits until something runs the
// target's task_work. A bare syscall does not. Here the target writes a
// mark, then signals itself: get_signal() runs pending task_work on every
// kernel, so the item runs after the mark. (The mark's close() ran it too
// before 6.6, through fput()'s TWA_RESUME work; since 6.6 close() puts the
// file synchronously and that path is gone.)
// Since 6.4 the tick's mm_cid scan (TWA_RESUME, ~every 100 ms) also runs
// pending work, so at least half must still be pending after 30 ms.
TEST_F(Ipi, NoneWaitsForNextKernelEntry)
{
	Spinner spin(target_cpu(), [this] {
		client.mark();
		poke_thread(gettid_now());
	});
	int n = 40;
	bool mm_cid = features.tick_mm_cid();
	for (auto impl : {Impl::Native, Impl::Backport}) {
		RunOptions opt;
		opt.hold = 30ms;
		opt.poke = [&] { spin.make_syscall(); };
		auto t0 = std::chrono::steady_clock::now();
		auto s = measure("spinner", spin.tid(), Mode::None, impl, n, opt);
		auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
			      std::chrono::steady_clock::now() - t0)
		              .count();
		EXPECT_EQ(s.ran, n);
		EXPECT_GE(s.held, n / 2);
		EXPECT_EQ(s.kick_process_calls, 0);
		EXPECT_EQ(s.sent.ours(), 0u);
		auto after = std::count(s.after_mark.begin(), s.after_mark.end(), true);
		// A held item runs at the target's next kernel entry: its syscall,
		// or an interrupt another CPU sent it first; where the kernel has
		// the tick's mm_cid scan (features: tick_task_work mm_cid, 6.4+),
		// also a scan landing between the hold and the mark: at most one
		// per 100 ms (MM_CID_SCAN_DELAY) of the measurement.
		std::uint64_t scans = mm_cid ? static_cast<std::uint64_t>(ms / 100 + 1) : 0;
		EXPECT_LE(static_cast<std::uint64_t>(s.held - after), s.sent.other() + scans)
		    << "held items run right after the target's syscall (" << scans
		    << " mm_cid scans allowed)";
	}
}

// A task spinning on a nohz_full CPU gets no tick: NO_IPI work waits for its
// next kernel entry, TWA_SIGNAL work runs at once. Needs nohz_full=1 on the
// kernel command line (where the kernel has CONFIG_NO_HZ_FULL). With a tick
// (every 1/HZ) every item would run within milliseconds. nohz_full is not
// total isolation, though: irq_work, nohz_full kicks and wakeups of per-CPU
// kthreads still interrupt CPU 1 (on -rt kernels over ten times a second),
// and the tick comes back for a moment now and then (its 1 Hz residue, a
// timer), each running the pending work. So of the items that ran before
// their 100 ms hold ended, at most half may be the tick's, and any more
// must be matched by interrupts that are not the tick: IPIs from other
// CPUs (counted at the sender) or other interrupts CPU 1 received.
TEST_F(Ipi, NohzFullNoIpiWaitsForSyscall)
{
	auto nohz = features.nohz_full();
	if (std::find(nohz.begin(), nohz.end(), target_cpu()) == nohz.end())
		GTEST_SKIP() << "CPU 1 is not nohz_full (boot with nohz_full=1)";
	// One syscall, the write itself: an open() would already be a kernel
	// exit that runs the flagged work before the mark.
	ControlFile control(client);
	ASSERT_EQ(control.open_error(), 0);
	Spinner spin(target_cpu(), [&control] { (void)control.write("mark"); });
	std::this_thread::sleep_for(200ms); // let the tick stop
	constexpr int n = 10;
	for (auto impl : impls(Mode::SignalNoIpi)) {
		RunOptions opt;
		opt.hold = 100ms;
		opt.poke = [&] { spin.make_syscall(); };
		auto s = measure("nohz_spinner", spin.tid(), Mode::SignalNoIpi, impl, n, opt);
		EXPECT_EQ(s.ran, n);
		auto early = static_cast<std::uint64_t>(n - s.held);
		EXPECT_LE(early, std::max<std::uint64_t>(n / 2, s.sent.other() + s.other_irqs))
		    << "NO_IPI work ran on a nohz_full CPU before a syscall: " << early << " of "
		    << n << ", other IPIs " << s.sent.other() << ", other interrupts "
		    << s.other_irqs;
		auto after = std::count(s.after_mark.begin(), s.after_mark.end(), true);
		// A held item runs at the target's next kernel entry: its syscall,
		// or an interrupt another CPU sent it first (the tick is off).
		EXPECT_LE(static_cast<std::uint64_t>(s.held - after), s.sent.other())
		    << "held items run right after the target's syscall";
		EXPECT_EQ(s.kick_process_calls, 0);
		EXPECT_EQ(s.sent.ours(), 0u);
	}
	// With a deadline of 1 ms no item waits for the syscall: each is kicked
	// (or meets it) and runs before the 100 ms hold ends. The bound is the
	// hold, not D plus a round trip: under TCG a round trip is the host's to
	// schedule (vCPU threads of two boots on two host CPUs), tens of ms at
	// worst; its p99 beside plain NO_IPI's is printed.
	for (auto impl : impls(Mode::SignalNoIpi)) {
		RunOptions opt;
		opt.hold = 100ms;
		opt.poke = [&] { spin.make_syscall(); };
		opt.deadline_us = 1000;
		auto s = measure("nohz_spinner_deadline_1ms", spin.tid(), Mode::SignalNoIpi, impl,
		                 n, opt);
		EXPECT_EQ(s.ran, n);
		EXPECT_EQ(s.held, 0)
		    << "an item with a 1 ms deadline waited 100 ms for the syscall";
		expect_deadline_balanced(s, n);
		EXPECT_EQ(s.kick_process_calls, 0);
		std::printf("# nohz deadline_1ms %s p99_ns=%llu\n",
		            std::string(to_string(impl)).c_str(),
		            static_cast<unsigned long long>(s.latency_pct(99)));
	}
	constexpr int m = 20;
	for (auto impl : impls(Mode::Signal)) {
		RunOptions opt;
		opt.timeout = 100ms;
		auto s = measure("nohz_spinner", spin.tid(), Mode::Signal, impl, m, opt);
		EXPECT_EQ(s.ran, m);
		EXPECT_EQ(s.kick_process_calls, m);
		EXPECT_TRUE(sent_kick_ipis_owed(s)) << kick_ipis_said(s);
	}
	spin.stop();
}

// ---- the deadline mode: signal_no_ipi, kicked once a deadline passes ----

// A spinner in user space, D = 1 ms, one item at a time: each item runs; it
// either met its deadline (a tick or another kernel entry came first) or was
// kicked, never before D; none is covered (each is queued after the last
// one ran, so no kick since it was queued exists). The tick is 4 ms at
// HZ=250: most items are kicked.
TEST_F(Ipi, DeadlineKicksSpinnerAfterDeadline)
{
	Spinner spin(target_cpu());
	int n = items_slow();
	RunOptions opt;
	opt.deadline_us = 1000;
	for (auto impl : impls(Mode::SignalNoIpi)) {
		auto s =
		    measure("deadline_1ms_spinner", spin.tid(), Mode::SignalNoIpi, impl, n, opt);
		EXPECT_EQ(s.ran, n);
		expect_deadline_balanced(s, n);
		auto d = deadline_counts(s);
		EXPECT_EQ(d.covered, 0);
		EXPECT_GT(d.kicked, 0) << "not one item waited 1 ms for its tick (4 ms)";
		if (d.kicked) {
			EXPECT_GE(d.kicked_min_latency_ns, 1000000u)
			    << "a kicked item ran before D";
		}
		EXPECT_EQ(s.kick_process_calls, 0) << "the queueing itself never kicks";
		EXPECT_EQ(s.sent.kick_ipi, 0u);
		// The same floor as for signal's kicks (kKickIpiFloor): a kick owed
		// is sent but for a switch that begins inside kick_process().
		auto owed = s.stats.deadline_kick_ipis_owed();
		EXPECT_GE(static_cast<double>(s.sent.deadline_kick), kKickIpiFloor * owed)
		    << "sent " << s.sent.deadline_kick << " deadline kick IPIs, " << owed
		    << " owed";
	}
}

// D = 0 is signal: one kick_process() per item from the queueing call, no
// timer, no deadline kick.
TEST_F(Ipi, DeadlineZeroIsSignal)
{
	Spinner spin(target_cpu());
	int n = items_slow();
	RunOptions opt;
	opt.deadline_us = 0;
	for (auto impl : impls(Mode::SignalNoIpi)) {
		auto s = measure("deadline_0_spinner", spin.tid(), Mode::SignalNoIpi, impl, n, opt);
		EXPECT_EQ(s.ran, n);
		expect_deadline_balanced(s, n);
		EXPECT_EQ(deadline_counts(s).immediate, n);
		EXPECT_EQ(s.stats.deadline_kicks(), 0);
		if (!features.notify_cleared_after_work()) {
			EXPECT_EQ(s.kick_process_calls, n) << to_string(impl); // as signal
		}
		EXPECT_TRUE(sent_kick_ipis_owed(s)) << kick_ipis_said(s);
	}
}

// A target that enters the kernel every 100 us on its own (a syscall) needs
// no deadline kick at D = 10 ms: zero, but for a gap the target itself saw
// (its vCPU not run by the host for 10 ms: under TCG on a loaded host that
// happens, and then the timer on CPU 0 rightly fires). Such gaps are
// counted by the target and allowed one kick each; none is usual.
TEST_F(Ipi, DeadlineNotNeededBySyscallingTarget)
{
	std::atomic<bool> stop{false};
	std::atomic<pid_t> tid{0};
	std::atomic<int> long_gaps{0};
	std::thread t([&] {
		if (pin_to_cpu(target_cpu()) != 0)
			return;
		tid = gettid_now();
		double last = now_s();
		while (!stop.load(std::memory_order_relaxed)) {
			double until = now_s() + 100e-6;
			while (now_s() < until)
				;
			(void)getppid();
			double now = now_s();
			long_gaps += now - last > 9e-3; // D less 1 ms
			last = now;
		}
	});
	ASSERT_TRUE(poll_until([&] { return tid.load() != 0; }, 3000ms));
	int n = items_slow();
	RunOptions opt;
	opt.deadline_us = 10000;
	for (auto impl : impls(Mode::SignalNoIpi)) {
		int gaps0 = long_gaps;
		auto s = measure("deadline_10ms_syscaller", tid, Mode::SignalNoIpi, impl, n, opt);
		int gaps = long_gaps - gaps0;
		EXPECT_EQ(s.ran, n);
		expect_deadline_balanced(s, n);
		EXPECT_LE(s.stats.deadline_kicks(), gaps)
		    << "deadline kicks for a target that made a syscall every 100 us (" << gaps
		    << " gaps over 9 ms)";
	}
	stop = true;
	t.join();
}

TEST_F(Ipi, ErrorCodes)
{
	EXPECT_EQ(client.queue(999999, Mode::Signal), ESRCH); // above pid_max
	EXPECT_EQ(client.queue(2, Mode::Signal), EINVAL);     // kthreadd
	EXPECT_EQ(client.command("queue tid=1 mode=loud"), EINVAL);
	EXPECT_EQ(client.command("queue tid=1 mode=signal count=65537"), EINVAL);
	EXPECT_EQ(client.command("dance"), EINVAL);
	// A deadline only with signal_no_ipi, in whole us, at most 10 s.
	EXPECT_EQ(client.command("queue tid=1 mode=signal deadline_us=1000"), EINVAL);
	EXPECT_EQ(client.command("queue tid=1 mode=signal_no_ipi deadline_us=1ms"), EINVAL);
	EXPECT_EQ(client.command("queue tid=1 mode=signal_no_ipi deadline_us=10000001"), EINVAL);
	EXPECT_EQ(client.command("queue tid=1 mode=signal_no_ipi deadline_us=-1"), EINVAL);
	EXPECT_EQ(client.command("queue tid=999999 mode=signal_no_ipi deadline_us=5"), ESRCH);
	Sleeper sleeper(target_cpu());
	int err = client.queue(sleeper.tid(), Mode::SignalNoIpi, Impl::Native);
	if (features.native_signal_no_ipi()) {
		EXPECT_EQ(err, 0);
	} else {
		EXPECT_EQ(err, EOPNOTSUPP);
		EXPECT_EQ(client.queue(sleeper.tid(), Mode::SignalNoIpi, Impl::Auto), 0)
		    << "auto falls back to the backport";
	}
	EXPECT_EQ(client.command("queue tid=" + std::to_string(sleeper.tid()) +
	                         " mode=signal_no_ipi impl=backport"),
	          0);
	auto queued = client.stats().queued();
	EXPECT_TRUE(client.wait_run(queued, 3000ms));
}

// The example consumer (examples/consumer) calls task_work_add(...,
// TWA_SIGNAL_NO_IPI) through the shim: the kernel's own on 6.1 and later,
// twa_noipi's where the kernel lacks the mode or the export (guest/consumer
// loads it). Its items must run and send the spinner no IPI.
TEST(Consumer, NoIpiItemsRunWithoutIpi)
{
	const std::string dir = "/sys/kernel/debug/twa_consumer";
	if (access(dir.c_str(), F_OK) != 0)
		GTEST_SKIP() << "twa_consumer.ko not loaded";
	ASSERT_EQ(pin_to_cpu(queue_cpu()), 0);
	auto read_count = [&](const char* name) {
		std::ifstream in(dir + "/" + name);
		long v = -1;
		in >> v;
		return v;
	};
	Client twa;
	ASSERT_TRUE(twa.features().ipi_count()) << "twa_noipi cannot count IPIs here";
	Spinner spin(target_cpu());
	constexpr int n = 100;
	long run0 = read_count("run");
	RunOptions opt;
	opt.queue = [&](int) {
		int fd = ::open((dir + "/queue").c_str(), O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return errno;
		auto tid = std::to_string(spin.tid());
		int err = ::write(fd, tid.data(), tid.size()) < 0 ? errno : 0;
		::close(fd);
		return err;
	};
	opt.ran = [&] { return static_cast<std::int64_t>(read_count("run") - run0); };
	auto s = run_items(twa, spin.tid(), Mode::SignalNoIpi, Impl::Auto, n, opt);
	std::printf("%s\n%s", ipi_line("consumer", Mode::SignalNoIpi, Impl::Auto, s).c_str(),
	            sender_lines(s).c_str());
	EXPECT_TRUE(s.ok()) << s.error;
	EXPECT_EQ(s.ran, n);
	// Counted at the sender: the consumer's queueing sent CPU 1 nothing.
	// (What CPU 1 received meanwhile is background, printed above.)
	EXPECT_EQ(s.kick_process_calls, 0);
	EXPECT_EQ(s.sent.ours(), 0u);
	EXPECT_EQ(read_count("pending"), 0);
	// Where the consumer calls the kernel's task_work_add() its queueing is
	// no twa call, and what it sends is filed as "other": count, as a
	// second observer, the reschedule IPIs to CPU 1 that kick_process()
	// sent, or task_work_add() where kick_process() tail-calls the send
	// (kernels without a preempt count), whoever called them.
	std::uint64_t kicked = 0;
	for (const auto& snd : s.senders)
		if (snd.vector == "res" && (snd.caller.rfind("kick_process+", 0) == 0 ||
		                            snd.caller.rfind("task_work_add+", 0) == 0))
			kicked += snd.count;
	EXPECT_EQ(kicked, 0u) << "reschedule IPIs to CPU 1 from kick_process()/task_work_add()";
}
