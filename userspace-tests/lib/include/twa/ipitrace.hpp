// A third count of the IPIs a CPU is sent, beside the module's kprobes (at
// the sender) and /proc/interrupts (at the receiver): the kernel's own IPI
// tracepoints, ipi:ipi_send_cpu and ipi:ipi_send_cpumask (6.4+), each
// summed by call site and callback with a histogram trigger filtered on the
// target CPU. No trace buffer to drain: the sums are read before and after
// a window, as the osnoise attribution does.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace twa {

// IPIs sent to the target CPU from one call site with one callback.
struct IpiTraceSite {
	std::string event;    // ipi_send_cpu, ipi_send_cpumask
	std::string callsite; // symbol, "sym [module]" for a module's
	std::string callback; // symbol, "0x0" for none (a reschedule before 6.10)
	std::uint64_t count = 0;
	// A reschedule IPI (RES): no callback, or scheduler_ipi (6.10+); else
	// a function-call IPI (CAL).
	bool res() const;
	// A kick IPI: a reschedule IPI whose call site is the caller of
	// kick_process() (smp_send_reschedule()'s _RET_IP_ inside it): the
	// native task_work_add() or the module's backport.
	bool kick() const;
};

struct IpiTraceTotals {
	std::vector<IpiTraceSite> sites; // sorted by (event, callsite, callback)
	std::uint64_t total() const;
	std::uint64_t res() const;
	std::uint64_t cal() const { return total() - res(); }
	std::uint64_t kick_ipis() const;
	IpiTraceTotals operator-(const IpiTraceTotals& before) const;
};

// The entries of an ipi event's hist file (keys callsite.sym, callback.sym)
// added to @into under @event.
void add_ipi_hist(IpiTraceTotals& into, const std::string& event, const std::string& hist);

class IpiTracer {
public:
	// Sets the triggers for IPIs to @cpu; nullptr and @why when this
	// kernel cannot (no tracefs, no ipi_send_cpu event: before 6.4, no
	// hist triggers, no cpumask filter).
	static std::unique_ptr<IpiTracer> start(int cpu, std::string& why);
	~IpiTracer();
	IpiTracer(const IpiTracer&) = delete;
	IpiTracer& operator=(const IpiTracer&) = delete;
	// Everything counted since start().
	IpiTraceTotals totals() const;
	// The triggers set: "event: spec" each.
	std::vector<std::string> triggers() const;

private:
	explicit IpiTracer(std::string dir) : dir_(std::move(dir)) {}
	void stop();
	std::string dir_;
	std::vector<std::pair<std::string, std::string>> triggers_; // (event, spec)
};

} // namespace twa
