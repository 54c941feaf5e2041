"""spanwatch's summary lines on stderr (sensor/main.c), read one way for
every test: 'summary packets=... drops=N' for the whole run and, with
threads, one 'summary thread=I packets=...' per worker after it.

of(text) -> {key: value} of the run's line ({} when there is none)
threads(text) -> [{key: value}, ...] of the workers' lines, in order
"""


def _fields(line):
    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)


def of(text):
    lines = [l for l in text.splitlines() if l.startswith("summary ") and not l.startswith("summary thread=")]
    return _fields(lines[-1]) if lines else {}


def threads(text):
    return [_fields(l) for l in text.splitlines() if l.startswith("summary thread=")]
