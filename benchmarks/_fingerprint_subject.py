"""A user module of about 1,000 lines to fingerprint, and the fresh process that times it.

Usage::

    python benchmarks/_fingerprint_subject.py write DIR          # writes DIR/fp_pipeline.py
    python benchmarks/_fingerprint_subject.py provenance DIR     # times code_fingerprint
    python benchmarks/_fingerprint_subject.py joblib DIR         # times joblib's code check

The module (:func:`module_text`) is the kind of file a pipeline lives in: a
decorated entry point, ``run_pipeline``, at the bottom; 20 helpers above it
that call each other as a binary tree (``step_00`` calls ``step_01`` and
``step_02``, which call ``step_03`` to ``step_06``...), so the entry point
reaches every one of them; module constants (numbers, tuples, and a settings
dict, which is covered by its assignment statement); a plain class and a
dataclass that some helpers use; docstrings and comments throughout.  Only
the standard library is imported, besides provenance.

A timing process imports provenance first (untimed: every process pays it,
whatever it then does), imports the module, then times the first call of
``provenance.fingerprint.code_fingerprint(module.run_pipeline)``, which reads
and parses the file, or of ``joblib.func_inspect.get_func_code`` on the same
undecorated function, which reads only the function's own lines.  It prints
one JSON object on stdout:

``first_s``
    The timed first call.
``again_s``
    (provenance) The same call again in the same process: the file is parsed
    already, so this is the walk alone.
``kept_s``
    (provenance) ``run_pipeline.code_fingerprint()`` once it has been made:
    what every later call of the decorated function pays.
``import_provenance_s``, ``import_module_s``
    What was left out: importing provenance (or joblib), then the module.
``parts``, ``helpers``, ``source_lines``
    (provenance) What the fingerprint covers: its parts, how many of the 20
    helpers are among them (all of them, or the benchmark fails), and the
    lines of normalized source.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

MODULE = "fp_pipeline"
ENTRY = "run_pipeline"
HELPERS = 20

_HEADER = '''\
"""Cleaning and summarising sensor readings (generated for provenance's benchmarks).

The readings of one sensor come in time order.  ``run_pipeline`` is the
decorated entry point: it runs ``step_00``, which hands its result to the two
steps below it, and so on down a binary tree of twenty steps, each of which
clips, smooths, re-centres or buckets the series in its own way.  The steps
share the constants and the two classes defined here.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import provenance

#: Below and above these, a reading is a glitch of the sensor, not data.
LOWER = -1.0e6
UPPER = 1.0e6

#: How much of the left branch's result each blend keeps.
BLEND = 0.625

#: Decay rates of the running accumulators, one per accumulating step.
DECAY = (0.5, 0.75, 0.875, 0.9375, 0.96875, 0.984375)

#: Labels given to the buckets of a histogram.
BUCKET_NAMES = ("very low", "low", "middle", "high", "very high")

#: Tunable settings (a dict: the program could change it as it runs).
SETTINGS = {
    "edges": (-2.0, -0.5, 0.5, 2.0),
    "min_points": 3,
    "z_limit": 3.5,
    "round_to": 6,
}


class Accumulator:
    """An exponentially weighted mean and variance of the values pushed into it.

    Parameters
    ----------
    decay : float
        The weight kept by the past at each push, between 0 and 1.
    """

    def __init__(self, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must lie between 0 and 1, not {decay!r}")
        self.decay = decay
        self.mean = 0.0
        self.variance = 0.0
        self.count = 0

    def push(self, value: float) -> None:
        """Add one value (the first one sets the mean)."""
        self.count += 1
        if self.count == 1:
            self.mean = value
            return
        # West's update, weighted: stable for long series.
        delta = value - self.mean
        self.mean += (1.0 - self.decay) * delta
        self.variance = self.decay * (self.variance + (1.0 - self.decay) * delta * delta)

    def extend(self, values: list[float]) -> Accumulator:
        """Push every value in turn; return the accumulator."""
        for value in values:
            self.push(value)
        return self

    @property
    def deviation(self) -> float:
        """The weighted standard deviation (1.0 while there is too little data)."""
        if self.count < SETTINGS["min_points"]:
            return 1.0
        return math.sqrt(self.variance) or 1.0


@dataclass(frozen=True)
class Window:
    """A half-open range ``[start, stop)`` of positions in a series."""

    start: int
    stop: int

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def take(self, values: list[float]) -> list[float]:
        """The values of ``values`` in this window."""
        return values[self.start : self.stop]

'''

_SMOOTH = '''
def {name}(values: list[float], window: int = {window}) -> list[float]:
    """Clip the readings to the sensor's range, then smooth them by a moving average.

    Parameters
    ----------
    values : list of float
        The readings, in time order.
    window : int
        How many consecutive readings each smoothed reading averages.

    Returns
    -------
    list of float
        As many smoothed readings as there were readings.

    Notes
    -----
    The average is a running sum: one addition and one subtraction per
    reading, whatever the window.  Summing each window again would cost
    ``window`` additions per reading, and this step runs on long series.

    Examples
    --------
    >>> {name}([1.0, 2.0, 3.0, 4.0], window=2)  # doctest: +SKIP
    [1.0, 1.5, 2.5, 3.5]
    """
    # Readings outside the sensor's range are glitches, not data.
    clipped = [min(max(v, LOWER), UPPER) for v in values]
    if len(clipped) < window:
        return clipped
    out: list[float] = []
    running = 0.0
    for k, value in enumerate(clipped):
        running += value
        if k >= window:
            running -= clipped[k - window]
        # The first readings average what there is so far.
        out.append(running / min(k + 1, window))
{children}    return out
'''

_OUTLIERS = '''
def {name}(values: list[float], z_limit: float = {z_limit}) -> list[float]:
    """Replace the outliers of a series by its mean.

    Parameters
    ----------
    values : list of float
        The series.
    z_limit : float
        How many standard deviations from the mean a value may lie and stay.

    Returns
    -------
    list of float
        The series with the same length, outliers replaced.

    Notes
    -----
    The limit is the smaller of ``z_limit`` and ``SETTINGS["z_limit"]``, so
    the settings can tighten every step at once.  When more than a share of
    the values would be replaced, the series is left alone: a level shift
    is not a set of outliers, and replacing it would erase real data.

    Examples
    --------
    >>> {name}([0.0, 0.1, -0.1, 50.0], z_limit=1.0)  # doctest: +SKIP
    """
    if len(values) < SETTINGS["min_points"]:
        return list(values)
    mean = statistics.fmean(values)
    spread = statistics.pstdev(values) or 1.0
    out: list[float] = []
    replaced = 0
    for value in values:
        score = (value - mean) / spread
        # Replacing rather than dropping keeps the series aligned in time.
        if abs(score) > min(z_limit, SETTINGS["z_limit"]):
            out.append(mean)
            replaced += 1
        else:
            out.append(value)
    if replaced > len(values) // {max_share}:
        # Too many outliers: the series is not what this step expects, leave it.
        out = list(values)
{children}    return out
'''

_CENTRE = '''
def {name}(values: list[float]) -> list[float]:
    """Re-centre a series on its running mean and scale it by its running deviation.

    Parameters
    ----------
    values : list of float
        The series.

    Returns
    -------
    list of float
        Each value minus the running mean up to it, over the running deviation.

    Notes
    -----
    The accumulator weighs recent values more, so a slow drift of the
    sensor is followed rather than flagged.  A straight line from the first
    to the last value is then removed, and the result is scaled down when
    its deviation is still large, so that the steps below see values of
    order one.

    Examples
    --------
    >>> {name}([1.0, 1.0, 1.0])  # doctest: +SKIP
    """
    acc = Accumulator(DECAY[{decay}])
    out: list[float] = []
    for value in values:
        acc.push(value)
        # The first points have no spread yet: the accumulator says 1.0.
        out.append((value - acc.mean) / acc.deviation)
    if not out:
        return out
    # A step that follows expects no trend left: remove a straight line.
    n = len(out)
    slope = (out[-1] - out[0]) / max(n - 1, 1)
    out = [v - slope * (k - (n - 1) / 2) for k, v in enumerate(out)]
    total = Accumulator(DECAY[{decay}]).extend(out)
    if total.deviation > {cap}:
        out = [v / total.deviation for v in out]
{children}    return out
'''

_BUCKETS = '''
def {name}(values: list[float], width: int = {width}) -> list[float]:
    """Replace each window of values by the centre of the bucket its mean falls in.

    Parameters
    ----------
    values : list of float
        The series.
    width : int
        How many consecutive values form a window.

    Returns
    -------
    list of float
        The series, each value replaced by its window's bucket centre.

    Notes
    -----
    The buckets are bounded by ``SETTINGS["edges"]``; the outer buckets are
    given a centre one unit beyond the outer edges.  The last window may be
    shorter than ``width``: its mean is taken over what it holds.  Rounding
    to ``SETTINGS["round_to"]`` places keeps the results stable when they
    are compared across machines.

    Examples
    --------
    >>> {name}([0.0, 0.1, 3.0, 3.2], width=2)  # doctest: +SKIP
    """
    edges = SETTINGS["edges"]
    centres = [edges[0] - 1.0]
    centres += [(a + b) / 2 for a, b in zip(edges, edges[1:])]
    centres.append(edges[-1] + 1.0)
    assert len(centres) == len(BUCKET_NAMES)
    out: list[float] = []
    for start in range(0, len(values), width):
        window = Window(start, min(start + width, len(values)))
        part = window.take(values)
        mean = sum(part) / len(window)
        # The bucket of the mean: how many edges lie below it.
        bucket = sum(1 for edge in edges if mean > edge)
        out.extend([round(centres[bucket], SETTINGS["round_to"])] * len(window))
{children}    return out
'''

_TEMPLATES = [
    (_SMOOTH, lambda i: {"window": 3 + i % 5}),
    (_OUTLIERS, lambda i: {"z_limit": 2.5 + (i % 4) / 2, "max_share": 3 + i % 3}),
    (_CENTRE, lambda i: {"decay": i % 6, "cap": 1.5 + i % 3}),
    (_BUCKETS, lambda i: {"width": 2 + i % 4}),
]

_FOOTER = '''

@provenance.provenance()
def run_pipeline(readings: list[float], label: str = "sensor") -> dict[str, object]:
    """Clean a sensor's readings through every step and summarise the result.

    Parameters
    ----------
    readings : list of float
        The raw readings, in time order.
    label : str
        Which sensor they come from (kept in the summary).

    Returns
    -------
    dict
        The label, how many readings, and the mean, spread, lowest and
        highest value of the cleaned series.
    """
    series = step_00(list(readings))
    if not series:
        return {{"label": label, "n": 0}}
    return {{
        "label": label,
        "n": len(series),
        "mean": statistics.fmean(series),
        "spread": statistics.pstdev(series),
        "lowest": min(series),
        "highest": max(series),
        # How much the cleaning moved the readings, on average.
        "moved": sum(abs(a - b) for a, b in zip(series, readings)) / len(series),
        "blend": BLEND,
    }}
'''


def _name(i: int) -> str:
    return f"step_{i:02d}"


def _children(i: int) -> str:
    """The lines of helper ``i`` that hand its result to the helpers below it."""
    kids = [k for k in (2 * i + 1, 2 * i + 2) if k < HELPERS]
    if not kids:
        return ""
    if len(kids) == 1:
        return (
            "    # One step below this one: it refines the series.\n"
            f"    out = {_name(kids[0])}(out)\n"
        )
    left, right = (_name(k) for k in kids)
    return (
        "    # Both steps below see this result; their results are blended.\n"
        f"    left = {left}(out)\n"
        f"    right = {right}(out)\n"
        "    out = [a * BLEND + b * (1.0 - BLEND) for a, b in zip(left, right)]\n"
    )


def module_text() -> str:
    """The source of the module: about 1,000 lines, 20 helpers, 2 classes, constants."""
    parts = [_HEADER]
    for i in range(HELPERS):
        template, params = _TEMPLATES[i % len(_TEMPLATES)]
        parts.append(template.format(name=_name(i), children=_children(i), **params(i)))
    parts.append(_FOOTER.format())
    return "\n".join(parts)


def write_module(directory: str) -> str:
    """Write the module into ``directory`` and return its path."""
    path = os.path.join(directory, f"{MODULE}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(module_text())
    return path


def main(argv: list[str]) -> int:
    side, directory = argv[:2]
    if side == "write":
        print(write_module(directory))
        return 0
    if side not in ("provenance", "joblib"):
        print(f"unknown side {side!r}: provenance, joblib or write", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    # Left out of the figure: every process of the user's pays for these imports.
    import provenance  # noqa: F401, PLC0415
    from provenance.fingerprint import code_fingerprint  # noqa: PLC0415

    if side == "joblib":
        from joblib.func_inspect import get_func_code  # noqa: PLC0415
    t1 = time.perf_counter()
    sys.path.insert(0, directory)
    import importlib  # noqa: PLC0415

    module = importlib.import_module(MODULE)
    entry = getattr(module, ENTRY)
    t2 = time.perf_counter()
    report: dict[str, object] = {
        "side": side,
        "import_provenance_s": t1 - t0,
        "import_module_s": t2 - t1,
        "setup_s": t2 - _T0,
    }
    if side == "provenance":
        t = time.perf_counter()
        fp = code_fingerprint(entry)
        report["first_s"] = time.perf_counter() - t
        t = time.perf_counter()
        again = code_fingerprint(entry)
        report["again_s"] = time.perf_counter() - t
        # What a decorated function does: made once, then kept on it.
        entry.code_fingerprint()
        t = time.perf_counter()
        kept = entry.code_fingerprint()
        report["kept_s"] = time.perf_counter() - t
        if not again.digest == kept.digest == fp.digest:
            print("two fingerprints of the same function differ", file=sys.stderr)
            return 3
        covered = [line[2:] for line in fp.source.splitlines() if line.startswith("# ")]
        report["parts"] = len(covered)
        report["helpers"] = sum(1 for i in range(HELPERS) if f"def {MODULE}.{_name(i)}" in covered)
        report["source_lines"] = len(fp.source.splitlines())
        report["digest"] = fp.digest
    else:
        raw = entry.__wrapped__  # joblib checks the undecorated function
        t = time.perf_counter()
        code, _, first_line = get_func_code(raw)
        report["first_s"] = time.perf_counter() - t
        if first_line < 0:
            print("joblib could not read the function's source", file=sys.stderr)
            return 3
        report["source_lines"] = len(code.splitlines())
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
