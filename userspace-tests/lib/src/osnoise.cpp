#include "twa/osnoise.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

namespace twa {

std::uint64_t OsnoiseTotals::count() const
{
	std::uint64_t n = 0;
	for (const auto& s : sources)
		n += s.count;
	return n;
}

std::uint64_t OsnoiseTotals::ns() const
{
	std::uint64_t n = 0;
	for (const auto& s : sources)
		n += s.ns;
	return n;
}

OsnoiseTotals OsnoiseTotals::operator-(const OsnoiseTotals& before) const
{
	OsnoiseTotals d;
	for (const auto& s : sources) {
		OsnoiseSource r = s;
		for (const auto& b : before.sources)
			if (b.cls == s.cls && b.name == s.name) {
				r.count -= std::min(r.count, b.count);
				r.ns -= std::min(r.ns, b.ns);
			}
		if (r.count)
			d.sources.push_back(r);
	}
	return d;
}

const std::string* HistEntry::key(const std::string& name) const
{
	for (const auto& [k, v] : keys)
		if (k == name)
			return &v;
	return nullptr;
}

namespace {

std::string trim(const std::string& s)
{
	auto b = s.find_first_not_of(" \t");
	auto e = s.find_last_not_of(" \t");
	return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// "hitcount:  7  duration:  642864": the number after @name.
std::uint64_t value_after(const std::string& s, const std::string& name)
{
	auto p = s.find(name + ":");
	return p == std::string::npos ? 0
	                              : std::strtoull(s.c_str() + p + name.size() + 1, nullptr, 10);
}

} // namespace

// "{ comm: ktimers/1      , pid:    31 } hitcount:    7  duration:   642864"
std::vector<HistEntry> parse_hist(const std::string& text)
{
	std::vector<HistEntry> out;
	std::istringstream in(text);
	for (std::string line; std::getline(in, line);) {
		auto close = line.find('}');
		if (line.rfind("{ ", 0) != 0 || close == std::string::npos)
			continue;
		HistEntry e;
		std::istringstream keys(line.substr(1, close - 1));
		for (std::string kv; std::getline(keys, kv, ',');) {
			auto colon = kv.find(':');
			if (colon != std::string::npos)
				e.keys.emplace_back(trim(kv.substr(0, colon)),
				                    trim(kv.substr(colon + 1)));
		}
		auto rest = line.substr(close + 1);
		e.hitcount = value_after(rest, "hitcount");
		e.duration = value_after(rest, "duration");
		out.push_back(std::move(e));
	}
	return out;
}

namespace {

// include/linux/interrupt.h's order, as softirq_to_name[] has it.
const char* const kSoftirqNames[] = {"HI",       "TIMER",   "NET_TX", "NET_RX",  "BLOCK",
                                     "IRQ_POLL", "TASKLET", "SCHED",  "HRTIMER", "RCU"};

std::string source_name(const std::string& cls, const HistEntry& e)
{
	if (cls == "irq" && e.key("desc"))
		return *e.key("desc");
	if (cls == "thread" && e.key("comm"))
		return *e.key("comm");
	if (cls == "softirq" && e.key("vector")) {
		auto v = std::strtoul(e.key("vector")->c_str(), nullptr, 10);
		return v < std::size(kSoftirqNames) ? kSoftirqNames[v] : *e.key("vector");
	}
	return cls;
}

} // namespace

void add_hist(OsnoiseTotals& into, const std::string& cls, const std::string& hist,
              const std::set<long>& skip)
{
	for (const auto& e : parse_hist(hist)) {
		const std::string* pid = e.key("pid");
		if (cls == "thread" && pid && skip.count(std::strtol(pid->c_str(), nullptr, 10)))
			continue;
		auto name = source_name(cls, e);
		auto it =
		    std::find_if(into.sources.begin(), into.sources.end(),
		                 [&](const auto& s) { return s.cls == cls && s.name == name; });
		if (it == into.sources.end())
			it = into.sources.insert(into.sources.end(), {cls, name, 0, 0});
		it->count += e.hitcount;
		it->ns += e.duration;
	}
	std::sort(into.sources.begin(), into.sources.end(), [](const auto& a, const auto& b) {
		return std::tie(a.cls, a.name) < std::tie(b.cls, b.name);
	});
}

namespace {

// The noise events, and the histogram each gets: what names a source.
struct Event {
	const char* cls;
	const char* event;
	const char* keys;
};
const Event kEvents[] = {{"nmi", "nmi_noise", "common_pid"},
                         {"irq", "irq_noise", "desc"},
                         {"softirq", "softirq_noise", "vector"},
                         {"thread", "thread_noise", "comm,pid"}};

std::string slurp(const std::string& path)
{
	std::ifstream f(path);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

// 0 or the errno. Trigger files are opened without O_TRUNC: truncating
// one removes every trigger of the event.
int put(const std::string& path, const std::string& s, bool trunc = true)
{
	int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (trunc ? O_TRUNC : 0));
	if (fd < 0)
		return errno;
	int err = ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()) ? 0 : errno;
	::close(fd);
	return err;
}

bool has_word(const std::string& text, const std::string& word)
{
	std::istringstream in(text);
	for (std::string w; in >> w;)
		if (w == word)
			return true;
	return false;
}

// Where tracefs is, mounting it where it is not yet.
std::string tracefs()
{
	for (const char* d : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
		if (::access((std::string(d) + "/available_tracers").c_str(), R_OK) == 0)
			return d;
	if (::mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0)
		return "/sys/kernel/tracing";
	return "";
}

} // namespace

std::unique_ptr<OsnoiseTracer> OsnoiseTracer::start(int cpu, std::string& why)
{
	std::string dir = tracefs();
	if (dir.empty()) {
		why = "no tracefs";
		return nullptr;
	}
	if (!has_word(slurp(dir + "/available_tracers"), "osnoise")) {
		why = "no osnoise tracer (CONFIG_OSNOISE_TRACER)";
		return nullptr;
	}
	// Without this option the tracer runs its own busy thread on the CPU,
	// which would take the target's place.
	if (!has_word(slurp(dir + "/osnoise/options"), "OSNOISE_WORKLOAD")) {
		why = "the osnoise tracer has no OSNOISE_WORKLOAD option";
		return nullptr;
	}
	std::unique_ptr<OsnoiseTracer> t(new OsnoiseTracer(dir));
	for (const auto& e : kEvents) {
		std::string spec = std::string("hist:keys=") + e.keys + ":vals=duration";
		std::string file = dir + "/events/osnoise/" + e.event + "/trigger";
		if (int err = put(file, spec, false)) {
			why = std::string("cannot set a hist trigger on osnoise:") + e.event +
			      ": " + std::strerror(err) + " (CONFIG_HIST_TRIGGERS?)";
			return nullptr; // the destructor removes those set so far
		}
		t->triggers_.emplace_back(file, spec);
	}
	int err = put(dir + "/osnoise/cpus", std::to_string(cpu));
	if (!err)
		err = put(dir + "/osnoise/options", "NO_OSNOISE_WORKLOAD");
	if (!err)
		err = put(dir + "/current_tracer", "osnoise");
	if (err) {
		why = std::string("cannot start the osnoise tracer: ") + std::strerror(err);
		return nullptr;
	}
	return t;
}

OsnoiseTotals OsnoiseTracer::totals(const std::set<long>& skip) const
{
	OsnoiseTotals t;
	for (const auto& e : kEvents)
		add_hist(t, e.cls, slurp(dir_ + "/events/osnoise/" + e.event + "/hist"), skip);
	return t;
}

void OsnoiseTracer::stop()
{
	put(dir_ + "/current_tracer", "nop");
	put(dir_ + "/osnoise/options", "OSNOISE_WORKLOAD");
	for (const auto& [file, spec] : triggers_) {
		std::string remove(1, '!');
		remove.append(spec);
		put(file, remove, false);
	}
	triggers_.clear();
}

OsnoiseTracer::~OsnoiseTracer() { stop(); }

} // namespace twa
