"""scripts/lib.sh's judgements that decide a boot's fate, on fixture
consoles: which crash is the emulator's (one more boot) and which is ours."""

import os
import subprocess
import tempfile
import unittest

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib.sh")

INIT_RAN = "[    0.0] Linux version 6.1.0\ntwa-guest: begin 6.1.0 cpus=2\n"
INT3 = ("[   41.2] Oops: int3: 0000 [#1] PREEMPT_RT SMP NOPTI\n"
        "[   41.2] RIP: 0010:__schedule+0x8fd/0x1400\n")
INT3_510 = "[    3.1] int3: 0000 [#1] SMP NOPTI\n"
BUG = "[   12.0] BUG: KASAN: slab-use-after-free in twa_item_run+0x10/0x40\n"
GPF = "[    1.5] general protection fault, probably for non-canonical address\n"


def crash(console, result="begin 6.1.0 cpus=2\n", arch="x86_64"):
    with tempfile.TemporaryDirectory() as d:
        c, r = os.path.join(d, "console.log"), os.path.join(d, "result.txt")
        with open(c, "w") as f:
            f.write(console)
        with open(r, "w") as f:
            f.write(result)
        out = subprocess.run(["bash", "-c", '. "$0" && emulator_crash "$1" "$2" "$3"', LIB, c, r, arch],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()


class EmulatorCrash(unittest.TestCase):
    def test_a_clean_boot_is_none(self):
        self.assertEqual(crash(INIT_RAN + "twa-guest: end\n"), "")

    def test_a_crash_before_init(self):
        self.assertEqual(crash("[    0.0] Linux version\n" + GPF, result=""),
                         "the kernel crashed before init ran")

    def test_an_int3_oops_after_init_is_the_emulators(self):
        self.assertIn("stale int3", crash(INIT_RAN + INT3))
        self.assertIn("stale int3", crash(INIT_RAN + INT3_510))

    def test_our_bugs_are_not(self):
        self.assertEqual(crash(INIT_RAN + BUG), "")
        self.assertEqual(crash(INIT_RAN + GPF), "")

    def test_int3_only_on_x86(self):
        self.assertEqual(crash(INIT_RAN + INT3, arch="arm64"), "")

    def test_a_word_int3_in_a_line_is_not_an_oops(self):
        self.assertEqual(crash(INIT_RAN + "twa: probe int3: 12 hits\n"), "")


if __name__ == "__main__":
    unittest.main()
