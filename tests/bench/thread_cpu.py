#!/usr/bin/python3
"""thread_cpu.py CMD...: runs CMD and prints, at its end, the CPU seconds
(user + system) of each of its threads by name, read from
/proc/PID/task/*/stat while it runs (the last reading of each thread), the
wall seconds, and the highest RssAnon and RssFile of /proc/PID/status (in
MiB: the process's own memory, and the pages of mapped files it holds, page
cache that others share). For make bench: where a run's time and memory
go, thread by thread, which a loaded machine's wall clock and the peak RSS
alone do not show."""
import os
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def sample(pid, seen):
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as fp:
                st = fp.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        f = st[st.rindex(")") + 2:].split()
        seen[tid] = (name, (int(f[11]) + int(f[12])) / HZ)


def memory(pid, peak):
    try:
        with open("/proc/%d/status" % pid) as fp:
            for line in fp:
                k = line.split(":")[0]
                if k in ("RssAnon", "RssFile"):
                    peak[k] = max(peak.get(k, 0), int(line.split()[1]))
    except OSError:
        pass


def run(cmd, interval=0.05, stderr=subprocess.DEVNULL):
    """Runs cmd, sampling it every interval seconds. Returns (exit status,
    wall seconds, {thread name: CPU seconds}, {"RssAnon"/"RssFile": peak
    KiB}); a thread's CPU is its last reading, so each may be short by up
    to one interval."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
    seen, peak = {}, {}
    while proc.poll() is None:
        sample(proc.pid, seen)
        memory(proc.pid, peak)
        time.sleep(interval)
    wall = time.time() - t0
    by = {}
    for name, cpu in seen.values():
        by[name] = by.get(name, 0.0) + cpu
    return proc.returncode, wall, by, peak


def main():
    rc, wall, by, peak = run(sys.argv[1:])
    print("wall=%.2f anon_mib=%.1f file_mib=%.1f %s" % (
        wall, peak.get("RssAnon", 0) / 1024, peak.get("RssFile", 0) / 1024,
        " ".join("%s=%.2f" % kv for kv in sorted(by.items()))))
    return rc


if __name__ == "__main__":
    sys.exit(main())
