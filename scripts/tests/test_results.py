"""Host unit tests of scripts/results.py (stdlib only):
python3 -m unittest discover -s scripts/tests -t scripts"""

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, SCRIPTS)
import results  # noqa: E402

COMMIT = "0123456789abcdef0123456789abcdef01234567"
T0 = 1700000000

KTAP = """KTAP version 1
1..1
    KTAP version 1
    # Subtest: twa_noipi_notify
    1..4
    ok 1 twa_test_running_needs_kick
    # twa_test_already_set_no_kick: EXPECTATION FAILED at kunit/twa_noipi_kunit.c:42
    not ok 2 twa_test_already_set_no_kick
    ok 3 twa_test_endbr_entry # SKIP not x86 IBT
    ok 4 twa_test_ipi_sent
# twa_noipi_notify: pass:2 fail:1 skip:1 total:4
not ok 1 twa_noipi_notify
"""

GTEST = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1" name="AllTests">
  <testsuite name="Ipi" tests="3" failures="1">
    <testcase name="SignalToSpinnerKicksOncePerItem" status="run" result="completed" time="0.25" classname="Ipi" />
    <testcase name="NohzFullTick" status="run" result="completed" time="0.5" classname="Ipi">
      <failure message="ipi_test.cpp:10&#x0A;Expected: 1 kick" type=""><![CDATA[details]]></failure>
    </testcase>
    <testcase name="Uring/0" status="run" result="skipped" time="0" classname="Param/Ipi"><skipped/></testcase>
  </testsuite>
