"""Reading spanwatch's RRD files back with the real rrdtool, for tests.

steps(path) -> {step_end: {ds: amount}} at the finest resolution, where
amount = rate x step (what the step held); unknown rows are left out.
totals(path) -> {ds: amount} summed over every known step.
"""
import math
import subprocess


def info(path):
    out = subprocess.run(["rrdtool", "info", path], check=True, capture_output=True, text=True).stdout
    step = int(next(l for l in out.splitlines() if l.startswith("step =")).split("=")[1])
    last = int(next(l for l in out.splitlines() if l.startswith("last_update =")).split("=")[1])
    return step, last


def steps(path, start=None, end=None):
    step, last = info(path)
    end = end if end is not None else last
    start = start if start is not None else end - 1440 * step
    out = subprocess.run(["rrdtool", "fetch", path, "AVERAGE", "-r", str(step), "-s", str(start), "-e", str(end)],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    names = out[0].split()
    rows = {}
    for line in out[1:]:
        if ":" not in line:
            continue
        ts, vals = line.split(":", 1)
        row = {}
        for n, v in zip(names, vals.split()):
            x = float(v)
            if not math.isnan(x):
                row[n] = x * step
        if row:
            rows[int(ts)] = row
    return rows


def totals(path, start=None, end=None):
    t = {}
    for row in steps(path, start, end).values():
        for k, v in row.items():
            t[k] = t.get(k, 0.0) + v
    return t
