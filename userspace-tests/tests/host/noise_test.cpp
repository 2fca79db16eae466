#include "twa/cpu.hpp"
#include "twa/noise.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

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

TEST(Spinner, CountsPreemptionButNotItsOwnSyscalls)
{
	const double per_ms = cycles_per_ns() * 1e6;
	NoiseMeter m(static_cast<std::uint64_t>(per_ms)); // 1 ms
	int cpu = online_cpus() - 1;
	// Its own "syscall" takes 3 ms; ten of them are 30 ms the meter must
	// not count (restart() after each).
	Spinner s(
	    cpu, [] { std::this_thread::sleep_for(std::chrono::milliseconds(3)); }, &m);
	for (int i = 0; i < 10; i++)
		s.make_syscall();
	double own_ms = static_cast<double>(m.totals().cycles) / per_ms;
	EXPECT_LT(own_ms, 30.0);
	// A thread busy on the spinner's CPU for 100 ms takes turns with it:
	// the spinner loses well over 10 ms in gaps above 1 ms.
	ASSERT_EQ(pin_to_cpu(cpu), 0);
	auto before = m.totals();
	auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
	while (std::chrono::steady_clock::now() < end)
		;
	double lost_ms = static_cast<double>((m.totals() - before).cycles) / per_ms;
	s.stop();
	EXPECT_GT(lost_ms, 10.0);
	EXPECT_GE((m.totals() - before).count, 1u);
}
