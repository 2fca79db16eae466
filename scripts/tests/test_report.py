"""Host tests of report.py on a captured bench.jsonl.

The fixtures are make test's short bench on Debian's 6.1.0-57-amd64 under
TCG: 20 items a scenario, two sweep points. 6.1-short.jsonl (2026-12-02)
has today's keys; 6.1-short-0.1.0.jsonl (2026-12-01) the deprecated ones
(docs/report.md, "Renamed keys"), which must stay readable until the next
release: keep it. 7.2-rounds.jsonl (2026-12-02) is the first three rounds
(the warm-up and rounds 1 and 2) of a `make run KERNEL=7.x` with 10 rounds
of 100 items on 7.2.13+deb14-amd64: rounds and the IPI tracepoints. These
tests judge the plumbing (what is read, what --check calls incomplete, what
the headline is computed from), never a figure's size.
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
ROUNDS_FIXTURE = os.path.join(ROOT, "userspace-tests", "fixtures", "bench", "7.2-rounds.jsonl")

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


def rounds_of(recs, n, scale=lambda r, rec: 1.0):
    """@recs as if measured in rounds 1..n (a warm-up round 0 too): each
    round's figures scaled by scale(round, record)."""
    out = []
    for rec in recs:
        if rec["kind"] in ("env", "osnoise", "ipi_tracepoints"):
            out.append(rec)
            continue
        for r in range(0, n + 1):
            x = json.loads(json.dumps(rec))
            x["round"], x["warmup"] = r, r == 0
            k = scale(r, x)
            for key in ("kick_ipis_per_item", "ipis_per_item", "queue_ns_per_item", "lost_ns_per_item",
                        "lost_ns_per_s", "ops_per_s"):
                if isinstance(x.get(key), (int, float)):
                    x[key] = x[key] * k
            for key in ("p50", "p90", "p99", "max"):
                if isinstance((x.get("latency_ns") or {}).get(key), (int, float)):
                    x["latency_ns"][key] = x["latency_ns"][key] * k
            if isinstance(x.get("target_lost"), dict):
                x["target_lost"]["lost_ns_per_item"] *= k
            out.append(x)
    return out


