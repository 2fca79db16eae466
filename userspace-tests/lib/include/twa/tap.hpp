// TAP-style output for the guest programs that are not GoogleTest suites
// (smoke, fuzz, races): "ok N - what" / "not ok N - what" per check, "# "
// notes, and a last line "# NAME: P passed, F failed" that the harness
// and repeat show.
#pragma once

#include <string>

namespace twa {

// printf into a std::string.
std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

class Tap {
public:
	explicit Tap(std::string name);
	// Prints the check's line; returns @ok.
	bool check(bool ok, const std::string& what);
	void note(const std::string& text) const; // "# text"
	int failed() const { return failed_; }
	// Prints the plan and the summary; the program's exit status.
	int finish() const;

private:
	std::string name_;
	int n_ = 0, failed_ = 0;
};

} // namespace twa
