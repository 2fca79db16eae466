"""Host tests of report.py on a captured bench.jsonl.

The fixtures are make test's short bench on Debian's 6.1.0-57-amd64 under
TCG: 20 items a scenario, two sweep points. 6.1-short.jsonl (2026-12-02)
has today's keys; 6.1-short-0.1.0.jsonl (2026-12-01) the deprecated ones
(docs/report.md, "Renamed keys"), which must stay readable until the next
release: keep it. These tests judge the plumbing (what is read,
what --check calls incomplete, what the headline is computed from), never
a figure's size.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REPORT = os.path.join(ROOT, "scripts", "report.py")
FIXTURE = os.path.join(ROOT, "userspace-tests", "fixtures", "bench", "6.1-short.jsonl")
OLD_FIXTURE = os.path.join(ROOT, "userspace-tests", "fixtures", "bench", "6.1-short-0.1.0.jsonl")

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import report  # noqa: E402


def lines(path=FIXTURE):
    with open(path) as f:
        return [json.loads(x) for x in f if x.startswith("{")]


def write(tmp, recs):
    path = os.path.join(tmp, "bench.jsonl")
    with open(path, "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    return path


def run_check(path, out):
    return subprocess.run([sys.executable, REPORT, "--check", "--out", out, path],
                          capture_output=True, text=True)


class ReadAndBuild(unittest.TestCase):
    def test_reads_every_kind(self):
        env, scenarios, uring, baselines, sweep, tracers = report.read_bench([FIXTURE])
        self.assertEqual(env["kernel"], "6.1.0-57-amd64")
        self.assertTrue(scenarios)
        self.assertTrue(baselines)
        self.assertTrue(sweep)
        kinds = {r["kind"] for r in lines()}
        self.assertIn("scenario", kinds)

    def test_headline_from_spinner_signal_and_no_ipi(self):
        env, scenarios, uring, baselines, sweep, tracers = report.read_bench([FIXTURE])
        rep = report.build_report(env, scenarios, uring, "tcg", baselines, sweep, tracers)
        h = rep["headline"]
        self.assertEqual(h["impl"], "native")  # 6.1 has the mode natively
        sig = report.find(rep["scenarios"], "spinner", "signal", "native")
        nip = report.find(rep["scenarios"], "spinner", "signal_no_ipi", "native")
        self.assertAlmostEqual(h["ipis_saved_per_item"],
                               round(sig["kick_ipis_per_item"] - nip["kick_ipis_per_item"], 3))
        self.assertIn("TWA_SIGNAL_NO_IPI instead of TWA_SIGNAL", h["text"])

    def test_ratio(self):
        self.assertEqual(report.ratio(10, 4), 2.5)
        self.assertIsNone(report.ratio(None, 4))
        self.assertIsNone(report.ratio(3, 0))


class DeprecatedKeys(unittest.TestCase):
    """Bench output and reports written before the renames (docs/report.md,
    "Renamed keys") are read under today's names until the next release."""

    def test_the_bench_writes_only_new_keys(self):
        with open(FIXTURE) as f:
            text = f.read()
        for old in ('"kicks"', '"kick_calls"', '"kicks_per_op"', '"kick":', '"class":"kick"'):
            self.assertNotIn(old, text)
        scen = [r for r in lines() if r["kind"] == "scenario" and r.get("supported")]
        self.assertTrue(all("kick_ipis_owed" in r and "kick_ipi" in r["sent"] for r in scen))
        rec = scen[0]
        self.assertEqual(report.upgrade("scenario", json.loads(json.dumps(rec))), rec,
                         "a new-key record is left as it is")

    def test_old_bench_keys_are_read_as_new(self):
        recs = lines(OLD_FIXTURE)
        old = [r for r in recs if r["kind"] == "scenario" and r.get("supported")]
        self.assertTrue(all("kick_calls" in r and "kicks" in r for r in old),
                        "the fixture is an old-key capture: keep one")
        env, scenarios, uring, baselines, sweep, tracers = report.read_bench([OLD_FIXTURE])
        for s in (x for x in scenarios if x.get("supported")):
            for gone in ("kicks", "kick_calls"):
                self.assertNotIn(gone, s)
            self.assertIn("backport_kick_process_calls", s)
            self.assertIn("kick_process_calls", s)
            self.assertIn("kick_ipi", s["sent"])
            self.assertNotIn("kick", s["sent"])
            for snd in s["senders"]:
                self.assertEqual(set(snd), {"count", "origin", "vector", "caller"})
                self.assertIn(snd["origin"], ("kick_ipi", "wake", "other"))
        for p in sweep:
            self.assertIn("kick_process_calls", p)
        for u in (x for x in uring if x["supported"]):
            self.assertIn("kick_ipis_per_op", u)
            self.assertNotIn("kicks_per_op", u)
        orig = next(r for r in old if r["mode"] == "signal")
        s = report.find(scenarios, orig["target"], "signal", orig["impl"])
        self.assertEqual(s["kick_process_calls"], orig["kick_calls"])
        self.assertEqual(s["backport_kick_process_calls"], orig["kicks"])
        self.assertEqual(s["sent"]["kick_ipi"], orig["sent"]["kick"])

    def test_upgrade_keeps_new_keys_and_renames_old_values(self):
        rec = {"kick_calls": 9, "kick_process_calls": 3, "kicks": 2, "sent": {"kick": 1},
               "senders": [{"count": 1, "class": "kick", "kind": "res", "caller": "x"}]}
        report.upgrade("scenario", rec)
        self.assertEqual(rec["kick_process_calls"], 3, "the new key wins")
        self.assertNotIn("kick_calls", rec)
        self.assertEqual(rec["backport_kick_process_calls"], 2)
        self.assertEqual(rec["sent"], {"kick_ipi": 1})
        self.assertEqual(rec["senders"], [{"count": 1, "origin": "kick_ipi", "vector": "res",
                                           "caller": "x"}])
        self.assertEqual(report.upgrade("io_uring", {"kicks_per_op": 0.5}),
                         {"kick_ipis_per_op": 0.5})

    def test_old_capture_is_complete(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run_check(OLD_FIXTURE, tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("check: complete", r.stdout)

    def test_combine_reads_an_old_report(self):
        env, scenarios, uring, baselines, sweep, tracers = report.read_bench([OLD_FIXTURE])
        rep = report.build_report(env, scenarios, uring, "tcg", baselines, sweep, tracers)
        for u in rep["io_uring"]:  # as a report.json of before the renames had it
            u["kicks_per_op"] = u.pop("kick_ipis_per_op")
        for s in rep["scenarios"]:
            s["kick_calls"] = s.pop("kick_process_calls")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "report.json")
            with open(path, "w") as f:
                json.dump(rep, f)
            r = subprocess.run([sys.executable, REPORT, "--combine", "--out", tmp, path],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(tmp, "comparison.md")) as f:
                md = f.read()
        default = next(u for u in rep["io_uring"] if u["setup"] == "default" and u["supported"]
                       and u.get("stimulus", "pipe") == "pipe")
        self.assertIn(report.fmt(default["kicks_per_op"]), md)


class Check(unittest.TestCase):
    def test_captured_run_is_complete(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run_check(FIXTURE, tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("check: complete", r.stdout)
            with open(os.path.join(tmp, "6.1.0-57-amd64", "report.json")) as f:
                rep = json.load(f)
            self.assertTrue(rep["headline"])

    def test_an_item_that_did_not_run_is_incomplete(self):
        recs = lines()
        s = next(r for r in recs if r["kind"] == "scenario" and r.get("supported"))
        s["ran"] = s["items"] - 1
        with tempfile.TemporaryDirectory() as tmp:
            r = run_check(write(tmp, recs), tmp)
            self.assertEqual(r.returncode, 1)
            self.assertIn("%d of %d items ran" % (s["items"] - 1, s["items"]), r.stderr)

    def test_no_sweep_is_incomplete(self):
        recs = [r for r in lines() if r["kind"] != "sweep"]
        with tempfile.TemporaryDirectory() as tmp:
            r = run_check(write(tmp, recs), tmp)
            self.assertEqual(r.returncode, 1)
            self.assertIn("no sweep points", r.stderr)

    def test_no_headline_without_the_spinner_scenarios(self):
        recs = [r for r in lines() if not (r["kind"] == "scenario" and r["target"] == "spinner"
                                           and r["mode"] == "signal_no_ipi")]
        with tempfile.TemporaryDirectory() as tmp:
            r = run_check(write(tmp, recs), tmp)
            self.assertEqual(r.returncode, 1)
            self.assertIn("no headline", r.stderr)

    def test_no_env_record_is_an_error(self):
        recs = [r for r in lines() if r["kind"] != "env"]
        with tempfile.TemporaryDirectory() as tmp:
            r = run_check(write(tmp, recs), tmp)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("no twa-bench output", r.stderr)


if __name__ == "__main__":
    unittest.main()
