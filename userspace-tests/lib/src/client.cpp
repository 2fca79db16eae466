#include "twa/client.hpp"

#include "twa/cpu.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace twa {
namespace {

constexpr std::array<std::string_view, 4> kModes = {"none", "resume", "signal", "signal_no_ipi"};
constexpr std::array<std::string_view, 3> kImpls = {"auto", "native", "backport"};

template <typename T> bool parse_num(std::string_view s, T& v)
{
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	return !s.empty() && ec == std::errc{} && p == s.data() + s.size();
}

std::vector<std::string_view> split_ws(std::string_view line)
{
	std::vector<std::string_view> out;
	std::size_t i = 0;
	while (i < line.size()) {
		while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
			i++;
		auto j = i;
		while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r')
			j++;
		if (j > i)
			out.push_back(line.substr(i, j - i));
		i = j;
	}
	return out;
}

template <typename F> void for_each_line(std::string_view text, F f)
{
	while (!text.empty()) {
		auto nl = text.find('\n');
		f(text.substr(0, nl));
		if (nl == std::string_view::npos)
			break;
		text.remove_prefix(nl + 1);
	}
}

} // namespace

std::string_view to_string(Mode m) { return kModes.at(static_cast<std::size_t>(m)); }
std::string_view to_string(Impl i) { return kImpls.at(static_cast<std::size_t>(i)); }

namespace {
template <std::size_t N> std::string join(const std::array<std::string_view, N>& names)
{
	std::string out;
	for (auto n : names)
		out.append(out.empty() ? "" : " ").append(n);
	return out;
}
} // namespace

std::string mode_names() { return join(kModes); }
std::string impl_names() { return join(kImpls); }

std::optional<Mode> mode_from_string(std::string_view s)
{
	for (std::size_t i = 0; i < kModes.size(); i++)
		if (kModes[i] == s)
			return static_cast<Mode>(i);
	return std::nullopt;
}

std::optional<Impl> impl_from_string(std::string_view s)
{
	for (std::size_t i = 0; i < kImpls.size(); i++)
		if (kImpls[i] == s)
			return static_cast<Impl>(i);
	return std::nullopt;
}

KeyValues parse_key_values(std::string_view text)
{
	KeyValues kv;
	for_each_line(text, [&](std::string_view line) {
		auto w = split_ws(line);
		if (w.empty() || w[0].front() == '#')
			return;
		std::string value;
		for (std::size_t i = 1; i < w.size(); i++) {
			if (i > 1)
				value += ' ';
			value.append(w[i]);
		}
		kv[std::string(w[0])] = value;
	});
	return kv;
}

std::int64_t Stats::get(const std::string& key) const
{
	auto it = raw.find(key);
	for (const auto& r : kStatsRenamed)
		if (it == raw.end() && key == r.key)
			it = raw.find(r.deprecated);
	std::int64_t v;
	if (it == raw.end() || !parse_num(std::string_view(it->second), v))
		return -1;
	return v;
}

Stats parse_stats(std::string_view text) { return Stats{parse_key_values(text)}; }
Features parse_features(std::string_view text) { return Features{parse_key_values(text)}; }

std::string Features::release() const
{
	auto it = raw.find("release");
	return it == raw.end() ? "" : it->second;
}

bool Features::native_signal_no_ipi() const
{
	auto it = raw.find("native_signal_no_ipi");
	return it != raw.end() && it->second == "yes";
}

int Features::hz() const
{
	auto it = raw.find("hz");
	int v = 0;
	return it != raw.end() && parse_num(std::string_view(it->second), v) ? v : 0;
}

std::vector<int> Features::nohz_full() const
{
	auto it = raw.find("nohz_full");
	if (it == raw.end() || it->second == "none" || it->second == "unsupported" ||
	    it->second == "unknown" || it->second.empty())
		return {};
	return parse_cpulist(it->second);
}

bool Features::ipi_count() const
{
	auto it = raw.find("ipi_count");
	return it != raw.end() && it->second.rfind("kprobe", 0) == 0;
}