class Spread(unittest.TestCase):
    """The statistics every figure's interval comes from."""

    def test_median(self):
        self.assertEqual(report.median([3, 1, 2]), 2)
        self.assertEqual(report.median([4, 1, 2, 3]), 2.5)
        self.assertIsNone(report.median([]))

    def test_few_rounds_give_min_max(self):
        sp = report.spread([5, 1, 4, None, 2, 3])
        self.assertEqual((sp["median"], sp["lo"], sp["hi"], sp["rounds"]), (3, 1, 5, 5))
        self.assertEqual(sp["method"], "min-max")
        self.assertAlmostEqual(report.interval_coverage(5), 0.938)
        self.assertIsNone(report.spread([None]))

    def test_many_rounds_give_a_seeded_bootstrap(self):
        vals = list(range(1, 21))
        a, b = report.spread(vals), report.spread(vals)
        self.assertEqual(a["method"], "bootstrap")
        self.assertEqual((a["lo"], a["hi"]), (b["lo"], b["hi"]), "the same input, the same interval")
        self.assertLess(a["lo"], a["median"])
        self.assertGreater(a["hi"], a["median"])
        self.assertGreater(a["lo"], 1)
        self.assertLess(a["hi"], 20)

    def test_derived_figures_pair_rounds(self):
        a = {1: 10, 2: 20, 3: 30}
        b = {1: 1, 2: 2, 4: 4}
        self.assertEqual(report.paired(a, b, lambda x, y: x - y), {1: 9, 2: 18})
        self.assertEqual(report.paired({1: 1}, {1: 0}, lambda x, y: x / y), {})

    def test_rounds_of_boots_resample_the_boots(self):
        """Four boots of five rounds, each steady at its own level, one of
        them high: rounds resampled as if independent give an interval
        that never reaches the high boot's level (its five rounds are
        rarely half of a resample); resampling the boots first reaches it,
        as another run's boots may well do."""
        vals = {r: (100 + r % 3 if r <= 15 else 200 + r % 3) for r in range(1, 21)}
        try:
            flat = report.spread(vals)
            report.BOOT_OF_ROUND.update({r: (r - 1) // 5 for r in vals})
            boots = report.spread(vals)
        finally:
            report.BOOT_OF_ROUND.clear()
        self.assertEqual((flat["boots"], flat["method"]), (1, "bootstrap"))
        self.assertEqual((boots["boots"], boots["method"]), (4, "bootstrap over boots and rounds"))
        self.assertEqual(flat["median"], boots["median"])
        self.assertLess(flat["hi"], 110, "independent rounds: the high boot's level left out")
        self.assertGreater(boots["hi"], 150)
        self.assertLessEqual(boots["lo"], 101)
        self.assertIn("of 4 boots", report.interval_name(20, 4))

    def test_overlap(self):
        self.assertTrue(report.overlap({"lo": 1, "hi": 3}, {"lo": 3, "hi": 5}))
        self.assertFalse(report.overlap({"lo": 1, "hi": 2}, {"lo": 3, "hi": 5}))
        self.assertTrue(report.overlap(None, {"lo": 3, "hi": 5}))

    def test_samples_beyond_a_percentile_as_the_bench_takes_it(self):
        self.assertEqual(report.samples_above(200, 99), 2)
        self.assertEqual(report.samples_above(1000, 99), 10)
        self.assertEqual(report.samples_above(20, 99), 0)  # p99 of 20 is the max
        self.assertEqual(report.samples_above(4096, 50), 2047)
        self.assertEqual(report.samples_above(0, 50), 0)


class Rounds(unittest.TestCase):
    def build(self, recs):
        with tempfile.TemporaryDirectory() as tmp:
            path = write(tmp, recs)
            env, scenarios, uring, baselines, sweep, tracers = report.read_bench([path])
        return report.build_report(env, scenarios, uring, "tcg", baselines, sweep, tracers)

    def test_warmup_dropped_and_rounds_aggregated(self):
        rep = self.build(rounds_of(lines(), 5, lambda r, x: 100.0 if r == 0 else 1.0 + r / 100.0))
        self.assertEqual(rep["rounds"], 5)
        s = report.find(rep["scenarios"], "spinner", "signal", "native")
        one = next(x for x in lines() if x["kind"] == "scenario" and x.get("supported")
                   and (x["target"], x["mode"], x["impl"]) == ("spinner", "signal", "native"))
        self.assertEqual(s["items"], 5 * one["items"], "counts are summed over the rounds")
        self.assertEqual(s["rounds"], 5)
        sp = s["spread"]["latency_ns.p50"]
        self.assertEqual(sp["rounds"], 5, "the warm-up round is not one of them")
        self.assertAlmostEqual(sp["median"], one["latency_ns"]["p50"] * 1.03)
        self.assertAlmostEqual(sp["lo"], one["latency_ns"]["p50"] * 1.01)
        self.assertAlmostEqual(sp["hi"], one["latency_ns"]["p50"] * 1.05)
        self.assertAlmostEqual(s["latency_ns"]["p50"], sp["median"], msg="the key keeps its name")
        self.assertEqual(s["latency_samples"]["per_round"], one["items"])
        self.assertIn("p99", s["latency_samples"]["few"])
        self.assertEqual(len(s["latency_quantiles_band_ns"]), len(one["latency_quantiles_ns"]))

    def test_headline_has_intervals_from_rounds(self):
        rep = self.build(rounds_of(lines(), 5, lambda r, x: 1.0 + r / 100.0))
        h = rep["headline"]
        for k in ("ipis_saved_per_item", "target_ns_saved_per_item", "latency_p50_ns.ratio",
                  "latency_p99_ns.signal_no_ipi"):
            self.assertEqual(h["spread"][k]["rounds"], 5, k)
        self.assertIn("[", h["text"])
        self.assertIn("min-max of 5 rounds", h["text"])

    def test_a_saving_inside_the_noise_is_said_to_be(self):
        # signal and signal_no_ipi lose the same target time, give or take
        # each round's noise: the saving is within noise, not a number.
        def same_lost(r, x):
            if x["kind"] in ("sweep", "scenario"):
                if "lost_ns_per_item" in x:
                    x["lost_ns_per_item"] = 1000 + 100 * r
                if isinstance(x.get("target_lost"), dict):
                    x["target_lost"]["lost_ns_per_item"] = 1000 + 100 * r
            return 1.0
        rep = self.build(rounds_of(lines(), 5, same_lost))
        self.assertTrue(rep["headline"]["within_noise"]["target_ns_saved_per_item"])
        self.assertIn("target time per item within noise", rep["headline"]["text"])

    def test_differences_say_no_difference_where_intervals_overlap(self):
        rep = self.build(rounds_of(lines(), 5, lambda r, x: 1.0 + r / 10.0))
        diffs = rep["differences"]
        kick = next(d for d in diffs if d["target"] == "spinner" and d["figure"] == "kick IPIs/item"
                    and d["a"] == {"mode": "signal", "impl": "native"}
                    and d["b"] == {"mode": "signal_no_ipi", "impl": "native"})
        self.assertEqual(kick["verdict"], "differs")
        self.assertLess(kick["change"]["hi"], 0)
        # native and backport within each other's spread of rounds
        same = [d for d in diffs if d["a"]["impl"] == "native" and d["b"]["impl"] == "backport"
                and d["figure"] == "kick IPIs/item" and d["a"]["mode"] == "signal_no_ipi"]
        self.assertTrue(same)
        self.assertEqual(same[0]["verdict"], "no difference measured")
        md = report.markdown(rep)
        self.assertIn("no difference measured", md)

    def test_report_opens_with_headline_and_summary_tables(self):
        rep = self.build(rounds_of(lines(), 3))
        md = report.markdown(rep).splitlines()
        self.assertTrue(md[2].startswith("**"), md[2])
        first_table = next(i for i, x in enumerate(md) if x.startswith("| mode | impl |"))
        wide = next(i for i, x in enumerate(md) if x.startswith("| target | mode | impl | items | ran |"))
        self.assertLess(first_table, wide)
        self.assertIn("## spinner", md)


class Tracepoints(unittest.TestCase):
    def with_tracepoints(self, skew=0):
        recs = []
        for r in lines():
            r = json.loads(json.dumps(r))
            if r["kind"] == "scenario" and r.get("supported"):
                sent = r["sent"]
                total = sent["kick_ipi"] + sent["wake"] + sent["other"]
                r["tracepoints"] = {"total": total + skew, "res": total, "cal": skew,
                                    "kick_ipi": sent["kick_ipi"] + skew, "sites": []}
            recs.append(r)
        recs.append({"kind": "ipi_tracepoints", "available": True, "why": None})
        return recs

    def test_agreeing_counts_are_complete(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run_check(write(tmp, self.with_tracepoints()), tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(tmp, "6.1.0-57-amd64", "report.json")) as f:
                rep = json.load(f)
            self.assertTrue(rep["ipi_count_agreement"])
            self.assertTrue(all(a["agree"] for a in rep["ipi_count_agreement"]))
            with open(os.path.join(tmp, "6.1.0-57-amd64", "report.md")) as f:
                self.assertIn("IPIs counted three ways", f.read())

    def test_disagreeing_counts_fail_the_check(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run_check(write(tmp, self.with_tracepoints(skew=50)), tmp)
            self.assertEqual(r.returncode, 1)
            self.assertIn("IPI tracepoints counted", r.stderr)


class Captured72(unittest.TestCase):
    """A real run with rounds and the IPI tracepoints (7.2)."""

    def setUp(self):
        env, scenarios, uring, baselines, sweep, tracers = report.read_bench([ROUNDS_FIXTURE])
        self.env = env
        self.rep = report.build_report(env, scenarios, uring, "tcg", baselines, sweep, tracers)

    def test_the_warmup_is_dropped(self):
        self.assertGreater(self.env["warmup_records_dropped"], 0)
        self.assertEqual(self.rep["rounds"], 2)
        self.assertEqual(self.rep["intervals"]["method"], "min-max")
        for s in self.rep["scenarios"]:
            if s.get("supported"):
                self.assertEqual(s["rounds"], 2, (s["target"], s["mode"], s["impl"]))
                self.assertEqual(s["items"], 200)

    def test_tracepoints_agree_with_the_kprobes(self):
        self.assertTrue(self.rep["ipi_tracepoints"]["available"])
        agr = self.rep["ipi_count_agreement"]
        self.assertEqual(len(agr), len([s for s in self.rep["scenarios"] if s.get("supported")])
                         + len(self.rep["sweep"]))
        self.assertTrue(all(a["agree"] for a in agr), [a for a in agr if not a["agree"]])
        sig = report.find(self.rep["scenarios"], "spinner", "signal", "backport")
        self.assertEqual(sig["tracepoints"]["kick_ipi"], sig["sent"]["kick_ipi"])
        self.assertTrue(any("[twa_noipi]" in x["callsite"] for x in sig["tracepoints"]["sites"]),
                        "the backport's kick IPIs come from the module")
        nat = report.find(self.rep["scenarios"], "spinner", "signal", "native")
        self.assertTrue(any(x["callsite"] == "task_work_add" for x in nat["tracepoints"]["sites"]))

    def test_complete(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run_check(ROUNDS_FIXTURE, tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("check: complete", r.stdout)

    def test_headline_figures_have_intervals(self):
        h = self.rep["headline"]
        for k, v in h["spread"].items():
            self.assertEqual(v["rounds"], 2, k)
        self.assertIn("median of 2 rounds", h["text"])


class Boots(unittest.TestCase):
    """make run --boots: the rounds of each boot numbered on, so that a
    figure is the median over all boots' rounds; a file of other targets
    (the nohz boot) keeps its own numbering."""

    def test_two_boots_are_one_run_of_their_rounds(self):
        with tempfile.TemporaryDirectory() as tmp:
            recs = lines(ROUNDS_FIXTURE)
            nohz = [dict(r, argv=r["argv"] + ["--targets", "nohz"]) if r["kind"] == "env" else r
                    for r in recs]
            paths = []
            for name, rs in (("a", recs), ("b", recs), ("nohz", nohz)):
                os.mkdir(os.path.join(tmp, name))
                paths.append(write(os.path.join(tmp, name), rs))
            self.assertEqual(report.round_offsets(paths), ([0, 2, 0], [0, 1, 0], 2))
            env, scenarios, uring, baselines, sweep, tracers = report.read_bench(paths[:2])
            rep = report.build_report(env, scenarios, uring, "tcg", baselines, sweep, tracers)
        self.assertEqual((rep["rounds"], rep["boots"]), (4, 2))
        for s in rep["scenarios"]:
            if s.get("supported"):
                self.assertEqual((s["rounds"], s["items"]), (4, 400), (s["mode"], s["impl"]))
        self.assertIn("median of 4 rounds in 2 boots", rep["headline"]["text"])
        self.assertEqual(report.BOOT_OF_ROUND, {1: 0, 2: 0, 3: 1, 4: 1})
        self.assertEqual(rep["intervals"]["boots"], 2)


class Files(unittest.TestCase):
    def test_raw_output_and_machine_kept_beside_the_report(self):
        with tempfile.TemporaryDirectory() as tmp:
            mpath = os.path.join(tmp, "m.json")
            with open(mpath, "w") as f:
                json.dump({"qemu": "QEMU emulator version 7.2.x", "accel": "tcg,thread=multi",
                           "vcpus": 2, "host_cpu_model": "Some CPU", "command": "make run"}, f)
            out = os.path.join(tmp, "out")
            r = subprocess.run([sys.executable, REPORT, "--out", out, "--machine", mpath, FIXTURE],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            d = os.path.join(out, "6.1.0-57-amd64")
            with open(os.path.join(d, "bench.jsonl")) as f, open(FIXTURE) as g:
                self.assertEqual(f.read(), g.read())
            with open(os.path.join(d, "report.json")) as f:
                rep = json.load(f)
            self.assertEqual(rep["machine"]["qemu"], "QEMU emulator version 7.2.x")
            self.assertEqual(rep["raw"][0]["file"], "bench.jsonl")
            with open(os.path.join(d, "report.md")) as f:
                self.assertIn("Machine: QEMU emulator version 7.2.x", f.read())


class Compare(unittest.TestCase):
    def reports(self, tmp, scale_b):
        paths = []
        for i, scale in enumerate((lambda r, x: 1.0 + r / 100.0, scale_b)):
            with tempfile.TemporaryDirectory() as t2:
                bench = write(t2, rounds_of(lines(), 5, scale))
                env, scenarios, uring, baselines, sweep, tracers = report.read_bench([bench])
            rep = report.build_report(env, scenarios, uring, "tcg", baselines, sweep, tracers)
            paths.append(os.path.join(tmp, "r%d.json" % i))
            with open(paths[-1], "w") as f:
                json.dump(rep, f)
        return subprocess.run([sys.executable, REPORT, "--compare"] + paths,
                              capture_output=True, text=True)

    def test_two_close_runs_hold(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = self.reports(tmp, lambda r, x: 1.0 + r / 90.0)
            self.assertIn("| latency_p50_ns.signal |", r.stdout)
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertIn("compare: holds", r.stdout)

    def test_runs_far_apart_do_not(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = self.reports(tmp, lambda r, x: 3.0 + r / 100.0)
            self.assertEqual(r.returncode, 1)
            self.assertIn("NO", r.stdout)


if __name__ == "__main__":
    unittest.main()


class OtherCpus(unittest.TestCase):
    """make bench runs on the CPUs it picks: the prose names those."""

    def test_guest_cpus_unchanged(self):
        text = "from CPU 0 to a target on CPU 1"
        self.assertEqual(report.on_cpus(text, {"queue_cpu": 0, "target_cpu": 1}), text)

    def test_swapped_and_other_cpus(self):
        text = "from CPU 0 to a target on CPU 1; CPU 10 stays"
        self.assertEqual(report.on_cpus(text, {"queue_cpu": 1, "target_cpu": 0}),
                         "from CPU 1 to a target on CPU 0; CPU 10 stays")
        self.assertEqual(report.on_cpus(text, {"queue_cpu": 2, "target_cpu": 6}),
                         "from CPU 2 to a target on CPU 6; CPU 10 stays")


class HostMachine(unittest.TestCase):
    """make bench's machine section says what kind of figures these are."""

    def line(self, **m):
        return report.machine_line({"machine": dict(kind="host", **m), "accel": "host"})

    def test_bare_metal_tcg_and_vm(self):
        self.assertIn("bare metal: hardware figures", self.line(hypervisor="none", cpu_model="EPYC"))
        self.assertIn("QEMU TCG): not hardware figures",
                      self.line(hypervisor="kvm", cpu_model="QEMU TCG CPU version 2.5+"))
        self.assertIn("under kvm: that VM's figures", self.line(hypervisor="kvm", cpu_model="EPYC"))
        self.assertIn("nohz_full none", self.line(nohz_full="(null)"))
        self.assertEqual(report.note_for("host"), report.HOST_NOTE)
