#include "twa/ipitrace.hpp"

#include "twa/osnoise.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>
#include <utility>

namespace twa {

namespace {

// "[ffffffff8110a2b4] task_work_add": the symbol after the address.
std::string symbol_of(const std::string& key)
{
	auto close = key.find(']');
	std::string s = close == std::string::npos ? key : key.substr(close + 1);
	auto b = s.find_first_not_of(" \t");
	auto e = s.find_last_not_of(" \t");
	return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

} // namespace

bool IpiTraceSite::res() const
{
	return callback.empty() || callback == "0x0" || callback == "0" ||
	       starts_with(callback, "scheduler_ipi");
}

bool IpiTraceSite::kick() const
{
	if (!res())
		return false;
	return starts_with(callsite, "task_work_add") ||
	       callsite.find("[twa_noipi]") != std::string::npos;
}

std::uint64_t IpiTraceTotals::total() const
{
	std::uint64_t n = 0;
	for (const auto& s : sites)
		n += s.count;
	return n;
}

std::uint64_t IpiTraceTotals::res() const
{
	std::uint64_t n = 0;
	for (const auto& s : sites)
		n += s.res() ? s.count : 0;
	return n;
}

std::uint64_t IpiTraceTotals::kick_ipis() const
{
	std::uint64_t n = 0;
	for (const auto& s : sites)
		n += s.kick() ? s.count : 0;
	return n;
}

IpiTraceTotals IpiTraceTotals::operator-(const IpiTraceTotals& before) const
{
	IpiTraceTotals d;
	for (const auto& s : sites) {
		IpiTraceSite r = s;
		for (const auto& b : before.sites)
			if (std::tie(b.event, b.callsite, b.callback) ==
			    std::tie(s.event, s.callsite, s.callback))
				r.count -= std::min(r.count, b.count);
		if (r.count)
			d.sites.push_back(r);
	}
	return d;
}

void add_ipi_hist(IpiTraceTotals& into, const std::string& event, const std::string& hist)
{
	for (const auto& e : parse_hist(hist)) {
		const std::string* cs = e.key("callsite");
		const std::string* cb = e.key("callback");
		IpiTraceSite site{event, cs ? symbol_of(*cs) : "", cb ? symbol_of(*cb) : "", 0};
		auto it = std::find_if(into.sites.begin(), into.sites.end(), [&](const auto& s) {
			return std::tie(s.event, s.callsite, s.callback) ==
			       std::tie(site.event, site.callsite, site.callback);
		});
		if (it == into.sites.end())
			it = into.sites.insert(into.sites.end(), site);
		it->count += e.hitcount;
	}
	std::sort(into.sites.begin(), into.sites.end(), [](const auto& a, const auto& b) {
		return std::tie(a.event, a.callsite, a.callback) <
		       std::tie(b.event, b.callsite, b.callback);
	});
}

namespace {

std::string slurp(const std::string& path)
{
	std::ifstream f(path);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

// 0 or the errno. Trigger files are written without O_TRUNC: truncating
// one removes every trigger of the event.
int put(const std::string& path, const std::string& s)
{
	int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int err = ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()) ? 0 : errno;
	::close(fd);
	return err;
}

std::string tracefs()
{
	for (const char* d : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
		if (::access((std::string(d) + "/events").c_str(), R_OK) == 0)
			return d;
	if (::mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0)
		return "/sys/kernel/tracing";
	return "";
}

const char* const kKeys = "hist:keys=callsite.sym,callback.sym:vals=hitcount";

} // namespace

std::unique_ptr<IpiTracer> IpiTracer::start(int cpu, std::string& why)
{
	std::string dir = tracefs();
	if (dir.empty()) {
		why = "no tracefs";
		return nullptr;
	}
	std::string ev = dir + "/events/ipi/";
	if (::access((ev + "ipi_send_cpu/trigger").c_str(), W_OK) != 0 ||
	    ::access((ev + "ipi_send_cpumask/trigger").c_str(), W_OK) != 0) {
		why = "no ipi:ipi_send_cpu/ipi_send_cpumask tracepoints (6.4+)";
		return nullptr;
	}
	std::unique_ptr<IpiTracer> t(new IpiTracer(dir));
	// ipi_send_cpumask filters on a cpumask from 6.6 on: "& CPUS{1}".
	const std::pair<const char*, std::string> specs[] = {
	    {"ipi_send_cpu", std::string(kKeys) + " if cpu == " + std::to_string(cpu)},
	    {"ipi_send_cpumask",
	     std::string(kKeys) + " if cpumask & CPUS{" + std::to_string(cpu) + "}"}};
	for (const auto& [event, spec] : specs) {
		if (int err = put(ev + event + "/trigger", spec)) {
			why = std::string("cannot set a hist trigger on ipi:") + event + ": " +
			      std::strerror(err) +
			      " (CONFIG_HIST_TRIGGERS? a cpumask filter: 6.6+)";
			return nullptr; // the destructor removes those set so far
		}
		t->triggers_.emplace_back(event, spec);
	}
	return t;
}

IpiTraceTotals IpiTracer::totals() const
{
	IpiTraceTotals t;
	for (const auto& [event, spec] : triggers_)
		add_ipi_hist(t, event, slurp(dir_ + "/events/ipi/" + event + "/hist"));
	return t;
}

std::vector<std::string> IpiTracer::triggers() const
{
	std::vector<std::string> out;
	for (const auto& [event, spec] : triggers_) {
		std::string line = event;
		line += ": ";
		line += spec;
		out.push_back(std::move(line));
	}
	return out;
}

void IpiTracer::stop()
{
	for (const auto& [event, spec] : triggers_)
		put(dir_ + "/events/ipi/" + event + "/trigger", "!" + spec);
	triggers_.clear();
}

IpiTracer::~IpiTracer() { stop(); }

} // namespace twa
