#include "twa/noise.hpp"

#include <time.h>

#include <chrono>
#include <thread>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace twa {

std::uint64_t cycles()
{
#if defined(__x86_64__)
	return __rdtsc();
#elif defined(__aarch64__)
	std::uint64_t v;
	asm volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	return static_cast<std::uint64_t>(
	    std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

namespace {

std::uint64_t monotonic_ns()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
	       static_cast<std::uint64_t>(ts.tv_nsec);
}

} // namespace

double cycles_per_ns()
{
	static const double ratio = [] {
		auto ns0 = monotonic_ns();
		auto c0 = cycles();
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		auto ns1 = monotonic_ns();
		auto c1 = cycles();
		return ns1 > ns0 ? static_cast<double>(c1 - c0) / static_cast<double>(ns1 - ns0)
		                 : 1.0;
	}();
	return ratio;
}

} // namespace twa
