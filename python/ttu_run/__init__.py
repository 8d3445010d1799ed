"""Reads a ttu run folder (what ``ttu run`` and ``ttu demo`` write) with the Python
standard library alone.

    >>> import ttu_run
    >>> run = ttu_run.read_run("runs/demo")
    >>> run.bounds[0]                          # lpb_test.csv, one dict per row
    {'id': 'd003', 'p_hat': 0.0015691967298532192, 'lpb': 51.0}
    >>> run.summary["calibration"]["alpha"]    # summary.json as a dict
    0.1
    >>> frames = run.frames()                  # the same tables as pandas DataFrames

Tables are lists of dicts, one per CSV row, keys in the file's column order, values
typed by column: ``id`` a str, counts (``cap``, ``observed``, ``n``, ``k``) ints,
rates and bounds (``p_hat``, ``lpb``, ``prior_quantile``, ``pi``) floats (``inf`` is
``math.inf``: an infinite bound), ``event`` a bool, and an empty field ``None``.
A column this reader does not know is typed from its values (int, else float, else str).
Every file is read when its attribute is first used, and read once.

Bad input is never guessed at: a missing file raises :class:`MissingFileError`, a
malformed one :class:`TTUFileError`, each naming the file (and line and field) the way
ttu itself does: ``runs/demo/lpb_test.csv:17: field 'lpb': 'abc' is not a number``.

The file formats are those of README.md ("From prompts to a report: ttu run").
"""

import csv
import json
import math
import os
import pathlib
import sqlite3

__all__ = [
    "read_run", "Run", "TTUFileError", "MissingFileError",
    "read_predictions", "read_bounds", "read_observations", "read_table", "read_json",
]

try:  # the wheel's version, which is ttu's (tools/make_wheel.py reads it from Sources/ttu/TTU.swift)
    from importlib.metadata import version as _version
    __version__ = _version("ttu")
except Exception:  # not installed from the wheel (e.g. python/ on PYTHONPATH)
    __version__ = None


class TTUFileError(ValueError):
    """A file of a run folder that is not what ttu writes: ``file:line: field 'x': message``."""

    def __init__(self, file, message, line=None, field=None):
        self.file, self.line, self.field, self.message = str(file), line, field, message
        where = self.file + (":%d" % line if line is not None else "")
        super().__init__(where + ": " + ("field '%s': " % field if field else "") + message)


class MissingFileError(TTUFileError, FileNotFoundError):
    """A file the run folder should hold is not there (also a FileNotFoundError)."""


# ---- column types -------------------------------------------------------------------

def _int(text):
    """A whole number, written as ``12`` or ``12.0`` (as ttu's reader accepts)."""
    try:
        return int(text)
    except ValueError:
        x = float(text)  # ValueError propagates: not a number
        if not math.isfinite(x) or x != int(x):
            raise ValueError("not a whole number")
        return int(x)


def _float(text):
    x = float(text)  # accepts inf / infinity, as ttu does
    if math.isnan(x):
        raise ValueError("NaN is not allowed")
    return x


def _flag(text):
    t = text.strip().lower()
    if t in ("1", "true"):
        return True
    if t in ("0", "false"):
        return False
    raise ValueError("expected 0 or 1")


_TYPES = {"int": _int, "float": _float, "flag": _flag}
_TYPE_WORDS = {"int": "a whole number", "float": "a number", "flag": "0 or 1"}

# Column -> type, for every column of the files below (README's table of stage outputs).
_COLUMNS = {
    "cap": "int", "observed": "int", "n": "int", "k": "int",
    "p_hat": "float", "lpb": "float", "prior_quantile": "float", "pi": "float", "p": "float",
    "event": "flag",
}

# The files of a run folder this module reads, with the columns each must have.
PREDICTIONS = ("id", "p_hat")
BOUNDS = ("id", "p_hat", "lpb")
OBSERVATIONS = ("id", "cap", "observed", "event")
PLAN = ("id", "p_hat", "prior_quantile", "pi", "cap")
COUNTS = ("id", "n", "k")


def _infer(values):
    """The type of a column this module does not know: int, else float, else str."""
    present = [v for v in values if v != ""]
    for kind in ("int", "float"):
        try:
            for v in present:
                (int if kind == "int" else _float)(v)
            return kind
        except ValueError:
            continue
    return None


