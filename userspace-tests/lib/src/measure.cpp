#include "twa/measure.hpp"

#include "twa/cpu.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

namespace twa {

namespace {
int g_queue_cpu = 0;
int g_target_cpu = 1;
} // namespace

int target_cpu() { return g_target_cpu; }
int queue_cpu() { return g_queue_cpu; }
void set_cpus(int queue, int target)
{
	g_queue_cpu = queue;
	g_target_cpu = target;
}

std::uint64_t Sample::latency_pct(double p) const { return percentile(latencies_ns, p); }

std::uint64_t percentile(std::vector<std::uint64_t> v, double p)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	auto idx =
	    static_cast<std::size_t>(std::lround(p / 100.0 * static_cast<double>(v.size() - 1)));
	return v[std::min(idx, v.size() - 1)];
}

namespace {

std::string errno_text(const char* what, int i, int err)
{
	std::ostringstream o;
	o << what << " " << i << " failed: errno " << err;
	return o.str();
}

} // namespace

Sample run_items(const Client& c, pid_t tid, Mode mode, Impl impl, int n, const RunOptions& opt)
{
	Sample s;
	s.items = n;
	if (int err = c.reset(); err != 0)
		s.error = errno_text("reset before item", 0, err);
	auto queue = opt.queue ? opt.queue
	                       : [&](int) { return c.queue(tid, mode, impl, 1, opt.deadline_us); };
	auto ran = opt.ran ? opt.ran : [&c] { return c.stats().run(); };
	auto before = InterruptTable::read();
	auto t0 = std::chrono::steady_clock::now();
	for (int i = 0; i < n && s.ok(); i++) {
		if (opt.wait_asleep && !wait_asleep(tid, opt.timeout)) {
			s.error = "target not asleep before item " + std::to_string(i);
			break;
		}
		if (int err = queue(i); err != 0) {
			s.error = errno_text("queue", i, err);
			break;
		}
		if (opt.hold.count() > 0) {
			std::this_thread::sleep_for(opt.hold);
			s.held += ran() == i;
			if (opt.poke)
				opt.poke();
		}
		bool done = opt.poke_after.count() > 0 &&
		            poll_until([&] { return ran() >= i + 1; }, opt.poke_after);
		if (!done && !poll_until([&] { return ran() >= i + 1; }, opt.timeout, opt.poke))
			s.error = "item " + std::to_string(i) + " did not run within " +
			          std::to_string(opt.timeout.count()) + " ms";
	}
	auto after = InterruptTable::read();
	s.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
	    std::chrono::steady_clock::now() - t0);
	auto st = c.stats();
	s.ran = ran();
	const auto &res = after.line(Irq::Reschedule), &cal = after.line(Irq::FunctionCall),
		   &loc = after.line(Irq::LocalTimer);
	s.res = delta(before, after, target_cpu(), {res});
	s.cal = delta(before, after, target_cpu(), {cal});
	for (const auto& name : after.names())
		if (name != loc && name != res && name != cal)
			s.other_irqs += delta(before, after, target_cpu(), {name});
	s.kick_process_calls = st.kick_process_calls();
	s.kick_ipis_owed = st.kick_ipis_owed();
	s.sender_side = c.features().ipi_count();
	if (s.sender_side) {
		s.sent = ipis_for(c.ipis(), target_cpu());
		for (auto& snd : c.ipi_senders())
			if (snd.cpu == target_cpu())
				s.senders.push_back(std::move(snd));
	}
	s.backport_kick_process_calls = st.backport_kick_process_calls();
	s.wakeups = st.wakeups();
	s.queue_ns = st.queue_ns();
	for (const auto& r : c.items()) {
		s.latencies_ns.push_back(r.latency_ns);
		s.after_mark.push_back(r.after_mark);
		s.deadlines.push_back(r.deadline);
	}
	s.stats = st;
	return s;
}

std::uint64_t background_ipis(const Client& c, std::chrono::milliseconds duration)
{
	auto before = InterruptTable::read();
	auto end = std::chrono::steady_clock::now() + duration;
	while (std::chrono::steady_clock::now() < end)
		(void)c.stats();
	auto after = InterruptTable::read();
	return ipi_delta(before, after, target_cpu());
}

std::string ipi_line(const std::string& target, Mode mode, Impl impl, const Sample& s)
{
	// Every figure a suite judges a sample on is here, so that a failure's
	// line shows it: sent_kick_ipi against kick_ipis_owed, for one.
	char buf[768];
	std::snprintf(
	    buf, sizeof(buf),
	    "# ipi target=%s mode=%s impl=%s items=%d ran=%lld res=%llu cal=%llu "
	    "ipis_per_item=%.3f sent_kick_ipi=%llu sent_wake=%llu sent_other=%llu "
	    "kick_process_calls=%lld kick_ipis_owed=%lld backport_kick_process_calls=%lld "
	    "wakeups=%lld queue_ns_per_item=%.0f "
	    "latency_p50_ns=%llu latency_p90_ns=%llu latency_p99_ns=%llu latency_max_ns=%llu "
	    "other_irqs=%llu",
	    target.c_str(), std::string(to_string(mode)).c_str(),
	    std::string(to_string(impl)).c_str(), s.items, static_cast<long long>(s.ran),
	    static_cast<unsigned long long>(s.res), static_cast<unsigned long long>(s.cal),
	    s.per_item(static_cast<double>(s.ipis())),
	    static_cast<unsigned long long>(s.sent.kick_ipi),
	    static_cast<unsigned long long>(s.sent.wake()),
	    static_cast<unsigned long long>(s.sent.other()),
	    static_cast<long long>(s.kick_process_calls), static_cast<long long>(s.kick_ipis_owed),
	    static_cast<long long>(s.backport_kick_process_calls),
	    static_cast<long long>(s.wakeups), s.per_item(static_cast<double>(s.queue_ns)),
	    static_cast<unsigned long long>(s.latency_pct(50)),
	    static_cast<unsigned long long>(s.latency_pct(90)),
	    static_cast<unsigned long long>(s.latency_pct(99)),
	    static_cast<unsigned long long>(s.latency_pct(100)),
	    static_cast<unsigned long long>(s.other_irqs));
	return buf;
}

std::string sender_lines(const Sample& s)
{
	std::string out;
	for (const auto& snd : s.senders)
		out += "# sender count=" + std::to_string(snd.count) + " origin=" + snd.origin +
		       " vector=" + snd.vector + " caller=" + snd.caller + "\n";
	return out;
}

int env_int(const char* name, int def)
{
	const char* v = std::getenv(name);
	return v && *v ? std::atoi(v) : def;
}

} // namespace twa
