// Typed client for /sys/kernel/debug/twa_noipi/ (protocol: README.md).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twa {

enum class Mode { None, Resume, Signal, SignalNoIpi };
enum class Impl { Auto, Native, Backport };
// Every value, in the module's order (its "modes" and "impls" features).
inline constexpr Mode kAllModes[] = {Mode::None, Mode::Resume, Mode::Signal, Mode::SignalNoIpi};
inline constexpr Impl kAllImpls[] = {Impl::Auto, Impl::Native, Impl::Backport};

std::string_view to_string(Mode m);
std::string_view to_string(Impl i);
// Every name in order, space-separated: what the module's features file
// prints as "modes" and "impls".
std::string mode_names();
std::string impl_names();
std::optional<Mode> mode_from_string(std::string_view s);
std::optional<Impl> impl_from_string(std::string_view s);

// "key value" lines, as the stats and features files print them.
using KeyValues = std::map<std::string, std::string>;
KeyValues parse_key_values(std::string_view text);

// The stats file's keys as the module prints them now, and the names they
// had before 0.2.0 (deprecated: still read, until the next release). "kick"
// alone names nothing: a kick_process() call is a call, the reschedule IPI
// it sends a kick IPI (docs/module.md#names).
struct RenamedKey {
	const char* key;
	const char* deprecated;
};
inline constexpr RenamedKey kStatsRenamed[] = {
    {"backport_kick_process_calls", "kicks"},
    {"kick_process_calls", "kick_calls"},
    {"kick_ipis_owed", "kicks_due"},
};

struct Stats {
	KeyValues raw;
	// -1 if absent; a renamed key is also found under its deprecated name.
	std::int64_t get(const std::string& key) const;
	std::int64_t queued() const { return get("queued"); }
	std::int64_t run() const { return get("run"); }
	std::int64_t outstanding() const { return get("outstanding"); }
	std::int64_t failed() const { return get("failed"); }
	// kick_process() calls the backport's notify made (its own counter).
	std::int64_t backport_kick_process_calls() const
	{
		return get("backport_kick_process_calls");
	}
	std::int64_t wakeups() const { return get("wakeups"); }
	std::int64_t queue_ns() const { return get("queue_ns"); }
	// kick_process() calls made inside twa queueing calls, native or
	// backport, seen by the module's kprobe.
	std::int64_t kick_process_calls() const { return get("kick_process_calls"); }
	// Of those, the calls that found the target current on another CPU:
	// each owed a kick IPI.
	std::int64_t kick_ipis_owed() const { return get("kick_ipis_owed"); }
	// The deadline mode (0.3.0): works queued with a deadline, and how each
	// ended: ran before it (met), kicked by its timer, covered by a kick
	// already sent; and the deadline kicks that owed an IPI.
	std::int64_t deadline_queued() const { return get("deadline_queued"); }
	std::int64_t deadline_met() const { return get("deadline_met"); }
	std::int64_t deadline_kicks() const { return get("deadline_kicks"); }
	std::int64_t deadline_covered() const { return get("deadline_covered"); }
	std::int64_t deadline_kick_ipis_owed() const { return get("deadline_kick_ipis_owed"); }
};
Stats parse_stats(std::string_view text);

struct Features {
	KeyValues raw;
	std::string release() const;
	bool native_signal_no_ipi() const;
	int hz() const;
	// CPUs listed in "nohz_full" (a cpulist such as "1" or "1-3"); empty if
	// none, unsupported or unknown.
	std::vector<int> nohz_full() const;
	// The module counts IPIs at the sender ("ipi_count kprobe ...").
	bool ipi_count() const;
	// The value of KEY as the module wrote it ("" where absent): what
	// the accessors below read, for a line a test only prints.
	std::string get(const std::string& key) const;
	// get_signal() runs the work before it clears TIF_NOTIFY_SIGNAL
	// ("notify_cleared after_work": arm64 5.10).
	bool notify_cleared_after_work() const;
	// The tick queues task_work of its own ("tick_task_work mm_cid": 6.4+).
	bool tick_mm_cid() const;
	// Kernel text guards indirect calls (IBT on x86, BTI on arm64).
	bool guarded_indirect_calls() const;
	// How wake_up_state() and task_work_add() are reached ("kprobe",
	// "default_wake_function", "export").
	std::string wake_up_state_via() const;
	std::string task_work_add_via() const;
};
Features parse_features(std::string_view text);

struct ItemRecord {
	std::uint64_t seq = 0;
	pid_t tid = 0;
	Mode mode = Mode::None;
	Impl impl = Impl::Auto;
	int cpu = 0;
	std::uint64_t latency_ns = 0;
	bool after_mark = false;
	bool exiting = false;
	// Queued with a deadline: "met", "kicked", "covered" or "immediate"
	// (a deadline of 0); "-" without one, or from a module before 0.3.0.
	std::string deadline = "-";
};
// Throws std::runtime_error on a malformed line.
std::vector<ItemRecord> parse_items(std::string_view text);

