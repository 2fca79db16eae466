// capture: what the host tests parse, from the running kernel, into
// $TWA_OUT, flat, as the harness carries files back (scripts/
// capture-fixtures.sh files them under userspace-tests/fixtures/):
// /proc/interrupts, and the module's debugfs files after three signal items
// and one backport signal_no_ipi item queued to this thread, and a mark.
#include "twa/client.hpp"
#include "twa/cpu.hpp"
#include "twa/tap.hpp"

#include <cstdlib>
#include <fstream>
#include <string>

using namespace twa;

namespace {

bool copy(const std::string& from, const std::string& to)
{
	std::ifstream in(from);
	if (!in)
		return false;
	std::ofstream out(to);
	out << in.rdbuf();
	return static_cast<bool>(out);
}

} // namespace

int main()
{
	Tap tap("capture");
	const char* dir = std::getenv("TWA_OUT");
	if (!dir) {
		tap.check(false, "TWA_OUT is set (run by the guest harness)");
		return tap.finish();
	}
	const std::string out = dir;
	const Client c;
	tap.check(c.reset() == 0, "reset");
	// Items to this thread run on the way back from each write().
	tap.check(c.queue(gettid_now(), Mode::Signal, Impl::Auto, 3) == 0, "3 signal items");
	tap.check(c.queue(gettid_now(), Mode::SignalNoIpi, Impl::Backport) == 0,
	          "1 backport signal_no_ipi item");
	tap.check(c.mark() == 0, "mark");
	tap.check(copy("/proc/interrupts", out + "/interrupts.txt"), "interrupts.txt");
	for (const char* f : {"features", "stats", "items", "ipis", "ipi_senders"})
		tap.check(copy(c.dir() + "/" + f, out + "/debugfs-" + f),
		          std::string("debugfs-") + f);
	return tap.finish();
}