std::string Features::get(const std::string& key) const
{
	auto it = raw.find(key);
	return it == raw.end() ? "" : it->second;
}

bool Features::notify_cleared_after_work() const { return get("notify_cleared") == "after_work"; }

bool Features::tick_mm_cid() const { return get("tick_task_work") == "mm_cid"; }

bool Features::guarded_indirect_calls() const { return get("ibt") == "yes" || get("bti") == "yes"; }

std::string Features::wake_up_state_via() const { return get("wake_up_state"); }

std::string Features::task_work_add_via() const { return get("task_work_add"); }

IpiCounts IpiCounts::operator-(const IpiCounts& o) const
{
	return {cpu,
	        kick_ipi - o.kick_ipi,
	        wake_res - o.wake_res,
	        wake_cal - o.wake_cal,
	        other_res - o.other_res,
	        other_cal - o.other_cal,
	        deadline_kick - o.deadline_kick};
}

std::vector<IpiCounts> parse_ipis(std::string_view text)
{
	std::vector<IpiCounts> out;
	for_each_line(text, [&](std::string_view line) {
		auto w = split_ws(line);
		if (w.empty() || w[0].front() == '#')
			return;
		IpiCounts c;
		// Six columns before 0.3.0; the seventh is deadline_kick_res.
		if ((w.size() != 6 && w.size() != 7) || !parse_num(w[0], c.cpu) ||
		    !parse_num(w[1], c.kick_ipi) || !parse_num(w[2], c.wake_res) ||
		    !parse_num(w[3], c.wake_cal) || !parse_num(w[4], c.other_res) ||
		    !parse_num(w[5], c.other_cal) ||
		    (w.size() == 7 && !parse_num(w[6], c.deadline_kick)))
			throw std::runtime_error("ipis: malformed line '" + std::string(line) +
			                         "'");
		out.push_back(c);
	});
	return out;
}

IpiCounts ipis_for(const std::vector<IpiCounts>& all, int cpu)
{
	for (const auto& c : all)
		if (c.cpu == cpu)
			return c;
	IpiCounts none;
	none.cpu = cpu;
	return none;
}

std::vector<IpiSender> parse_ipi_senders(std::string_view text)
{
	std::vector<IpiSender> out;
	for_each_line(text, [&](std::string_view line) {
		auto w = split_ws(line);
		if (w.empty() || w[0].front() == '#')
			return;
		IpiSender s;
		if (w.size() < 5 || !parse_num(w[0], s.count) || !parse_num(w[3], s.cpu))
			throw std::runtime_error("ipi_senders: malformed line '" +
			                         std::string(line) + "'");
		s.origin = w[1] == "kick" ? "kick_ipi" : w[1]; // deprecated name
		s.vector = w[2];
		for (std::size_t i = 4; i < w.size(); i++) {
			if (i > 4)
				s.caller.push_back(' ');
			s.caller.append(w[i]);
		}
		out.push_back(s);
	});
	return out;
}

std::uint64_t kick_ipis_any_caller(const std::vector<IpiSender>& senders, int cpu)
{
	std::uint64_t n = 0;
	for (const auto& s : senders)
		if (s.cpu == cpu && s.vector == "res" && s.caller.rfind("kick_process+", 0) == 0)
			n += s.count;
	return n;
}

std::vector<int> parse_cpulist(std::string_view s)
{
	std::vector<int> cpus;
	if (s.empty())
		return cpus;
	for (;;) {
		auto comma = s.find(',');
		auto part = s.substr(0, comma);
		auto dash = part.find('-');
		int a, b;
		if (!parse_num(part.substr(0, dash), a))
			throw std::runtime_error("bad cpulist part '" + std::string(part) + "'");
		b = a;
		if (dash != std::string_view::npos && !parse_num(part.substr(dash + 1), b))
			throw std::runtime_error("bad cpulist part '" + std::string(part) + "'");
		if (b < a)
			throw std::runtime_error("bad cpulist range '" + std::string(part) + "'");
		for (int c = a; c <= b; c++)
			cpus.push_back(c);
		if (comma == std::string_view::npos)
			return cpus;
		s.remove_prefix(comma + 1); // "1," leaves an empty part: rejected above
	}
}

