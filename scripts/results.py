#!/usr/bin/env python3
"""make test's results as one KCIDB I/O document (kernelci/kcidb-io, v4.5).

  results.py --out FILE --commit SHA [--branch B] --steps STEPS [--runs-dir DIR]
      write FILE: one checkout (the commit), one build per kernel (plus
      "host" for steps run on no kernel), and a test per step and per finer
      result the boots brought back; print a one-line summary to stderr.
  results.py --check FILE
      check FILE's shape (below) with no third-party library; exit 1 and
      name each problem if it is wrong.

Origin: "twa_noipi". The schema allows only [a-z0-9_] in an origin, and
every id starts with the origin and a colon: "twa_noipi:...".

STEPS: what test.sh appends as each step ends, one record a line, seven
tab-separated fields (blank lines and lines starting with "#" are ignored):

  KIND  KERNEL  NAME  STATUS  START  SECONDS  EXTRA

  KIND     check   a step of its own: a test at path NAME (make check,
                   the host unit tests, a build root)
           build   KERNEL's build: its KCIDB build (valid: STATUS is PASS);
                   with KERNEL "-", a test at path NAME, as check
           boot    a QEMU boot; NAME is its run name (qemu-run.sh --name),
                   its results are read from DIR/KERNEL/runs/NAME/
           kunit   a KUnit-only boot (kunit.sh): as boot, path "kunit"
           dkms    as check, on KERNEL (NAME: the path, e.g. "dkms")
  KERNEL   the kernel's name (kernels/NAME.conf), "-" for a host step
  NAME     a path or a run name, as above: letters, digits, "_", "-", "."
           (anything else becomes "_")
  STATUS   PASS, FAIL, ERROR, SKIP, or MISS (the step was due and never
           ran, e.g. the boots of a kernel whose build failed)
  START    when the step started, seconds since the epoch ("-": unknown)
  SECONDS  how long it took ("-": unknown)
  EXTRA    key=value pairs separated by ";" (no tab, no ";" in a value;
           "-" or empty: none). Known keys:
             arch=x86_64|arm64    build: the architecture (default: ARCH
                                  in DIR/KERNEL/manifest)
             compiler=gcc-12 12.2.0  build: the compiler (default: the
                                  manifest's COMPILER, the kernel's
                                  CONFIG_CC_VERSION_TEXT)
             config=F1 F2         build: its config fragments (default:
                                  the kernel's name)
             progs=A B            boot: the guest programs it was to run
                                  (default: those result.txt names)
             path=P               boot: the path its tests go under
                                  (default: "guest" for the run "tests",
                                  "kunit" for KIND kunit, else NAME)
             log=FILE             the step's log; a failure's excerpt comes
                                  from its FAIL/error lines
             desc=TEXT            the step's name as test.sh prints it
                                  (the object's comment)
           any other key goes into the object's misc.

A boot gives the tests PATH (the boot's verdict, STATUS), and from
DIR/KERNEL/runs/NAME/ where they are:
  PATH.PROG          each guest program: result.txt's "test PROG rc=N":
                     0 PASS, 77 SKIP, 1 FAIL, "no such program" ERROR,
                     other FAIL; no rc line: MISS
  PATH.PROG.CHECK    each "ok N - what" / "not ok N - what" line (TAP) of
                     the program's output, CHECK made from "what"
  PATH.PROG.S.C      GoogleTest XML (files/PROG/*.xml): each test case
  kunit.SUITE[.CASE] files/kunit/SUITE.ktap: each suite and its cases
                     ("    ok N name", "    not ok N name", "# SKIP");
                     a boot that ran kunit and brought no KTAP: kunit MISS
  bench.T.M.I.F      files/twa-bench/bench.jsonl: each supported scenario's
                     IPIs per item and latency p50, status DONE; one that
                     ran twa-bench and brought none: bench MISS
  PATH.insmod, PATH.rmmod, PATH.kmemleak   from result.txt
A boot with STATUS MISS gives PATH and each of its programs MISS.

Check (--check, and on every document written): the top-level keys, the
version (major 4), each object's required keys and no unknown one, ids
starting with "ORIGIN:" and unique, checkout_id and build_id naming an
object in the document, statuses, DONE having number {value, unit},
numbers being numbers, start times in RFC 3339, paths' characters,
40-hex commit hashes, log excerpts no longer than the schema allows.
"""