def read_table(path, columns=None):
    """Reads one CSV file ttu wrote into a list of dicts (typed as the module doc says).

    ``columns``: the columns the file must have (any order); others are kept. A row with
    the wrong number of fields, a blank line inside the data, an empty id or a value that
    does not parse raises :class:`TTUFileError` with the file, line and field.
    """
    path = pathlib.Path(path)
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise MissingFileError(path, "missing") from None
    except OSError as e:
        raise TTUFileError(path, "cannot read: %s" % e.strerror) from None
    with f:
        reader = csv.reader(f, strict=True)
        raw = []  # (line, fields)
        try:
            header = next(reader, None)
            if not header or header == [""] * len(header):
                raise TTUFileError(path, "empty file or blank first line: expected a header line", line=1)
            header = [h.strip() for h in header]
            line = reader.line_num + 1
            blank_at = None
            for fields in reader:
                if not fields:  # a blank line: allowed only at the very end
                    blank_at = blank_at or line
                elif blank_at is not None:
                    raise TTUFileError(path, "blank line inside the data", line=blank_at)
                else:
                    raw.append((line, fields))
                line = reader.line_num + 1
        except csv.Error as e:
            raise TTUFileError(path, "not CSV as ttu writes it: %s" % e, line=reader.line_num) from None
        except UnicodeDecodeError:
            raise TTUFileError(path, "not UTF-8 text") from None
    seen = set()
    for name in header:
        if name in seen:
            raise TTUFileError(path, "column appears twice in the header", line=1, field=name)
        seen.add(name)
    for name in columns or ():
        if name not in seen:
            raise TTUFileError(path, "missing column (expected columns: %s)" % ",".join(columns), line=1, field=name)
    kinds = []
    for j, name in enumerate(header):
        if name == "id":
            kinds.append("id")
        elif name in _COLUMNS:
            kinds.append(_COLUMNS[name])
        else:
            kinds.append(_infer([fields[j] for _, fields in raw if len(fields) == len(header)]))
    rows = []
    for line, fields in raw:
        if len(fields) != len(header):
            raise TTUFileError(path, "expected %d fields (%s), found %d" % (len(header), ",".join(header), len(fields)),
                               line=line)
        row = {}
        for name, kind, text in zip(header, kinds, fields):
            if kind == "id":
                if not text.strip():
                    raise TTUFileError(path, "empty id", line=line, field=name)
                row[name] = text
            elif text.strip() == "":
                row[name] = None
            elif kind is None:
                row[name] = text
            else:
                try:
                    row[name] = _TYPES[kind](text.strip())
                except ValueError:
                    raise TTUFileError(path, "'%s' is not %s" % (text, _TYPE_WORDS[kind]), line=line, field=name) from None
        rows.append(row)
    return rows


def read_predictions(path):
    """``predictions.csv`` (``id,p_hat``), as ``ttu predict`` writes it."""
    return read_table(path, PREDICTIONS)


def read_bounds(path):
    """``lpb.csv`` (``id,p_hat,lpb``), as ``ttu bound`` writes it; ``lpb`` is ``inf`` when unbounded."""
    return read_table(path, BOUNDS)


def read_observations(path):
    """``observations.csv`` (``id,cap,observed,event``), as ``ttu collect`` writes it."""
    return read_table(path, OBSERVATIONS)


# JSON: ttu writes an infinite number as the string "inf" ("-inf", "nan"). Those become
# floats, except under keys that hold text (a prompt may be the word "inf").
_TEXT_KEYS = {
    "id", "prompt", "title", "statement", "generator", "model", "rater", "format", "guarantee", "bound",
    "strategy", "max_weight_choice", "form", "features", "feature_detail", "stage", "api", "endpoints",
    "sampling", "rater_kind", "rater_endpoint", "rater_model", "rater_category", "weight_choice", "inequality",
}
_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _numbers(value, key=None):
    if key in _TEXT_KEYS:
        return value
    if isinstance(value, dict):
        return {k: _numbers(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v, key) for v in value]
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    return value


