"""Host tests of frontier.py, report.py's deadline frontier.

The fixture is the frontier of one make run on Debian's 6.1.0-57-amd64
under TCG (2026-12-02, a loaded host: its latencies are noise, which is
why no test here judges a figure's size, only what is read, what the
headline is computed from and what --check calls incomplete).
"""

import copy
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(ROOT, "userspace-tests", "fixtures", "bench", "6.1-frontier.jsonl")

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import frontier  # noqa: E402
import report  # noqa: E402


def summary(pts):
    return frontier.summary(pts, report.aggregate)


def point(rate, deadline, ipis, p99, queued=100, met=None, kicks=None, covered=None):
    p = {"offered_per_s": rate, "deadline_us": deadline, "queued": queued, "ran": queued,
         "all_kick_ipis_per_item": ipis, "latency_items": queued,
         "latency_ns": {"p50": p99 // 2, "p90": p99, "p99": p99}, "error": None}
    if deadline is not None:
        p.update(deadline_met=queued if met is None else met, deadline_kicks=kicks or 0,
                 deadline_covered=covered or 0)
    return p


class Frontier(unittest.TestCase):
    def test_reads_every_point_of_the_capture(self):
        pts = frontier.read([FIXTURE])
        self.assertEqual(len(pts), 18)  # 3 rates x 6 deadlines
        self.assertEqual({p["offered_per_s"] for p in pts}, {1000, 10000, None})
        self.assertEqual(sorted({p["deadline_us"] for p in pts}, key=lambda d: -1 if d is None else d),
                         [None, 0, 50, 500, 2000, 10000])
        self.assertEqual(frontier.check(summary(pts)), [])

    def test_rows_go_from_signal_to_no_ipi(self):
        rows = frontier.by_rate(frontier.read([FIXTURE]))
        for _, row in rows:
            self.assertEqual(row[0]["deadline_us"], 0)
            self.assertIsNone(row[-1]["deadline_us"])

    def test_cheapest_under_target_is_least_ipis_with_p99_below(self):
        pts = [point(1000, 0, 1.0, 50_000), point(1000, 500, 0.3, 700_000),
               point(1000, 2000, 0.1, 2_500_000), point(1000, None, 0.0, 4_000_000),
               point(0, 0, 1.0, 2_000_000)]
        c = frontier.cheapest_under(pts)
        self.assertEqual(c[0]["deadline_us"], 500)
        self.assertTrue(c[0]["found"])
        self.assertFalse(c[1]["found"])
        text = frontier.headline_text(summary(pts))
        self.assertIn("1000/s: 0.300 [0.300-0.300] kick IPIs per item (deadline 500 us", text)
        self.assertIn("back to back: no deadline measured keeps it", text)

    def test_rounds_are_aggregated_with_their_interval(self):
        pts = []
        for r, (ipis, p99) in enumerate([(0.1, 900_000), (0.3, 500_000), (0.2, 700_000)], 1):
            p = point(1000, 500, ipis, p99, queued=10, met=4, kicks=3, covered=3)
            p["round"] = r
            pts.append(p)
        warm = point(1000, 500, 9.0, 9_000_000)
        warm.update(round=0, warmup=True)
        fr = summary(pts)
        self.assertEqual(fr["rounds"], 3)
        (p,) = fr["points"]
        self.assertEqual(p["queued"], 30)  # counts summed
        self.assertEqual(p["deadline_kicks"], 9)
        self.assertAlmostEqual(p["all_kick_ipis_per_item"], 0.2)  # figures: the median
        self.assertEqual(frontier.interval(p, "latency_ns.p99"), (500_000, 900_000))
        self.assertEqual(frontier.check(fr), [])
        self.assertIn("0.200 [0.100-0.300]", "\n".join(frontier.table(fr)))

    def test_check_says_what_is_incomplete(self):
        good = point(1000, 500, 0.3, 700_000, queued=10, met=4, kicks=3, covered=3)
        self.assertEqual(frontier.check({"points": [good]}), [])
        lost = copy.deepcopy(good)
        lost["ran"] = 9
        unbalanced = copy.deepcopy(good)
        unbalanced["deadline_covered"] = 2
        failed = copy.deepcopy(good)
        failed["error"] = "queue failed: errno 22"
        problems = frontier.check({"points": [lost, unbalanced, failed]})
        self.assertEqual(len(problems), 3, problems)
        self.assertIn("10 queued, 9 ran", problems[0])
        self.assertIn("9 met + kicked + covered", problems[1])
        self.assertIn("errno 22", problems[2])

    def test_markdown_has_the_table_and_headline(self):
        md = "\n".join(frontier.markdown(summary(frontier.read([FIXTURE]))))
        self.assertIn("## Deadline frontier", md)
        self.assertIn("| 1000/s | 0 (as signal) |", md)
        self.assertIn("| back to back | none (signal_no_ipi) |", md)


if __name__ == "__main__":
    unittest.main()