import argparse
import datetime
import json
import os
import platform
import re
import sys
import xml.etree.ElementTree as ET

ORIGIN = "twa_noipi"
VERSION = {"major": 4, "minor": 5}
STATUSES = ("FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP")  # schema's priority order
KINDS = ("check", "build", "boot", "kunit", "dkms")
EXCERPT_MAX = 4000  # ours; the schema allows 16384
SCHEMA_EXCERPT_MAX = 16384

# The properties kcidb-io v4.5 allows on each object.
CHECKOUT_KEYS = {
    "_timestamp", "id", "origin", "tree_name", "git_repository_url",
    "git_commit_hash", "git_commit_name", "git_commit_tags",
    "git_commit_message", "git_repository_branch", "git_repository_branch_tip",
    "patchset_files", "patchset_hash", "message_id", "comment", "start_time",
    "contacts", "log_url", "log_excerpt", "valid", "misc"}
BUILD_KEYS = {
    "_timestamp", "checkout_id", "id", "origin", "comment", "start_time",
    "duration", "architecture", "command", "compiler", "input_files",
    "output_files", "config_name", "config_url", "log_url", "log_excerpt",
    "valid", "misc"}
TEST_KEYS = {
    "_timestamp", "build_id", "id", "origin", "environment", "path", "comment",
    "log_url", "log_excerpt", "status", "number", "waived", "start_time",
    "duration", "output_files", "misc"}
TOP_KEYS = {"version", "checkouts", "builds", "tests", "issues", "incidents"}

ID_RE = re.compile(r"^[a-z0-9_]+:.*$")
ORIGIN_RE = re.compile(r"^[a-z0-9_]+$")
PATH_RE = re.compile(r"^[.a-zA-Z0-9_-]*$")
ARCH_RE = re.compile(r"^[a-z0-9_]*$")
HASH_RE = re.compile(r"^[0-9a-f]{40}$")
RFC3339_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")

TAP_RE = re.compile(r"^(not ok|ok) (\d+)(?: -)? ?(.*)$")
KTAP_CASE_RE = re.compile(r"^(?:    |\t)(not ok|ok) (\d+)(?: -)? (.*?)\s*$")
KTAP_SUITE_RE = re.compile(r"^(not ok|ok) (\d+)(?: -)? (.*?)\s*$")
KTAP_DIAG_RE = re.compile(r"^(?:    |\t)# (.*)$")
KTAP_PLAN_RE = re.compile(r"^(?:    |\t)1\.\.(\d+)\s*$")


def slug(text, limit=80):
    """TEXT as one path element: no dots, only the schema's characters."""
    text = re.sub(r"\([^)]*\)", "", text)  # counts in parentheses vary run to run
    text = re.sub(r"[^a-zA-Z0-9_-]+", "_", text).strip("_")
    return text[:limit].rstrip("_") or "_"


def clean_path(text):
    """A dotted path with only the schema's characters."""
    return ".".join(slug(p) for p in text.split(".") if p) or "_"


def rfc3339(epoch):
    t = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")


def excerpt(lines, limit=EXCERPT_MAX):
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    return text if len(text) <= limit else "..." + text[-(limit - 3):]


def read_lines(path):
    try:
        with open(path, errors="replace") as f:
            return [line.rstrip("\r\n").replace("\r", "") for line in f]
    except OSError:
        return None


def log_excerpt(path):
    """A failed step's log: its FAIL/error lines, else its tail."""
    lines = read_lines(path) if path else None
    if not lines:
        return None
    why = [line for line in lines
           if re.search(r": FAIL[:( ]|^\[twa\] error:|\berror:|FAILED", line)]
    return excerpt(why[:20] or lines[-20:])


