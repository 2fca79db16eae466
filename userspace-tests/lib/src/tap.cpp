#include "twa/tap.hpp"

#include <cstdarg>
#include <cstdio>

namespace twa {

// Check lines are short; a longer one is cut, not lost.
std::string strf(const char* fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	// The analyzer does not see GCC's __builtin_va_start initialise ap.
	std::vsnprintf(buf, sizeof(buf), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	return buf;
}

Tap::Tap(std::string name) : name_(std::move(name)) { std::setvbuf(stdout, nullptr, _IOLBF, 0); }

bool Tap::check(bool ok, const std::string& what)
{
	std::printf("%sok %d - %s\n", ok ? "" : "not ", ++n_, what.c_str());
	if (!ok)
		failed_++;
	return ok;
}

void Tap::note(const std::string& text) const { std::printf("# %s\n", text.c_str()); }

int Tap::finish() const
{
	std::printf("1..%d\n# %s: %d passed, %d failed\n", n_, name_.c_str(), n_ - failed_,
	            failed_);
	return failed_ ? 1 : 0;
}

} // namespace twa
