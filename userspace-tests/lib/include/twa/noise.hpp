// What a spinning target loses, measured the way the osnoise tracer does:
// a thread reads a clock in a tight loop, and every gap between two reads
// above a threshold is an interruption (entry, handler, task_work, exit);
// the gaps' lengths summed are the time it lost.
#pragma once

#include <atomic>
#include <cstdint>

namespace twa {

// A cheap monotonic cycle counter readable without a syscall: the TSC on
// x86_64, CNTVCT_EL0 on arm64 (clock_gettime() may be a syscall where the
// clocksource has no vDSO, as under emulation).
std::uint64_t cycles();
// cycles() per nanosecond, calibrated once against CLOCK_MONOTONIC.
double cycles_per_ns();

struct NoiseTotals {
	std::uint64_t count = 0;  // gaps above the threshold
	std::uint64_t cycles = 0; // their summed length
	NoiseTotals operator-(const NoiseTotals& o) const
	{
		return {count - o.count, cycles - o.cycles};
	}
};

// One writer (the spinning thread calls observe() with each clock read),
// any number of readers (totals()).
class NoiseMeter {
public:
	explicit NoiseMeter(std::uint64_t threshold_cycles) : threshold_(threshold_cycles) {}
	// A clock read in the loop: the gap since the last one is noise if it
	// exceeds the threshold.
	void observe(std::uint64_t now)
	{
		if (last_ && now - last_ > threshold_) {
			count_.fetch_add(1, std::memory_order_relaxed);
			cycles_.fetch_add(now - last_, std::memory_order_relaxed);
		}
		last_ = now;
	}
	// After the thread's own syscall: that gap is not noise.
	void restart(std::uint64_t now) { last_ = now; }
	NoiseTotals totals() const
	{
		return {count_.load(std::memory_order_relaxed),
		        cycles_.load(std::memory_order_relaxed)};
	}
	std::uint64_t threshold() const { return threshold_; }

private:
	std::uint64_t threshold_;
	std::uint64_t last_ = 0;
	std::atomic<std::uint64_t> count_{0}, cycles_{0};
};

} // namespace twa
