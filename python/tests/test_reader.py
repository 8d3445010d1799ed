"""Tests of ttu_run, the run-folder reader.

The run-folder tests read a real run: the folder in TTU_RUN_DIR, or else one made here by
`ttu demo` (the `ttu` on PATH, or TTU_BINARY). The malformed-file tests write small files.
Run from the repository: python3 -m unittest discover -s python/tests
"""

import math
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import unittest

try:
    import ttu_run  # installed (from the wheel)
except ImportError:  # from the repository: python/ttu_run
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    import ttu_run

_tmp = None
_run_dir = None


def run_dir():
    """A run folder made by the real binary (made once per test process)."""
    global _tmp, _run_dir
    if _run_dir is None:
        if os.environ.get("TTU_RUN_DIR"):
            _run_dir = pathlib.Path(os.environ["TTU_RUN_DIR"])
        else:
            binary = os.environ.get("TTU_BINARY") or shutil.which("ttu")
            if not binary:
                raise unittest.SkipTest("no run folder: set TTU_RUN_DIR, or put ttu on PATH (or set TTU_BINARY)")
            _tmp = tempfile.TemporaryDirectory()
            _run_dir = pathlib.Path(_tmp.name) / "demo"
            subprocess.run([binary, "demo", "--out", str(_run_dir), "--quiet"], check=True, cwd=_tmp.name,
                           stdout=subprocess.DEVNULL)
    return _run_dir


def tearDownModule():
    if _tmp is not None:
        _tmp.cleanup()


class DemoRunTests(unittest.TestCase):
    """What `ttu demo` writes, read back and checked against its own summary.json."""

    @classmethod
    def setUpClass(cls):
        cls.demo = ttu_run.read_run(run_dir())

    def test_summary_is_the_demo_s(self):
        s = self.demo.summary
        self.assertEqual(s["format"], "ttu-run-summary")
        self.assertIs(self.demo.simulated, True)
        self.assertIsInstance(s["calibration"]["alpha"], float)
        self.assertGreater(s["prompts"]["test"], 0)

    def test_generations_are_the_kept_texts_unsafe_first(self):
        g = self.demo.generations()
        self.assertGreater(len(g), 1000)
        flags = [r["unsafe"] for r in g]
        self.assertEqual(flags, sorted(flags, reverse=True), "unsafe rows first")
        self.assertEqual({r["stage"] for r in g}, {"training", "calibration", "test"})
        unsafe = self.demo.generations(only_unsafe=True)
        self.assertEqual(len(unsafe), flags.count(True))
        # The simulated generator's unsafe texts end with the lexicon's word.
        self.assertTrue(all(r["text"].startswith("[simulated]") and r["text"].endswith("damn") for r in unsafe))
        # Test truth: each test prompt observed unsafe at t has an unsafe generation t.
        test_unsafe = {(r["prompt_id"], r["index"]) for r in unsafe if r["stage"] == "test"}
        for o in self.demo.observations:
            if o["split"] == "test" and o["event"]:
                self.assertIn((o["id"], o["observed"]), test_unsafe)

    def test_predictions_cover_the_calibration_and_test_prompts(self):
        rows = self.demo.predictions
        by_split = {"calibration": 0, "test": 0}
        for r in rows:
            self.assertEqual(list(r), ["id", "p_hat", "split"])
            self.assertIsInstance(r["id"], str)
            self.assertIsInstance(r["p_hat"], float)
            self.assertTrue(0 <= r["p_hat"] <= 1, r)
            by_split[r["split"]] += 1
        self.assertEqual(by_split["calibration"], self.demo.summary["prompts"]["calibration"])
        self.assertEqual(by_split["test"], self.demo.summary["prompts"]["test"])

    def test_bounds_match_the_summary(self):
        b = self.demo.bounds
        test = self.demo.summary["test"]
        self.assertEqual(len(b), test["n"])
        lpb = [r["lpb"] for r in b]
        self.assertTrue(all(isinstance(x, float) and x >= 1 for x in lpb), lpb[:5])
        self.assertAlmostEqual(statistics.mean(lpb), test["mean_lpb"], places=6)
        self.assertAlmostEqual(statistics.median(lpb), test["median_lpb"], places=6)
        test_ids = {r["id"] for r in self.demo.predictions if r["split"] == "test"}
        self.assertEqual({r["id"] for r in b}, test_ids)

    def test_observations_are_survival_pairs(self):
        obs = self.demo.observations
        self.assertTrue(obs)
        for r in obs:
            self.assertIsInstance(r["cap"], int)
            self.assertIsInstance(r["observed"], int)
            self.assertIsInstance(r["event"], bool)
            self.assertLessEqual(r["observed"], r["cap"])
            if not r["event"]:
                self.assertEqual(r["observed"], r["cap"], r)
        test = [r for r in obs if r["split"] == "test"]
        evaluation = self.demo.evaluation
        if evaluation is None:
            self.assertEqual(test, [])
        else:
            self.assertEqual(len(test), evaluation["n"])
            self.assertEqual(evaluation, self.demo.summary["test"]["evaluation"])

    def test_plan_caps_are_what_was_observed(self):
        caps = {r["id"]: r["cap"] for r in self.demo.plan}
        for r in self.demo.observations:
            if r["split"] == "calibration":
                self.assertEqual(r["cap"], caps[r["id"]], r)

    def test_frames_when_pandas_is_installed(self):
        try:
            import pandas  # noqa: F401
        except ImportError:
            self.skipTest("pandas not installed (the ImportError is tested below)")
        f = self.demo.frames(["bounds", "observations"])
        self.assertEqual(list(f["bounds"].columns), ["id", "p_hat", "lpb"])
        self.assertEqual(len(f["bounds"]), len(self.demo.bounds))
        self.assertEqual(str(f["observations"]["event"].dtype), "bool")

    def test_frames_without_pandas_says_what_to_install(self):
        saved = sys.modules.get("pandas")
        sys.modules["pandas"] = None  # makes `import pandas` raise ImportError
        try:
            with self.assertRaisesRegex(ImportError, "needs pandas"):
                self.demo.frames()
        finally:
            if saved is None:
                del sys.modules["pandas"]
            else:
                sys.modules["pandas"] = saved