</testsuites>
"""

BENCH = "\n".join([
    '{"kind":"env","kernel":"6.1.0-57-amd64","native_signal_no_ipi":false}',
    '{"kind":"scenario","target":"spinner","mode":"signal","impl":"backport","supported":true,'
    '"ipis_per_item":1.0,"latency_ns":{"p50":12000,"p99":40000}}',
    '{"kind":"scenario","target":"spinner","mode":"signal_no_ipi","impl":"native","supported":false}',
    # Rounds: the warm-up (round 0) is left out, a figure is the median.
    '{"kind":"scenario","target":"spinner","mode":"resume","impl":"native","supported":true,'
    '"round":0,"warmup":true,"ipis_per_item":9.0,"latency_ns":{"p50":1}}',
    '{"kind":"scenario","target":"spinner","mode":"resume","impl":"native","supported":true,'
    '"round":1,"warmup":false,"ipis_per_item":1.0,"latency_ns":{"p50":100}}',
    '{"kind":"scenario","target":"spinner","mode":"resume","impl":"native","supported":true,'
    '"round":2,"warmup":false,"ipis_per_item":0.5,"latency_ns":{"p50":300}}',
    '{"kind":"scenario","target":"spinner","mode":"resume","impl":"native","supported":true,'
    '"round":3,"warmup":false,"ipis_per_item":0.9,"latency_ns":{"p50":200}}',
    'not json',
]) + "\n"

# 6.1: a boot that passed, with every kind of finer result.
RESULT_PASS = """begin 6.1.0-57-amd64 cpus=2
insmod ok
test kunit begin
twa_noipi_notify: 3 ok, 1 not ok
test kunit rc=1 secs=2.0
test smoke begin
ok 1 - module loaded (features 7)
ok 2 - 3 signal items
# smoke: 2 passed, 0 failed
1..2
test smoke rc=0 secs=1.5
test twa-ipi-tests begin
[==========] Running 3 tests
test twa-ipi-tests rc=1 secs=3.0
test fuzz begin
ok 1 - reset before fuzzing
not ok 2 - write at an offset gave 22
# the offset was 4096
1..2
test fuzz rc=1 secs=4.0
test twa-bench begin
test twa-bench rc=0 secs=9.0
test races begin
no such program: /twa/bin/races
test races rc=1 secs=0.0
rmmod ok
kmemleak clean (3 boot-time objects ignored)
end
"""

# 7.x: the guest died in its second program.
RESULT_CUT = """begin 7.0.0 cpus=2
insmod ok
test smoke begin
ok 1 - module loaded
1..1
test smoke rc=0 secs=1.0
test races begin
ok 1 - counters reset (0)
"""

STEPS = [
    ("check", "-", "check", "PASS", T0, 30, "desc=make check (checkpatch, sparse)"),
    ("build", "6.1", "build", "PASS", T0 + 30, 60, "arch=x86_64"),
    ("build", "7.x", "build", "PASS", T0 + 90, 61,
     "arch=x86_64;compiler=gcc-16 16.2.0;config=kunit/kunit.config kunit/debug.config"),
    ("build", "5.10", "build", "FAIL", T0 + 151, 5, "arch=arm64;log={log}"),
    ("dkms", "6.1", "dkms", "PASS", T0 + 160, 20, ""),
    ("boot", "6.1", "tests", "PASS", T0 + 200, 300,
     "progs=kunit smoke twa-ipi-tests fuzz twa-bench races;desc=6.1: guest + kunit + bench"),
    ("boot", "6.1", "nohz", "PASS", T0 + 200, 100, "progs=twa-ipi-tests"),
    ("boot", "7.x", "tests", "FAIL", T0 + 210, 400, "progs=smoke races consumer;log={log}"),
    ("boot", "5.10", "tests", "MISS", "-", "-", "progs=smoke fuzz"),
    ("kunit", "7.x", "kunit", "FAIL", T0 + 620, 50, ""),
]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def run_main(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = results.main(argv)
    return rc, err.getvalue()


class Fixture(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        self.runs = os.path.join(d, "build")
        log = os.path.join(d, "job.log")
        write(log, "[twa] booting\n[twa] 7.x: FAIL: guest did not finish (panic or crash?)\ntail\n")
        write(os.path.join(self.runs, "6.1", "manifest"),
              "NAME=6.1\nKRELEASE=6.1.0-57-amd64\nARCH=x86_64\nCC=gcc-12\n"
              "COMPILER=x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14) 12.2.0\n"
              "OFFERS=preempt=none native-no-ipi\n")
        r61 = os.path.join(self.runs, "6.1", "runs", "tests")
        write(os.path.join(r61, "result.txt"), RESULT_PASS)
        write(os.path.join(r61, "files", "kunit", "twa_noipi_notify.ktap"), KTAP)
        write(os.path.join(r61, "files", "twa-ipi-tests", "gtest.xml"), GTEST)
        write(os.path.join(r61, "files", "twa-bench", "bench.jsonl"), BENCH)
        write(os.path.join(self.runs, "6.1", "runs", "nohz", "result.txt"),
              "begin x\ninsmod ok\ntest twa-ipi-tests begin\ntest twa-ipi-tests rc=0 secs=1\nrmmod ok\nend\n")
        write(os.path.join(self.runs, "6.1", "runs", "nohz", "rebooted"),
              "an oops on a stale int3 (TCG and code patching): Oops: int3: 0000 [#1]\n")
        write(os.path.join(self.runs, "7.x", "runs", "tests", "result.txt"), RESULT_CUT)
        # 7.x's kunit boot: no run directory at all.
        self.steps = os.path.join(d, "steps.tsv")
        lines = ["# a comment", ""]
        for rec in STEPS:
            lines.append("\t".join(str(x) for x in rec).replace("{log}", log))
        write(self.steps, "\n".join(lines) + "\n")
        self.out = os.path.join(d, "out", "results.json")

    def tearDown(self):
        self.tmp.cleanup()

    def produce(self, extra_steps=""):
        if extra_steps:
            with open(self.steps, "a") as f:
                f.write(extra_steps)
        rc, err = run_main(["--out", self.out, "--commit", COMMIT, "--branch", "main",
                            "--steps", self.steps, "--runs-dir", self.runs])
        with open(self.out) as f:
            return rc, err, json.load(f)


class Produce(Fixture):
    def setUp(self):
        super().setUp()
        self.rc, self.err, self.doc = self.produce()
        self.by_path = {}
        for t in self.doc["tests"]:
            kernel = t["build_id"].split(":", 1)[1].rsplit("-", 1)[0]
            parts = t["id"].split(":")  # ORIGIN:BUILD[:RUN]:PATH
            run = parts[2] if len(parts) == 4 else ""
            self.by_path.setdefault((kernel, run, t["path"]), []).append(t)

    def status(self, kernel, run, path):
        ts = self.by_path.get((kernel, run, path))
        self.assertTrue(ts, "no test %s %s %s" % (kernel, run, path))
        return ts[0]["status"]

    def test_valid(self):
        self.assertEqual(self.rc, 0, self.err)
        self.assertEqual(results.check(self.doc), [])
        rc, err = run_main(["--check", self.out])
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.err.strip().splitlines()), 1, self.err)

    def test_checkout(self):
        self.assertEqual(self.doc["version"], {"major": 4, "minor": 5})
        (co,) = self.doc["checkouts"]
        self.assertEqual(co["id"], "twa_noipi:" + COMMIT)
        self.assertEqual(co["origin"], "twa_noipi")
        self.assertEqual(co["git_commit_hash"], COMMIT)
        self.assertEqual(co["git_repository_branch"], "main")
        self.assertEqual(co["start_time"], "2023-11-14T22:13:20Z")
        self.assertIs(co["valid"], True)
        self.assertIn("host_nproc", co["misc"])

    def test_builds(self):
        b = {x["id"]: x for x in self.doc["builds"]}
        short = COMMIT[:12]
        self.assertEqual(set(b), {"twa_noipi:%s-%s" % (k, short) for k in ("host", "6.1", "7.x", "5.10")})
        b61 = b["twa_noipi:6.1-" + short]
        self.assertEqual(b61["compiler"], "gcc-12 12.2.0")  # from the kernel's config
        self.assertEqual(b61["architecture"], "x86_64")
        self.assertEqual(b61["config_name"], "6.1")
        self.assertEqual(b61["duration"], 60)
        self.assertIs(b61["valid"], True)
        b7 = b["twa_noipi:7.x-" + short]
        self.assertEqual(b7["compiler"], "gcc-16 16.2.0")
        self.assertEqual(b7["config_name"], "kunit/kunit.config kunit/debug.config")
        b510 = b["twa_noipi:5.10-" + short]
        self.assertIs(b510["valid"], False)
        self.assertEqual(b510["architecture"], "arm64")
        self.assertIn("FAIL", b510["log_excerpt"])

    def test_host_and_dkms(self):
        self.assertEqual(self.status("host", "", "check"), "PASS")
        self.assertEqual(self.by_path[("host", "", "check")][0]["comment"],
                         "make check (checkpatch, sparse)")
        self.assertEqual(self.status("6.1", "", "dkms"), "PASS")

    def test_passing_boot(self):
        s = lambda p: self.status("6.1", "tests", p)  # noqa: E731
        self.assertEqual(s("guest"), "PASS")
        self.assertEqual(s("guest.smoke"), "PASS")
        self.assertEqual(s("guest.smoke.module_loaded"), "PASS")
        self.assertEqual(s("guest.smoke.3_signal_items"), "PASS")
        self.assertEqual(s("guest.kunit"), "FAIL")
        self.assertEqual(s("kunit.twa_noipi_notify"), "FAIL")
        self.assertEqual(s("kunit.twa_noipi_notify.twa_test_running_needs_kick"), "PASS")
        self.assertEqual(s("kunit.twa_noipi_notify.twa_test_already_set_no_kick"), "FAIL")
        self.assertEqual(s("kunit.twa_noipi_notify.twa_test_endbr_entry"), "SKIP")
        self.assertEqual(s("guest.twa-ipi-tests"), "FAIL")
        self.assertEqual(s("guest.twa-ipi-tests.Ipi.SignalToSpinnerKicksOncePerItem"), "PASS")
        self.assertEqual(s("guest.twa-ipi-tests.Ipi.NohzFullTick"), "FAIL")
        self.assertEqual(s("guest.twa-ipi-tests.Param_Ipi.Uring_0"), "SKIP")
        self.assertEqual(s("guest.fuzz.write_at_an_offset_gave_22"), "FAIL")
        self.assertEqual(s("guest.races"), "ERROR")
        self.assertEqual(s("guest.insmod"), "PASS")
        self.assertEqual(s("guest.rmmod"), "PASS")
        self.assertEqual(s("guest.kmemleak"), "PASS")
        self.assertEqual(self.status("6.1", "nohz", "nohz"), "PASS")
        self.assertEqual(self.status("6.1", "nohz", "nohz.twa-ipi-tests"), "PASS")
        kfail = self.by_path[("6.1", "tests", "kunit.twa_noipi_notify.twa_test_already_set_no_kick")][0]
        self.assertIn("EXPECTATION FAILED", kfail["log_excerpt"])
        gfail = self.by_path[("6.1", "tests", "guest.twa-ipi-tests.Ipi.NohzFullTick")][0]
        self.assertIn("Expected: 1 kick", gfail["log_excerpt"])
        self.assertEqual(gfail["duration"], 0.5)
        tfail = self.by_path[("6.1", "tests", "guest.fuzz.write_at_an_offset_gave_22")][0]
        self.assertIn("the offset was 4096", tfail["log_excerpt"])
        self.assertEqual(self.by_path[("6.1", "tests", "guest.smoke")][0]["duration"], 1.5)

    def test_bench(self):
        t = self.by_path[("6.1", "tests", "bench.spinner.signal.backport.ipis_per_item")][0]
        self.assertEqual(t["status"], "DONE")
        self.assertEqual(t["number"], {"value": 1.0, "unit": "IPI/item"})
        t = self.by_path[("6.1", "tests", "bench.spinner.signal.backport.latency_p50")][0]
        self.assertEqual(t["number"], {"value": 12000, "unit": "ns"})
        self.assertFalse([p for p in self.by_path if p[2].startswith("bench.spinner.signal_no_ipi")])
        rounds = self.by_path[("6.1", "tests", "bench.spinner.resume.native.ipis_per_item")]
        self.assertEqual(len(rounds), 1, "one result for the rounds")
        self.assertEqual(rounds[0]["number"]["value"], 0.9)
        t = self.by_path[("6.1", "tests", "bench.spinner.resume.native.latency_p50")][0]
        self.assertEqual(t["number"]["value"], 200)

    def test_failing_boot(self):
        s = lambda p: self.status("7.x", "tests", p)  # noqa: E731
        self.assertEqual(s("guest"), "FAIL")
        self.assertIn("guest did not finish", self.by_path[("7.x", "tests", "guest")][0]["log_excerpt"])
        self.assertEqual(s("guest.smoke"), "PASS")
        self.assertEqual(s("guest.races"), "MISS")  # began, never ended
        self.assertEqual(s("guest.consumer"), "MISS")  # never began
        self.assertEqual(s("guest.rmmod"), "MISS")
        # The kunit-only boot with no run directory: the boot failed; no
        # program test of its own, no KTAP to read.
        self.assertEqual(self.status("7.x", "kunit", "kunit"), "FAIL")
        self.assertEqual(len(self.by_path[("7.x", "kunit", "kunit")]), 1)

    def test_missing_boot(self):
        self.assertEqual(self.status("5.10", "tests", "guest"), "MISS")
        self.assertEqual(self.status("5.10", "tests", "guest.smoke"), "MISS")
        self.assertEqual(self.status("5.10", "tests", "guest.fuzz"), "MISS")
        self.assertNotIn("start_time", self.by_path[("5.10", "tests", "guest")][0])

    def test_reboot_said(self):
        (nohz,) = self.by_path[("6.1", "nohz", "nohz")]
        self.assertEqual(nohz["status"], "PASS")
        self.assertIn("stale int3", nohz["misc"]["rebooted"])
        self.assertTrue(nohz["misc"]["first_console"].endswith("nohz/console.1.log"))
        (tests,) = self.by_path[("6.1", "tests", "guest")]
        self.assertNotIn("rebooted", tests.get("misc", {}))

    def test_ids_unique(self):
        ids = [t["id"] for t in self.doc["tests"]]
        self.assertEqual(len(ids), len(set(ids)))


class Steps(Fixture):
    def test_bad_lines_are_skipped_with_a_warning(self):
        rc, err, doc = self.produce("boot\t6.1\tx\tPASS\n"
                                    "reboot\t6.1\tx\tPASS\t1\t1\t\n"
                                    "boot\t6.1\tx\tGREAT\t1\t1\t\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.count("warning"), 3, err)
        self.assertEqual(results.check(doc), [])

    def test_full_commit_needed(self):
        with self.assertRaises(SystemExit):
            with contextlib.redirect_stderr(io.StringIO()):
                results.main(["--out", self.out, "--commit", "0123abc", "--steps", self.steps])


class Check(Fixture):
    def planted(self, edit):
        _, _, doc = self.produce()
        edit(doc)
        with open(self.out, "w") as f:
            json.dump(doc, f)
        return run_main(["--check", self.out])

    def assertFails(self, edit, words):
        rc, err = self.planted(edit)
        self.assertEqual(rc, 1, err)
        self.assertIn(words, err)

    def test_bad_status(self):
        self.assertFails(lambda d: d["tests"][0].update(status="BROKEN"), "status 'BROKEN'")

    def test_dangling_build_id(self):
        self.assertFails(lambda d: d["tests"][-1].update(build_id="twa_noipi:nowhere"),
                         "names no object in builds")

    def test_dangling_checkout_id(self):
        self.assertFails(lambda d: d["builds"][0].update(checkout_id="twa_noipi:x"),
                         "names no object in checkouts")

    def test_duplicate_id(self):
        self.assertFails(lambda d: d["tests"].append(dict(d["tests"][0])), "not unique")

    def test_done_without_unit(self):
        def edit(d):
            t = next(t for t in d["tests"] if t["status"] == "DONE")
            del t["number"]["unit"]
        self.assertFails(edit, "DONE without number")

    def test_bad_time(self):
        self.assertFails(lambda d: d["tests"][0].update(start_time="2024-01-01 10:00"), "RFC 3339")
        self.assertFails(lambda d: d["builds"][0].update(start_time="2024-13-01T10:00:00Z"), "RFC 3339")

    def test_unknown_key_and_origin(self):
        self.assertFails(lambda d: d["tests"][0].update(verdict="ok"), "unknown key 'verdict'")
        self.assertFails(lambda d: d["checkouts"][0].update(origin="twa-noipi"), "origin")

    def test_missing_required(self):
        self.assertFails(lambda d: d["builds"][0].pop("checkout_id"), "no checkout_id")
        self.assertFails(lambda d: d.update(version={"major": 5}), "version")

    def test_rfc3339(self):
        for ok in ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00.5+05:30", "2024-02-29t23:59:60z"):
            self.assertTrue(results.is_rfc3339(ok), ok)
        for bad in ("2024-01-01", "2023-02-29T10:00:00Z", "2024-01-01T10:00:00", 1700000000):
            self.assertFalse(results.is_rfc3339(bad), bad)


class Cli(unittest.TestCase):
    def test_help(self):
        out = subprocess.run([sys.executable, os.path.join(SCRIPTS, "results.py"), "--help"],
                             capture_output=True, text=True, check=True).stdout
        self.assertIn("--steps", out)
        self.assertIn("KIND  KERNEL  NAME  STATUS  START  SECONDS  EXTRA", out)


if __name__ == "__main__":
    unittest.main()
