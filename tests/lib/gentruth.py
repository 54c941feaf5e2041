"""spanwatch-gen's TSV files, read one way for every test: the truth of a
generated day (--truth: a row per subscriber and step) and of its flows
(--truth-flows); spanwatch's flow log has the same shape.

A file is '#' lines (the run's settings as key=value words, and lines of
one key: '# bots=a,b', '# allow=HASH NAME', '# totals packets=...'), then a
header row and rows of tab-separated columns. The generator wrote what is
here (tests/gen); nothing in this file computes what spanwatch does, so a
test may hold spanwatch's figures against it.

read(path) -> (comments, rows)
meta(comments) -> {key: value}, names(comments, key) -> [name, ...],
values(comments, key) -> [text, ...], totals(comments) -> {key: value}
steps(rows, step, cols) -> {subscriber: {step_end: (int, ...)}}
sums(rows, cols) -> {subscriber: [int, ...]}
columns(rows) -> {subscriber: Counter of every column}
"""
import collections

BYTES = ("bytes_in", "bytes_out")


def read(path):
    """The '#' lines (without their newline) and the rows, each a dict of
    the header's names to strings."""
    comments, rows, head = [], [], None
    with open(path) as fp:
        for line in fp:
            line = line.rstrip("\n")
            if line.startswith("#"):
                comments.append(line)
            elif head is None:
                head = line.split("\t")
            elif line:
                rows.append(dict(zip(head, line.split("\t"))))
    return comments, rows


def meta(comments):
    """{key: value} of the key=value words of the '#' lines; the first of a
    key counts (the '# seed=... step=60 start=...' line comes first)."""
    m = {}
    for line in comments:
        for tok in line[1:].split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                m.setdefault(k, v)
    return m


def values(comments, key):
    """What follows '# KEY=' on each line that starts so, in order."""
    lead = "# %s=" % key
    return [line[len(lead):].strip() for line in comments if line.startswith(lead)]


def names(comments, key):
    """The comma-separated names of the first '# KEY=' line (bots, exempt,
    switchers); [] when there is none."""
    v = values(comments, key)
    return [n for n in v[0].split(",") if n] if v else []


def totals(comments):
    """{key: value} of the '# totals' line (packets, ip_bytes, ...)."""
    for line in comments:
        if line.startswith("# totals"):
            return dict(kv.split("=", 1) for kv in line.split()[2:] if "=" in kv)
    return {}


def steps(rows, step=60, cols=BYTES):
    """{subscriber: {step_end: (int per column)}}: the truth names a step
    by its start, spanwatch and its RRD files by its end."""
    out = {}
    for r in rows:
        out.setdefault(r["subscriber"], {})[int(r["step"]) + step] = tuple(int(r[c]) for c in cols)
    return out


def sums(rows, cols=BYTES):
    """{subscriber: [sum per column over the run]}; a column a row lacks
    counts 0."""
    out = {}
    for r in rows:
        t = out.setdefault(r["subscriber"], [0] * len(cols))
        for i, c in enumerate(cols):
            t[i] += int(r.get(c, 0))
    return out


def columns(rows):
    """{subscriber: Counter of each column's sum over the run}, for every
    column but step and subscriber."""
    out = {}
    for r in rows:
        c = out.setdefault(r["subscriber"], collections.Counter())
        for k, v in r.items():
            if k not in ("step", "subscriber"):
                c[k] += int(v)
    return out