// One line of the "ipis" file: IPIs sent to one CPU since reset, by origin
// (who sent them) and vector (RES or CAL).
struct IpiCounts {
	int cpu = 0;
	std::uint64_t kick_ipi = 0;  // RES sent by kick_process() in a twa queueing call
	std::uint64_t wake_res = 0;  // other IPIs sent from a twa queueing call:
	std::uint64_t wake_cal = 0;  //   the wakeup of a sleeping target
	std::uint64_t other_res = 0; // everything else: background
	std::uint64_t other_cal = 0;
	std::uint64_t deadline_kick = 0; // RES sent by a deadline timer's kick (0.3.0)

	std::uint64_t wake() const { return wake_res + wake_cal; }
	// Sent by our queueing, or for it by a deadline timer.
	std::uint64_t ours() const { return kick_ipi + wake() + deadline_kick; }
	std::uint64_t other() const { return other_res + other_cal; }
	std::uint64_t res() const { return kick_ipi + wake_res + other_res + deadline_kick; }
	std::uint64_t cal() const { return wake_cal + other_cal; }
	std::uint64_t total() const { return ours() + other(); }
	IpiCounts operator-(const IpiCounts& o) const;
};
// Throws std::runtime_error on a malformed line.
std::vector<IpiCounts> parse_ipis(std::string_view text);
// The counts for @cpu; all zero if the file has no line for it.
IpiCounts ipis_for(const std::vector<IpiCounts>& all, int cpu);

// One line of "ipi_senders": who sent IPIs to which CPU. Before 0.2.0 the
// origin kick_ipi was printed "kick"; the parser reads it as kick_ipi.
struct IpiSender {
	std::uint64_t count = 0;
	std::string origin; // kick_ipi, wake, other
	std::string vector; // res, cal
	int cpu = 0;
	std::string caller; // symbol+off/size [module]
};
// Throws std::runtime_error on a malformed line.
std::vector<IpiSender> parse_ipi_senders(std::string_view text);

// Kick IPIs (reschedule IPIs sent by kick_process()) to @cpu, whoever called
// it (our queueing, io_uring's task_work_add(), a signal): summed from
// ipi_senders. The origin kick_ipi counts only our queueing's.
std::uint64_t kick_ipis_any_caller(const std::vector<IpiSender>& senders, int cpu);

class Client {
public:
	static constexpr const char* kDefaultDir = "/sys/kernel/debug/twa_noipi";
	explicit Client(std::string dir = kDefaultDir);

	// Each returns 0 or an errno value (EINVAL, ESRCH, EOPNOTSUPP, ...).
	int command(std::string_view line) const;
	// One write of @bytes as they are (NULs, no newline added): write(), or
	// pwrite() at @offset >= 0 (the module refuses any offset but 0).
	int command_at(std::string_view bytes, off_t offset) const;
	int queue(pid_t tid, Mode mode, Impl impl = Impl::Auto, unsigned count = 1,
	          std::optional<std::uint64_t> deadline_us = {}) const;
	int mark() const { return command("mark"); }
	int reset() const { return command("reset"); }

	Stats stats() const;
	Features features() const;
	std::vector<ItemRecord> items() const;
	std::vector<IpiCounts> ipis() const;
	std::vector<IpiSender> ipi_senders() const;

	// Poll until stats().run() >= @runs; calls @poke (if any) between polls.
	// False on timeout.
	bool wait_run(std::int64_t runs, std::chrono::milliseconds timeout,
	              const std::function<void()>& poke = {}) const;

	const std::string& dir() const { return dir_; }

private:
	std::string read_file(const std::string& name) const;
	std::string dir_;
};

// "queue tid=T mode=M impl=I [count=N] [deadline_us=D]": what
// Client::queue() writes.
std::string queue_command(pid_t tid, Mode mode, Impl impl = Impl::Auto, unsigned count = 1,
                          std::optional<std::uint64_t> deadline_us = {});

// The control file held open: each write() is one command and one
// syscall, with no open() before it (a target's "mark" right before its
// kernel exit; a producer's stream of queue commands).
class ControlFile {
public:
	explicit ControlFile(const Client& c);
	~ControlFile();
	ControlFile(const ControlFile&) = delete;
	ControlFile& operator=(const ControlFile&) = delete;
	int open_error() const { return err_; } // 0 once open
	int write(std::string_view line) const; // 0 or an errno value

private:
	int fd_ = -1, err_ = 0;
};

// A "cpulist" such as "0-2,5" as numbers; throws on malformed input.
std::vector<int> parse_cpulist(std::string_view s);

} // namespace twa
