// /proc/interrupts parser: per-CPU counts for every line (RES, CAL, ...),
// and the lines that count IPIs found by what they count, not by name.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace twa {

// What a line counts. x86 and arm64 name their lines differently (RES and
// IPI0) but describe them alike ("Rescheduling interrupts"); the local
// timer is x86's LOC and an arm64 per-CPU IRQ line of "arch_timer".
enum class Irq { Reschedule, FunctionCall, LocalTimer };

class InterruptTable {
public:
	// CPU numbers of the columns, from the header ("CPU0 CPU2" if CPU1 is
	// offline).
	const std::vector<int>& cpus() const { return cpus_; }
	bool has(const std::string& name) const { return rows_.count(name) != 0; }
	// Count of line @name on CPU @cpu; 0 if the line or the CPU is absent
	// (lines such as ERR and MIS carry a single total, reported for any CPU).
	std::uint64_t count(const std::string& name, int cpu) const;
	// Sum over all CPUs of line @name.
	std::uint64_t total(const std::string& name) const;
	std::vector<std::string> names() const;
	// The line counting @what ("RES" on x86, "IPI0" on arm64), found by its
	// description. Throws if no line or more than one matches: a kernel
	// that renames a line must fail the count, never read as 0.
	const std::string& line(Irq what) const;
	// The line's description ("Rescheduling interrupts"), "" if none.
	std::string description(const std::string& name) const;

	static InterruptTable parse(std::string_view text);
	static InterruptTable read(const std::string& path = "/proc/interrupts");

private:
	std::vector<int> cpus_;
	std::map<std::string, std::vector<std::uint64_t>> rows_;
	std::map<std::string, std::string> descriptions_;
};

const char* to_string(Irq what);

// Interrupts of the given lines that CPU @cpu received between two reads.
std::uint64_t delta(const InterruptTable& before, const InterruptTable& after, int cpu,
                    const std::vector<std::string>& names);
// The IPIs (rescheduling and function call) CPU @cpu received between two
// reads, whatever the architecture names their lines.
std::uint64_t ipi_delta(const InterruptTable& before, const InterruptTable& after, int cpu);

} // namespace twa