class FileErrorTests(unittest.TestCase):
    """Bad files fail with the file, line and field, as ttu's own readers do."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.path = pathlib.Path(self.dir.name)

    def write(self, name, text):
        p = self.path / name
        p.write_text(text, encoding="utf-8")
        return p

    def assertFileError(self, call, text):
        with self.assertRaises(ttu_run.TTUFileError) as cm:
            call()
        self.assertEqual(str(cm.exception), text)
        return cm.exception

    def test_typed_values_inf_and_empty(self):
        p = self.write("lpb.csv", 'id,p_hat,lpb\na,0.5,3\n"b,2",0,inf\n')
        self.assertEqual(ttu_run.read_bounds(p), [{"id": "a", "p_hat": 0.5, "lpb": 3.0},
                                                  {"id": "b,2", "p_hat": 0.0, "lpb": math.inf}])
        p = self.write("plan.csv", "id,p_hat,prior_quantile,pi,cap,note\na,0.1,4,,0,x\nb,0.2,inf,,2,\n")
        rows = ttu_run.read_table(p, ttu_run.PLAN)
        self.assertEqual(rows[0], {"id": "a", "p_hat": 0.1, "prior_quantile": 4.0, "pi": None, "cap": 0, "note": "x"})
        self.assertEqual(rows[1]["note"], None)
        self.assertIsInstance(rows[1]["cap"], int)

    def test_bad_number_names_file_line_and_field(self):
        p = self.write("obs.csv", "id,cap,observed,event\na,3,3,0\nb,2,x,1\n")
        e = self.assertFileError(lambda: ttu_run.read_observations(p), "%s:3: field 'observed': 'x' is not a whole number" % p)
        self.assertEqual((e.line, e.field), (3, "observed"))

    def test_line_numbers_count_quoted_line_breaks(self):
        p = self.write("pred.csv", 'id,p_hat\n"two\nlines",0.1\nc,0.2,9\n')
        self.assertFileError(lambda: ttu_run.read_predictions(p), "%s:4: expected 2 fields (id,p_hat), found 3" % p)

    def test_bad_flag(self):
        p = self.write("obs.csv", "id,cap,observed,event\na,3,3,2\n")
        self.assertFileError(lambda: ttu_run.read_observations(p), "%s:2: field 'event': '2' is not 0 or 1" % p)

    def test_missing_column(self):
        p = self.write("lpb.csv", "id,p_hat\na,0.5\n")
        self.assertFileError(lambda: ttu_run.read_bounds(p),
                             "%s:1: field 'lpb': missing column (expected columns: id,p_hat,lpb)" % p)

    def test_empty_id_and_blank_line(self):
        p = self.write("pred.csv", "id,p_hat\n,0.5\n")
        self.assertFileError(lambda: ttu_run.read_predictions(p), "%s:2: field 'id': empty id" % p)
        p = self.write("pred.csv", "id,p_hat\na,0.5\n\nb,0.1\n")
        self.assertFileError(lambda: ttu_run.read_predictions(p), "%s:3: blank line inside the data" % p)
        p = self.write("pred.csv", "id,p_hat\na,0.5\n\n")
        self.assertEqual(len(ttu_run.read_predictions(p)), 1)

    def test_nan_is_refused(self):
        p = self.write("pred.csv", "id,p_hat\na,nan\n")
        self.assertFileError(lambda: ttu_run.read_predictions(p), "%s:2: field 'p_hat': 'nan' is not a number" % p)

    def test_missing_file_in_a_run_folder(self):
        self.write("manifest.json", "{}")
        run = ttu_run.read_run(self.path)
        with self.assertRaises(ttu_run.MissingFileError) as cm:
            run.bounds
        self.assertIsInstance(cm.exception, FileNotFoundError)
        self.assertEqual(str(cm.exception), "%s: missing" % (self.path / "lpb_test.csv"))
        self.assertIsNone(run.evaluation)

    def test_not_a_run_folder(self):
        self.assertFileError(lambda: ttu_run.read_run(self.path),
                             "%s: not a ttu run folder (none of manifest.json, summary.json, run.json, lpb_test.csv)"
                             % self.path)
        with self.assertRaises(ttu_run.MissingFileError):
            ttu_run.read_run(self.path / "nothing")

    def test_json_inf_but_not_in_text(self):
        p = self.write("summary.json", '{"calibration": {"max_lpb": "inf"}, "riskiest": [{"prompt": "inf", "lpb": 2}]}')
        s = ttu_run.read_json(p)
        self.assertEqual(s["calibration"]["max_lpb"], math.inf)
        self.assertEqual(s["riskiest"][0]["prompt"], "inf")
        p = self.write("bad.json", '{"a": 1,\n "b": }')
        e = self.assertFileError(lambda: ttu_run.read_json(p), "%s:2: not JSON: Expecting value (column 7)" % p)
        self.assertEqual(e.line, 2)


if __name__ == "__main__":
    unittest.main()