# --- the steps file -------------------------------------------------------

class Step:
    def __init__(self, kind, kernel, name, status, start, secs, extra, where):
        self.kind, self.kernel, self.name, self.status = kind, kernel, name, status
        self.start, self.secs, self.extra, self.where = start, secs, extra, where


def parse_steps(path, warn):
    steps = []
    with open(path, errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            where = "%s:%d" % (path, n)
            fields = line.split("\t")
            if len(fields) == 6:
                fields.append("")
            if len(fields) != 7:
                warn("%s: %d fields, not 7: skipped" % (where, len(fields)))
                continue
            kind, kernel, name, status, start, secs, extra = (x.strip() for x in fields)
            if kind not in KINDS:
                warn("%s: unknown KIND %r: skipped" % (where, kind))
                continue
            if status not in STATUSES or status == "DONE":
                warn("%s: unknown STATUS %r: skipped" % (where, status))
                continue
            try:
                start = None if start in ("", "-") else float(start)
                secs = None if secs in ("", "-") else float(secs)
            except ValueError:
                warn("%s: START or SECONDS is not a number: skipped" % where)
                continue
            pairs = {}
            for item in ([] if extra in ("", "-") else extra.split(";")):
                if not item.strip():
                    continue
                key, eq, val = item.partition("=")
                if not eq:
                    warn("%s: EXTRA item %r has no '=': ignored" % (where, item))
                    continue
                pairs[key.strip()] = val.strip()
            steps.append(Step(kind, kernel or "-", name, status, start, secs, pairs, where))
    return steps


# --- what a kernel's build directory says ----------------------------------

def kernel_env(runs_dir, kernel):
    """The kernel's manifest (scripts/prepare-kernel.sh), as a dict."""
    env = {}
    for line in read_lines(os.path.join(runs_dir, kernel, "manifest")) or []:
        key, eq, val = line.partition("=")
        if eq:
            env[key.strip()] = val.strip().strip('"')
    return env


def kernel_compiler(env):
    """The manifest's COMPILER (the kernel's CONFIG_CC_VERSION_TEXT),
    "x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0", as "gcc-16 16.2.0"."""
    text = env.get("COMPILER")
    if text:
        words = text.split() or [""]
        name = next((w for w in words if re.search(r"gcc|clang", w)), words[0])
        name = re.sub(r"^[a-z0-9_]+-linux-gnu[a-z]*-", "", name)
        tail = text.rpartition(")")[2] if "gcc" in name else text
        ver = re.findall(r"\d+\.\d+(?:\.\d+)?", tail) or re.findall(r"\d+\.\d+(?:\.\d+)?", text)
        return " ".join([name] + ver[:1]).strip() or None
    return None


def host_misc():
    misc = {"host_arch": platform.machine(), "host_kernel": platform.release()}
    try:
        misc["host_nproc"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        misc["host_nproc"] = os.cpu_count()
    for line in read_lines("/proc/cpuinfo") or []:
        key, _, val = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware") and val.strip():
            misc["host_cpu"] = val.strip()
            break
    return misc


def arch_name(arch):
    return {"aarch64": "arm64", "amd64": "x86_64"}.get(arch, arch)


# --- the document ----------------------------------------------------------

class Results:
    def __init__(self, commit, branch, runs_dir, warn):
        self.short = commit[:12]
        self.runs_dir, self.warn = runs_dir, warn
        self.checkout = {"id": "%s:%s" % (ORIGIN, commit), "origin": ORIGIN,
                         "git_commit_hash": commit, "valid": True, "misc": host_misc()}
        if branch:
            self.checkout["git_repository_branch"] = branch
        self.builds = {}  # kernel ("-": the host) -> build
        self.tests = []
        self.test_ids = set()

    def build(self, kernel):
        """KERNEL's build, made (with what its directory says) if new."""
        b = self.builds.get(kernel)
        if b is None:
            host = kernel == "-"
            b = {"id": "%s:%s-%s" % (ORIGIN, "host" if host else kernel, self.short),
                 "checkout_id": self.checkout["id"], "origin": ORIGIN}
            if host:
                b.update(architecture=arch_name(platform.machine()), config_name="host",
                         comment="the host's own steps (no kernel)")
            else:
                env = kernel_env(self.runs_dir, kernel)
                if env.get("ARCH"):
                    b["architecture"] = arch_name(env["ARCH"])
                cc = kernel_compiler(env)
                if cc:
                    b["compiler"] = cc
                b["config_name"] = kernel
                if env.get("KRELEASE"):
                    b["misc"] = {"kernel_release": env["KRELEASE"]}
            self.builds[kernel] = b
        return b

    def test(self, step, path, status, run=None, **extra):
        """A test of STEP's build at PATH; the id names the run too."""
        bid = self.build(step.kernel)["id"]
        path = clean_path(path)
        base = "%s:%s%s" % (bid, run + ":" if run else "", path)
        tid, n = base, 1
        while tid in self.test_ids:
            n += 1
            tid = "%s#%d" % (base, n)
        self.test_ids.add(tid)
        t = {"id": tid, "build_id": bid, "origin": ORIGIN, "path": path, "status": status}
        if step.start is not None:
            t["start_time"] = rfc3339(step.start)
        for key, val in extra.items():
            if val is not None and val != {} and val != "":
                t[key] = val
        self.tests.append(t)
        return t

    def add(self, step):
        x = dict(step.extra)
        desc, logf = x.pop("desc", None), x.pop("log", None)
        why = log_excerpt(logf) if step.status in ("FAIL", "ERROR") else None
        if step.kind == "build" and step.kernel != "-":
            b = self.build(step.kernel)
            if "arch" in x:
                b["architecture"] = arch_name(x.pop("arch"))
            if "compiler" in x:
                b["compiler"] = x.pop("compiler")
            if "config" in x:
                b["config_name"] = x.pop("config")
            b["valid"] = step.status == "PASS"
            if step.start is not None:
                b["start_time"] = rfc3339(step.start)
            if step.secs is not None:
                b["duration"] = step.secs
            if desc:
                b["comment"] = desc
            if why:
                b["log_excerpt"] = why
            if x:
                b.setdefault("misc", {}).update(x)
        elif step.kind in ("boot", "kunit"):
            self.add_boot(step, x, desc, why)
        else:
            self.test(step, step.name or step.kind, step.status, duration=step.secs,
                      comment=desc, log_excerpt=why, misc=x)

    # --- a boot and what it brought back

    def add_boot(self, step, x, desc, why):
        run = slug(step.name or step.kind)
        default = "kunit" if step.kind == "kunit" else ("guest" if run == "tests" else run)
        prefix = clean_path(x.pop("path", default))
        out = os.path.join(self.runs_dir, step.kernel, "runs", run)
        result = read_lines(os.path.join(out, "result.txt")) if step.status != "MISS" else None
        if step.status in ("FAIL", "ERROR") and not why and result:
            why = excerpt(result[-20:])
        # A boot booted twice (the first crashed in the emulator: qemu-run.sh)
        # says so, with the first console's name.
        rebooted = read_lines(os.path.join(out, "rebooted"))
        if rebooted:
            x["rebooted"] = rebooted[0]
            x["first_console"] = os.path.join(out, "console.1.log")
        progs = x.pop("progs", "").split()
        if not progs and result:
            progs = [m.group(1) for m in map(re.compile(r"^test (\S+) begin$").match, result) if m]
        if not progs and step.kind == "kunit":
            progs = ["kunit"]
        self.test(step, prefix, step.status, run, duration=step.secs, comment=desc,
                  log_excerpt=why, misc=x)
        for prog in progs:
            # A kunit-only boot's one program is the boot: no test of its own.
            own = prog != prefix
            self.add_prog(step, run, out, result, prog, "%s.%s" % (prefix, prog) if own else prefix, own)
        if result and progs:
            self.add_module_checks(step, run, result, prefix)

    def add_prog(self, step, run, out, result, prog, ppath, own=True):
        section, rc, secs = [], None, None
        if result:
            begin, end = "test %s begin" % prog, re.compile(r"^test %s rc=(\d+) secs=(\S+)$" % re.escape(prog))
            inside = False
            for line in result:
                if line == begin:
                    inside, section = True, []
                    continue
                m = end.match(line) if inside else None
                if m:
                    inside, rc = False, int(m.group(1))
                    try:
                        secs = float(m.group(2))
                    except ValueError:
                        pass
                elif inside:
                    section.append(line)
        if rc is None:
            status = "MISS"
        elif rc == 0:
            status = "PASS"
        elif rc == 77:
            status = "SKIP"
        elif any(line.startswith("no such program:") for line in section):
            status = "ERROR"
        else:
            status = "FAIL"
        if own:
            fail = excerpt([line for line in section if line.strip()][-25:]) \
                if status in ("FAIL", "ERROR") else None
            self.test(step, ppath, status, run, duration=secs, log_excerpt=fail)
        self.add_tap(step, run, section, ppath)  # what it said before it died, too
        if rc is None:
            return
        files = os.path.join(out, "files", prog)
        names = sorted(os.listdir(files)) if os.path.isdir(files) else []
        for name in names:
            if name.endswith(".xml"):
                self.add_gtest(step, run, os.path.join(files, name), ppath)
        if prog == "kunit":
            ktaps = [n for n in names if n.endswith(".ktap")]
            for name in ktaps:
                self.add_ktap(step, run, os.path.join(files, name))
            if not ktaps and ppath != "kunit":
                self.test(step, "kunit", "MISS", run, comment="no KTAP came back")
        if prog == "twa-bench":
            if "bench.jsonl" in names:
                self.add_bench(step, run, os.path.join(files, "bench.jsonl"))
            else:
                self.test(step, "bench", "MISS", run, comment="no bench.jsonl came back")

    def add_tap(self, step, run, section, ppath):
        for i, line in enumerate(section):
            m = TAP_RE.match(line)
            if not m:
                continue
            what, _, directive = m.group(3).partition(" # ")
            if directive.upper().startswith("SKIP"):
                status = "SKIP"
            else:
                status = "PASS" if m.group(1) == "ok" else "FAIL"
            notes = []
            for nxt in section[i + 1:i + 6]:
                if not nxt.startswith("# "):
                    break
                notes.append(nxt)
            self.test(step, "%s.%s" % (ppath, slug(what or m.group(2))), status, run,
                      comment=what or None,
                      log_excerpt=excerpt([line] + notes) if status == "FAIL" else None)

    def add_gtest(self, step, run, path, ppath):
        try:
            root = ET.parse(path).getroot()
        except (ET.ParseError, OSError) as e:
            self.test(step, ppath + ".gtest_xml", "ERROR", run,
                      log_excerpt="%s: %s" % (os.path.basename(path), e))
            return
        for case in root.iter("testcase"):
            suite, name = case.get("classname", "_"), case.get("name", "_")
            failures = case.findall("failure") + case.findall("error")
            if failures:
                status = "FAIL"
            elif (case.find("skipped") is not None or case.get("result") in ("skipped", "suppressed")
                  or case.get("status") == "notrun"):
                status = "SKIP"
            else:
                status = "PASS"
            try:
                secs = float(case.get("time", ""))
            except ValueError:
                secs = None
            msg = None
            if failures:
                msg = excerpt([(f.get("message") or f.text or "").strip() for f in failures])
            self.test(step, "%s.%s.%s" % (ppath, slug(suite.replace("/", "_")),
                                          slug(name.replace("/", "_"))),
                      status, run, duration=secs, log_excerpt=msg or None)

    def add_ktap(self, step, run, path):
        suite = slug(os.path.basename(path)[:-len(".ktap")])
        lines = read_lines(path) or []
        cases, diags, plan, verdict = 0, [], None, None
        failed = False
        for line in lines:
            m = KTAP_CASE_RE.match(line)
            if m:
                name, _, directive = m.group(3).partition(" # ")
                if directive.upper().startswith("SKIP"):
                    status = "SKIP"
                else:
                    status = "PASS" if m.group(1) == "ok" else "FAIL"
                failed = failed or status == "FAIL"
                cases += 1
                self.test(step, "kunit.%s.%s" % (suite, slug(name)), status, run,
                          log_excerpt=excerpt(diags[-20:] + [line.strip()]) if status == "FAIL" else None)
                diags = []
                continue
            m = KTAP_DIAG_RE.match(line)
            if m and not m.group(1).startswith("Subtest:"):
                diags.append(m.group(1))
                continue
            m = KTAP_PLAN_RE.match(line)
            if m:
                plan = int(m.group(1))
                continue
            m = KTAP_SUITE_RE.match(line)
            if m:
                verdict = m.group(1), m.group(3)
        if verdict and " # SKIP" in verdict[1].upper():
            status = "SKIP"
        elif failed or (verdict and verdict[0] == "not ok") or (plan is not None and cases < plan):
            status = "FAIL"
        elif not cases:
            status = "MISS" if not lines else "ERROR"
        else:
            status = "PASS"
        why = None
        if status == "FAIL" and plan is not None and cases < plan:
            why = "%d of %d cases reported (crashed?)" % (cases, plan)
        elif status == "FAIL" and verdict:
            why = " ".join(verdict)
        self.test(step, "kunit.%s" % suite, status, run, log_excerpt=why)

    def add_bench(self, step, run, path):
        # A scenario is measured once per round (the warm-up, round 0,
        # left out): each figure is the median of its rounds.
        values = {}
        for line in read_lines(path) or []:
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("kind") != "scenario" or not rec.get("supported", True) or rec.get("warmup"):
                continue
            base = "bench.%s.%s.%s" % tuple(slug(str(rec.get(k, "_")))
                                             for k in ("target", "mode", "impl"))
            figures = (("ipis_per_item", rec.get("ipis_per_item"), "IPI/item"),
                       ("latency_p50", (rec.get("latency_ns") or {}).get("p50"), "ns"))
            for fig, val, unit in figures:
                if isinstance(val, (int, float)) and not isinstance(val, bool) and val == val:
                    values.setdefault(("%s.%s" % (base, fig), unit), []).append(val)
        for (name, unit), vals in values.items():
            vals.sort()
            n = len(vals)
            med = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2.0
            self.test(step, name, "DONE", run, number={"value": med, "unit": unit})

    def add_module_checks(self, step, run, result, prefix):
        have = set(result)
        if "insmod ok" in have or "insmod failed" in have:
            self.test(step, prefix + ".insmod", "PASS" if "insmod ok" in have else "FAIL", run)
            if "insmod ok" in have:
                rm = "PASS" if "rmmod ok" in have else ("FAIL" if "rmmod failed" in have else "MISS")
                self.test(step, prefix + ".rmmod", rm, run)
        if "kmemleak-hit" in have:
            self.test(step, prefix + ".kmemleak", "FAIL", run)
        elif any(line.startswith("kmemleak clean") for line in result):
            self.test(step, prefix + ".kmemleak", "PASS", run)

    def document(self, steps):
        starts = [s.start for s in steps if s.start is not None]
        if starts:
            self.checkout["start_time"] = rfc3339(min(starts))
        return {"version": dict(VERSION), "checkouts": [self.checkout],
                "builds": list(self.builds.values()), "tests": self.tests}


# --- --check ----------------------------------------------------------------

def is_rfc3339(text):
    m = RFC3339_RE.match(text) if isinstance(text, str) else None
    if not m:
        return False
    try:
        datetime.datetime(*(int(m.group(i)) for i in range(1, 6)), min(int(m.group(6)), 59))
    except ValueError:
        return False
    return m.group(8) in "Zz" or (int(m.group(8)[1:3]) < 24 and int(m.group(8)[4:]) < 60)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check(doc):
    """The problems with DOC's shape, as a list of strings (empty: none)."""
    problems = []
    say = problems.append
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"]
    for key in set(doc) - TOP_KEYS:
        say("unknown top-level key %r" % key)
    ver = doc.get("version")
    if not isinstance(ver, dict) or ver.get("major") != 4 or not isinstance(ver.get("major"), int):
        say("version: want {\"major\": 4, ...}, have %r" % (ver,))
    elif "minor" in ver and (not isinstance(ver["minor"], int) or not 0 <= ver["minor"] <= 5):
        say("version: minor %r is not 0 to 5" % (ver["minor"],))
    elif set(ver) - {"major", "minor"}:
        say("version: unknown keys %s" % sorted(set(ver) - {"major", "minor"}))
    ids = {}
    kinds = (("checkouts", CHECKOUT_KEYS, ("id", "origin"), None),
             ("builds", BUILD_KEYS, ("checkout_id", "id", "origin"), ("checkout_id", "checkouts")),
             ("tests", TEST_KEYS, ("build_id", "id", "origin"), ("build_id", "builds")))
    for kind, allowed, required, _ in kinds:
        objs = doc.get(kind, [])
        ids[kind] = set()
        if not isinstance(objs, list):
            say("%s is not a list" % kind)
            doc[kind] = []
            continue
        for i, o in enumerate(objs):
            where = "%s[%d]" % (kind, i)
            if not isinstance(o, dict):
                say("%s is not an object" % where)
                continue
            where = "%s %s" % (kind[:-1], o.get("id", where))
            for key in required:
                if key not in o:
                    say("%s: no %s" % (where, key))
            for key in sorted(set(o) - allowed):
                say("%s: unknown key %r" % (where, key))
            for key, val in o.items():
                if val is None:
                    say("%s: %s is null" % (where, key))
            origin = o.get("origin")
            if "origin" in o and not (isinstance(origin, str) and ORIGIN_RE.match(origin)):
                say("%s: origin %r is not [a-z0-9_]+" % (where, origin))
            for key in ("id", "checkout_id", "build_id"):
                if key in o and not (isinstance(o[key], str) and ID_RE.match(o[key])):
                    say("%s: %s %r is not ORIGIN:..." % (where, key, o[key]))
            if isinstance(o.get("id"), str):
                if isinstance(origin, str) and not o["id"].startswith(origin + ":"):
                    say("%s: id does not start with its origin %r" % (where, origin))
                if o["id"] in ids[kind]:
                    say("%s: id is not unique" % where)
                ids[kind].add(o["id"])
            for key in ("start_time", "_timestamp"):
                if key in o and not is_rfc3339(o[key]):
                    say("%s: %s %r is not RFC 3339" % (where, key, o[key]))
            if "duration" in o and not (is_number(o["duration"]) and o["duration"] >= 0):
                say("%s: duration %r is not a number of seconds" % (where, o["duration"]))
            for key in ("valid", "waived", "git_repository_branch_tip"):
                if key in o and not isinstance(o[key], bool):
                    say("%s: %s %r is not true or false" % (where, key, o[key]))
            for key in ("misc", "environment"):
                if key in o and not isinstance(o[key], dict):
                    say("%s: %s is not an object" % (where, key))
            for key in ("comment", "log_excerpt", "path", "compiler", "config_name",
                        "architecture", "git_repository_branch", "tree_name"):
                if key in o and not isinstance(o[key], str):
                    say("%s: %s is not a string" % (where, key))
            if isinstance(o.get("log_excerpt"), str) and len(o["log_excerpt"]) > SCHEMA_EXCERPT_MAX:
                say("%s: log_excerpt is longer than %d" % (where, SCHEMA_EXCERPT_MAX))
            if "git_commit_hash" in o and not (isinstance(o["git_commit_hash"], str)
                                               and HASH_RE.match(o["git_commit_hash"])):
                say("%s: git_commit_hash %r is not 40 hex digits" % (where, o["git_commit_hash"]))
            if isinstance(o.get("architecture"), str) and not ARCH_RE.match(o["architecture"]):
                say("%s: architecture %r is not [a-z0-9_]*" % (where, o["architecture"]))
            if kind == "tests":
                check_test(o, where, say)
    for kind, _, _, ref in kinds:
        if not ref:
            continue
        key, target = ref
        for o in doc.get(kind, []):
            if isinstance(o, dict) and isinstance(o.get(key), str) and o[key] not in ids[target]:
                say("%s %s: %s %r names no object in %s" % (kind[:-1], o.get("id"), key, o[key], target))
    return problems


def check_test(t, where, say):
    if "status" not in t:
        say("%s: no status" % where)
    elif t["status"] not in STATUSES:
        say("%s: status %r is not one of %s" % (where, t["status"], ", ".join(STATUSES)))
    if "path" in t and isinstance(t["path"], str) and not PATH_RE.match(t["path"]):
        say("%s: path %r has characters other than [.a-zA-Z0-9_-]" % (where, t["path"]))
    num = t.get("number")
    if num is not None:
        if not isinstance(num, dict) or not is_number(num.get("value")):
            say("%s: number %r has no numeric value" % (where, num))
        elif set(num) - {"value", "unit", "prefix"}:
            say("%s: number has unknown keys %s" % (where, sorted(set(num) - {"value", "unit", "prefix"})))
        elif "prefix" in num and num["prefix"] not in ("metric", "binary"):
            say("%s: number prefix %r is not metric or binary" % (where, num["prefix"]))
    if t.get("status") == "DONE" and not (isinstance(num, dict) and is_number(num.get("value"))
                                          and isinstance(num.get("unit"), str)):
        say("%s: DONE without number {value, unit}" % where)


# --- main --------------------------------------------------------------------

def summary(doc):
    counts = {}
    for t in doc.get("tests", []):
        counts[t.get("status")] = counts.get(t.get("status"), 0) + 1
    by = ", ".join("%d %s" % (counts[s], s) for s in STATUSES if counts.get(s))
    return "%d checkout, %d builds, %d tests%s" % (
        len(doc.get("checkouts", [])), len(doc.get("builds", [])), len(doc.get("tests", [])),
        " (%s)" % by if by else "")


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="results.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__)
    ap.add_argument("--check", metavar="FILE", help="check FILE's shape; write nothing")
    ap.add_argument("--out", metavar="FILE", help="the KCIDB JSON to write")
    ap.add_argument("--commit", metavar="SHA", help="the full (40 hex digits) commit tested")
    ap.add_argument("--branch", metavar="B", help="its branch, if known")
    ap.add_argument("--steps", metavar="STEPS", help="the steps file test.sh appended to")
    ap.add_argument("--runs-dir", metavar="DIR", default="build",
                    help="where KERNEL/runs/RUN/ and KERNEL/manifest are (default: build)")
    a = ap.parse_args(argv)

    if a.check:
        try:
            with open(a.check) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print("results.py: %s: %s" % (a.check, e), file=sys.stderr)
            return 1
        problems = check(doc)
        for p in problems:
            print("results.py: %s: %s" % (a.check, p), file=sys.stderr)
        if problems:
            return 1
        print("results.py: %s: ok: %s" % (a.check, summary(doc)), file=sys.stderr)
        return 0

    if not (a.out and a.commit and a.steps):
        ap.error("--out, --commit and --steps are needed (or --check FILE)")
    commit = a.commit.strip().lower()
    if not HASH_RE.match(commit):
        ap.error("--commit: %r is not a full commit hash (git rev-parse HEAD)" % a.commit)

    def warn(msg):
        print("results.py: warning: %s" % msg, file=sys.stderr)

    try:
        steps = parse_steps(a.steps, warn)
    except OSError as e:
        print("results.py: %s" % e, file=sys.stderr)
        return 1
    res = Results(commit, a.branch, a.runs_dir, warn)
    for step in steps:
        res.add(step)
    doc = res.document(steps)
    problems = check(doc)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, a.out)
    for p in problems:
        print("results.py: %s: %s" % (a.out, p), file=sys.stderr)
    print("results.py: %s: %s%s" % (a.out, summary(doc), "; NOT VALID" if problems else ""),
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