def read_json(path):
    """A JSON file ttu wrote, as a dict (``"inf"`` in a number's place becomes ``math.inf``)."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingFileError(path, "missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise TTUFileError(path, "cannot read: %s" % e) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise TTUFileError(path, "not JSON: %s (column %d)" % (e.msg, e.colno), line=e.lineno) from None
    if not isinstance(value, dict):
        raise TTUFileError(path, "expected a JSON object, found %s" % type(value).__name__)
    return _numbers(value)


# ---- the run folder -----------------------------------------------------------------

class Run:
    """A run folder. Each attribute reads its files on first use (then keeps them):

    ``predictions``   predictions_calibration.csv + predictions_test.csv, with ``split``
    ``bounds``        lpb_test.csv (``id, p_hat, lpb``)
    ``observations``  calibration_obs.csv + test_obs.csv (if the run sampled test truth), with ``split``
    ``plan``          plan.csv; ``train_counts``: train_counts.csv
    ``summary``       summary.json; ``evaluation``: evaluation.json or None; ``calibration``: calibration.json
    ``generations()`` the generated texts of the sample logs, unsafe first (as ``ttu export``)
    """

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self._cache = {}

    def __repr__(self):
        return "ttu_run.Run(%r)" % str(self.path)

    def file(self, name):
        """The path of one of the run's files."""
        return self.path / name

    def _once(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _split_tables(self, columns, parts, optional=()):
        rows = []
        for split, name in parts:
            if name in optional and not self.file(name).exists():
                continue
            for row in read_table(self.file(name), columns):
                row["split"] = split
                rows.append(row)
        return rows

    @property
    def predictions(self):
        return self._once("predictions", lambda: self._split_tables(
            PREDICTIONS, [("calibration", "predictions_calibration.csv"), ("test", "predictions_test.csv")]))

    @property
    def bounds(self):
        return self._once("bounds", lambda: read_table(self.file("lpb_test.csv"), BOUNDS))

    @property
    def observations(self):
        return self._once("observations", lambda: self._split_tables(
            OBSERVATIONS, [("calibration", "calibration_obs.csv"), ("test", "test_obs.csv")], optional=("test_obs.csv",)))

    @property
    def plan(self):
        return self._once("plan", lambda: read_table(self.file("plan.csv"), PLAN))

    @property
    def train_counts(self):
        return self._once("train_counts", lambda: read_table(self.file("train_counts.csv"), COUNTS))

    @property
    def summary(self):
        return self._once("summary", lambda: read_json(self.file("summary.json")))

    @property
    def calibration(self):
        return self._once("calibration", lambda: read_json(self.file("calibration.json")))

    @property
    def evaluation(self):
        """evaluation.json, or None when the run sampled no test truth."""
        path = self.file("evaluation.json")
        return self._once("evaluation", lambda: read_json(path) if path.exists() else None)

    @property
    def simulated(self):
        """True when any stage used the simulated generator (summary.json says so)."""
        return bool(self.summary.get("simulated"))

    LOGS = (("training", "train_counts.sqlite"), ("calibration", "calibration_obs.sqlite"), ("test", "test_obs.sqlite"))

    def generations(self, only_unsafe=False):
        """Every rated generation of the run's sample logs, as ``ttu export`` writes them:
        dicts ``stage, prompt_id, index, unsafe, score, text`` (``text`` None when the run
        kept scores only), the unsafe ones first (or alone), then by stage, prompt, index.
        Read from SQLite each call (a log can hold millions of rows: filter here)."""
        logs = [(stage, self.file(name)) for stage, name in self.LOGS if self.file(name).exists()]
        if not logs:
            raise MissingFileError(self.path, "no sample logs (train_counts.sqlite, calibration_obs.sqlite, test_obs.sqlite)")
        out = []
        for unsafe in ((1,) if only_unsafe else (1, 0)):
            for stage, path in logs:
                try:
                    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
                    try:
                        rows = db.execute("SELECT prompt_id, idx, score, text FROM generations WHERE unsafe = ? "
                                          "ORDER BY prompt_id, idx", (unsafe,)).fetchall()
                    finally:
                        db.close()
                except sqlite3.DatabaseError as e:
                    raise TTUFileError(path, "not a ttu sample log (%s)" % e) from None
                out += [{"stage": stage, "prompt_id": p, "index": i, "unsafe": bool(unsafe), "score": float(sc), "text": t}
                        for p, i, sc, t in rows]
        return out

    TABLES = ("predictions", "bounds", "observations", "plan", "train_counts")

    def frames(self, tables=None):
        """The tables as pandas DataFrames (``{name: DataFrame}``); needs pandas."""
        try:
            import pandas
        except ImportError:
            raise ImportError("Run.frames() needs pandas (pip install pandas); the tables themselves "
                              "are plain lists of dicts: run.predictions, run.bounds, ...") from None
        out = {}
        for name in tables or self.TABLES:
            if name not in self.TABLES:
                raise ValueError("no table %r (tables: %s)" % (name, ", ".join(self.TABLES)))
            rows = getattr(self, name)
            out[name] = pandas.DataFrame.from_records(rows, columns=list(rows[0]) if rows else None)
        return out


def read_run(path):
    """The run folder at ``path`` (files are read when first used, see :class:`Run`)."""
    p = pathlib.Path(os.fspath(path))
    if not p.is_dir():
        raise MissingFileError(p, "no such run folder" if not p.exists() else "not a folder")
    if not any((p / name).exists() for name in ("manifest.json", "summary.json", "run.json", "lpb_test.csv")):
        raise TTUFileError(p, "not a ttu run folder (none of manifest.json, summary.json, run.json, lpb_test.csv)")
    return Run(p)