std::vector<ItemRecord> parse_items(std::string_view text)
{
	std::vector<ItemRecord> items;
	for_each_line(text, [&](std::string_view line) {
		auto w = split_ws(line);
		if (w.empty() || w[0].front() == '#')
			return;
		ItemRecord r;
		// Eight columns before 0.3.0; the ninth is the deadline's outcome.
		bool known = w.size() == 8 || w.size() == 9;
		auto mode = known ? mode_from_string(w[2]) : std::nullopt;
		auto impl = known ? impl_from_string(w[3]) : std::nullopt;
		int exiting = 0;
		if (!mode || !impl || !parse_num(w[0], r.seq) || !parse_num(w[1], r.tid) ||
		    !parse_num(w[4], r.cpu) || !parse_num(w[5], r.latency_ns) ||
		    (w[6] != "before" && w[6] != "after") || !parse_num(w[7], exiting))
			throw std::runtime_error("items: malformed line '" + std::string(line) +
			                         "'");
		r.mode = *mode;
		r.impl = *impl;
		r.after_mark = w[6] == "after";
		r.exiting = exiting != 0;
		if (w.size() == 9)
			r.deadline = std::string(w[8]);
		items.push_back(r);
	});
	return items;
}

Client::Client(std::string dir) : dir_(std::move(dir)) {}

int Client::command(std::string_view line) const { return command_at(line, -1); }

int Client::command_at(std::string_view bytes, off_t offset) const
{
	int fd = ::open((dir_ + "/control").c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	ssize_t n = offset < 0 ? ::write(fd, bytes.data(), bytes.size())
	                       : ::pwrite(fd, bytes.data(), bytes.size(), offset);
	int err = n < 0 ? errno : 0;
	::close(fd);
	return err;
}

std::string queue_command(pid_t tid, Mode mode, Impl impl, unsigned count,
                          std::optional<std::uint64_t> deadline_us)
{
	std::ostringstream cmd;
	cmd << "queue tid=" << tid << " mode=" << to_string(mode) << " impl=" << to_string(impl);
	if (count != 1)
		cmd << " count=" << count;
	if (deadline_us)
		cmd << " deadline_us=" << *deadline_us;
	return cmd.str();
}

int Client::queue(pid_t tid, Mode mode, Impl impl, unsigned count,
                  std::optional<std::uint64_t> deadline_us) const
{
	return command(queue_command(tid, mode, impl, count, deadline_us));
}

ControlFile::ControlFile(const Client& c)
    : fd_(::open((c.dir() + "/control").c_str(), O_WRONLY | O_CLOEXEC)), err_(fd_ < 0 ? errno : 0)
{}

ControlFile::~ControlFile()
{
	if (fd_ >= 0)
		::close(fd_);
}

int ControlFile::write(std::string_view line) const
{
	if (fd_ < 0)
		return err_;
	return ::write(fd_, line.data(), line.size()) < 0 ? errno : 0;
}

std::string Client::read_file(const std::string& name) const
{
	std::ifstream in(dir_ + "/" + name);
	if (!in)
		throw std::runtime_error("cannot read " + dir_ + "/" + name);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

Stats Client::stats() const { return parse_stats(read_file("stats")); }
Features Client::features() const { return parse_features(read_file("features")); }
std::vector<ItemRecord> Client::items() const { return parse_items(read_file("items")); }
std::vector<IpiCounts> Client::ipis() const { return parse_ipis(read_file("ipis")); }
std::vector<IpiSender> Client::ipi_senders() const
{
	return parse_ipi_senders(read_file("ipi_senders"));
}

bool Client::wait_run(std::int64_t runs, std::chrono::milliseconds timeout,
                      const std::function<void()>& poke) const
{
	return poll_until([&] { return stats().run() >= runs; }, timeout, poke);
}

} // namespace twa
