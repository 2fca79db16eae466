// The kernel's own account of what interrupts a CPU: the osnoise tracer
// (CONFIG_OSNOISE_TRACER, built in Debian's -rt kernels) run without its
// workload thread, so the target spinning there is the workload, and its
// noise events (nmi_noise, irq_noise, softirq_noise, thread_noise) summed
// per source by histogram triggers: no trace buffer to drain, and the
// sums are read before and after a window.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace twa {

// One source of noise: "irq" reschedule, "thread" ktimers/1, ...
struct OsnoiseSource {
	std::string cls;  // nmi, irq, softirq, thread
	std::string name; // irq: the vector's or handler's name; thread: comm
	std::uint64_t count = 0;
	std::uint64_t ns = 0;
};

// Sources sorted by (cls, name); a thread's pids are summed under its comm.
struct OsnoiseTotals {
	std::vector<OsnoiseSource> sources;
	std::uint64_t count() const;
	std::uint64_t ns() const;
	// What happened between @before and this; sources with nothing left out.
	OsnoiseTotals operator-(const OsnoiseTotals& before) const;
};

// One entry of a tracefs "hist" file: its keys as printed (name, value)
// and its hitcount and duration sum.
struct HistEntry {
	std::vector<std::pair<std::string, std::string>> keys;
	std::uint64_t hitcount = 0;
	std::uint64_t duration = 0;
	const std::string* key(const std::string& name) const;
};
std::vector<HistEntry> parse_hist(const std::string& text);

// The sources in the hist file of the event @cls_noise (cls: nmi, irq,
// softirq, thread), added to @into. Threads whose pid is in @skip (the
// target itself; 0, the idle task: time the CPU had nothing else to run)
// are not noise to the target.
void add_hist(OsnoiseTotals& into, const std::string& cls, const std::string& hist,
              const std::set<long>& skip);

class OsnoiseTracer {
public:
	// Starts the tracer on @cpu; nullptr and @why when this kernel cannot
	// (no tracer, no NO_OSNOISE_WORKLOAD option, no hist triggers).
	static std::unique_ptr<OsnoiseTracer> start(int cpu, std::string& why);
	~OsnoiseTracer();
	OsnoiseTracer(const OsnoiseTracer&) = delete;
	OsnoiseTracer& operator=(const OsnoiseTracer&) = delete;
	// Everything counted since start(), threads in @skip left out.
	OsnoiseTotals totals(const std::set<long>& skip) const;

private:
	explicit OsnoiseTracer(std::string dir) : dir_(std::move(dir)) {}
	void stop();
	std::string dir_;
	// (trigger file, spec) installed, removed by stop()
	std::vector<std::pair<std::string, std::string>> triggers_;
};

} // namespace twa
