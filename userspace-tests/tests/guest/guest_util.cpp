#include "guest_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace twa::guest {

std::uint64_t Sample::latency_pct(double p) const
{
	if (latencies_ns.empty())
		return 0;
	auto v = latencies_ns;
	std::sort(v.begin(), v.end());
	auto idx = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
	return v[std::min(idx, v.size() - 1)];
}

Sample run_items(const Client& c, pid_t tid, Mode mode, Impl impl, int n, const RunOptions& opt)
{
	Sample s;
	s.items = n;
	if (int err = c.reset(); err != 0)
		ADD_FAILURE() << "reset failed: errno " << err;
	auto before = InterruptTable::read();
	for (int i = 0; i < n; i++) {
		if (int err = c.queue(tid, mode, impl); err != 0) {
			ADD_FAILURE() << "queue " << i << " failed: errno " << err;
			break;
		}
		if (opt.hold.count() > 0) {
			std::this_thread::sleep_for(opt.hold);
			s.held += c.stats().run() == i;
			if (opt.poke)
				opt.poke();
		}
		if (!c.wait_run(i + 1, opt.timeout, opt.poke)) {
			ADD_FAILURE() << "item " << i << " did not run within " << opt.timeout.count()
				      << " ms";
			break;
		}
	}
	auto after = InterruptTable::read();
	auto st = c.stats();
	s.ran = st.run();
	s.res = delta(before, after, kTargetCpu, {"RES"});
	s.cal = delta(before, after, kTargetCpu, {"CAL"});
	s.kicks = st.kicks();
	s.wakeups = st.wakeups();
	s.queue_ns = st.queue_ns();
	for (const auto& r : c.items()) {
		s.latencies_ns.push_back(r.latency_ns);
		s.after_mark.push_back(r.after_mark);
	}
	return s;
}

void report(const std::string& target, Mode mode, Impl impl, const Sample& s)
{
	std::printf("# ipi target=%s mode=%s impl=%s items=%d ran=%lld res=%llu cal=%llu "
		    "ipis_per_item=%.3f kicks=%lld wakeups=%lld queue_ns_per_item=%.0f "
		    "latency_p50_ns=%llu latency_p90_ns=%llu latency_p99_ns=%llu latency_max_ns=%llu\n",
		    target.c_str(), std::string(to_string(mode)).c_str(),
		    std::string(to_string(impl)).c_str(), s.items, static_cast<long long>(s.ran),
		    static_cast<unsigned long long>(s.res), static_cast<unsigned long long>(s.cal),
		    s.per_item(static_cast<double>(s.ipis())), static_cast<long long>(s.kicks),
		    static_cast<long long>(s.wakeups), s.per_item(static_cast<double>(s.queue_ns)),
		    static_cast<unsigned long long>(s.latency_pct(50)),
		    static_cast<unsigned long long>(s.latency_pct(90)),
		    static_cast<unsigned long long>(s.latency_pct(99)),
		    static_cast<unsigned long long>(s.latency_pct(100)));
	std::fflush(stdout);
	auto key = target + "_" + std::string(to_string(mode)) + "_" + std::string(to_string(impl));
	::testing::Test::RecordProperty(key + "_res", static_cast<int>(s.res));
	::testing::Test::RecordProperty(key + "_cal", static_cast<int>(s.cal));
	::testing::Test::RecordProperty(key + "_items", s.items);
}

int env_int(const char* name, int def)
{
	const char* v = std::getenv(name);
	return v && *v ? std::atoi(v) : def;
}

} // namespace twa::guest
