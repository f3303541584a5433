"""What the baseline scripts share: timing, answer files in the harness's canonical form, and the
JSON report each prints on stdout for `ardent-bench` to read.

Every baseline is timed inside its own process after a warm-up (process start, imports, the JVM
and the worker pool are not in the timed runs), as ardent is timed inside its session.
"""
import json
import statistics
import sys
import time

# Days from 0001-01-01 (Python's ordinal 1) to 1970-01-01: Date32 days + this = pyccd's ordinals.
EPOCH_ORDINAL = 719163


def log(message):
    print(message, file=sys.stderr, flush=True)


def measure(name, job, runs, warmup):
    """Runs `warmup` once, then `job` `runs` times; returns the times in seconds and the last answer."""
    log(f"{name}: warm-up")
    warmup()
    times, answer = [], None
    for i in range(runs):
        t0 = time.perf_counter()
        answer = job()
        times.append(time.perf_counter() - t0)
        log(f"{name}: run {i + 1}/{runs}: {times[-1]:.3f} s")
    return times, answer


def ccdc_line(row, col, models):
    """One pixel's CCDC answer: its segments' start, end and break days (ordinal), curve_qa and
    change probability, in pyccd's order. The harness compares these lines across engines."""
    segments = ";".join(
        f"{m['start_day']}:{m['end_day']}:{m['break_day']}:{m['curve_qa']}:{m['change_probability']:.6f}"
        for m in models)
    return f"{row},{col},{segments}"


def write_lines(path, header, lines):
    with open(path, "w") as f:
        f.write(header + "\n")
        for line in sorted(lines):
            f.write(line + "\n")


def is_clear_c1(qa):
    """Collection 1 pixel_qa: clear land or water with no fill, cloud, shadow or snow bit, as
    ardent's qa_clear(qa, 'c1') and pyccd decide. Works on ints and numpy arrays."""
    return ((qa & 0b111001) == 0) & ((qa & 0b110) != 0)


def report(engine, times, **extra):
    """The JSON line `ardent-bench` reads from stdout."""
    out = {"engine": engine, "times": times, "median": statistics.median(times)}
    out.update(extra)
    print(json.dumps(out), flush=True)
