#include "twa/cpu.hpp"
#include "twa/noise.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include <sched.h>

using namespace twa;

TEST(NoiseMeter, CountsOnlyGapsAboveTheThreshold)
{
	NoiseMeter m(100);
	for (std::uint64_t t : {1000, 1010, 1020, 1620, 1630, 1730, 1731})
		m.observe(t);
	// 1020 -> 1620 (600) is noise; 1630 -> 1730 (100) is not: above, not at.
	EXPECT_EQ(m.totals().count, 1u);
	EXPECT_EQ(m.totals().cycles, 600u);
}

TEST(NoiseMeter, FirstReadAndOwnSyscallsAreNotNoise)
{
	NoiseMeter m(100);
	m.observe(5000); // nothing before it to measure from
	m.observe(5010);
	m.restart(9000); // the thread's own syscall ran from 5010 to 9000
	m.observe(9010);
	m.observe(9500);
	EXPECT_EQ(m.totals().count, 1u);
	EXPECT_EQ(m.totals().cycles, 490u);
	NoiseTotals before{0, 0};
	EXPECT_EQ((m.totals() - before).cycles, 490u);
}

TEST(NoiseMeter, CyclesAdvanceAtACalibratedRate)
{
	double per_ns = cycles_per_ns();
	EXPECT_GT(per_ns, 0.0);
	auto c0 = cycles();
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	double ms = static_cast<double>(cycles() - c0) / per_ns / 1e6;
	// A sleep lasts at least what was asked; the host may add a lot.
	EXPECT_GE(ms, 19.0);
	EXPECT_LT(ms, 2000.0);
}

// Behaviour, not speed: no wall-clock threshold (one flaked under load).
// The spinner's own syscalls: the meter observes nothing during one, and
// restarts after it, so whatever it counts between two syscalls fits in the
// spinning between them, however loaded the host. Each syscall sleeps 3 ms,
// far above the threshold: were the restart missing, the gap across it would
// be counted and overflow that window (unless the host stalled the spinner
// for longer still between the two calls: then this misses the bug, but
// never fails a correct meter).
TEST(Spinner, CountsPreemptionButNotItsOwnSyscalls)
{
	const double per_us = cycles_per_ns() * 1e3;
	// 100 us: far below any time slice a busy thread on the spinner's CPU
	// gets before the scheduler switches back (CFS's minimum granularity,
	// EEVDF's base slice: 0.75 ms and up), so a preemption's gap is always
	// counted; above a loop turn and a plain interrupt.
	NoiseMeter m(static_cast<std::uint64_t>(100 * per_us));
	int cpu = online_cpus() - 1;
	struct Call {
		std::uint64_t in = 0, out = 0; // cycles() at the syscall's entry and exit
		NoiseTotals at_in;             // the meter's totals at its entry
	};
	constexpr int kCalls = 10;
	std::vector<Call> calls;
	calls.reserve(kCalls);
	Spinner s(
	    cpu,
	    [&] {
		    Call c;
		    c.in = cycles();
		    c.at_in = m.totals();
		    std::this_thread::sleep_for(std::chrono::milliseconds(3));
		    c.out = cycles();
		    calls.push_back(c);
	    },
	    &m);
	for (int i = 0; i < kCalls; i++)
		s.make_syscall(); // returns once it was made: calls is ours to read
	ASSERT_EQ(s.pin_error(), 0);
	ASSERT_EQ(calls.size(), static_cast<std::size_t>(kCalls));
	for (int i = 0; i + 1 < kCalls; i++) {
		const auto &a = calls[i], &b = calls[i + 1];
		auto counted = (b.at_in - a.at_in).cycles;
		EXPECT_LE(counted, b.in - a.out)
		    << "syscall " << i << ": counted " << counted << " cycles, spun only "
		    << b.in - a.out << " (its own syscall counted as noise)";
	}
	// Preemption: a busy thread on the spinner's CPU takes turns with it,
	// and each turn away is a gap the spinner counts when it runs again.
	// The busy loop ends when the meter has counted one: no time threshold,
	// only a guard against a hang (the scheduler must run the spinner, so a
	// correct meter ends it within a slice or two).
	cpu_set_t saved;
	ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
	ASSERT_EQ(pin_to_cpu(cpu), 0);
	auto before = m.totals();
	auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(60);
	while (m.totals().count == before.count && std::chrono::steady_clock::now() < guard)
		;
	auto lost = m.totals() - before;
	s.stop();
	ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
	EXPECT_GE(lost.count, 1u) << "sharing its CPU for 60 s, the spinner counted nothing";
	EXPECT_GT(lost.cycles, lost.count * m.threshold()) << "every counted gap is above it";
}
