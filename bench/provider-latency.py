#!/usr/bin/python3
"""bench/provider-latency.py: how long fandex's D-Bus answers take, as a desktop shell sees them (issue 14).

    bench/provider-latency.py QUERY_FILE ROOT [--reps N] [--methods M,...] [--bus-address ADDR]

Calls, on the session bus (or ADDR), the service `org.fandex.Fandex` that a running `fandex daemon --dbus`
(or `fandex bridge`) owns, for each query of QUERY_FILE (bench/queries/*.tsv: class, fandex query; `{C}`
replaced by ROOT): GNOME Shell's `GetInitialResultSet` (the query split at spaces, as the shell sends
terms) followed by `GetResultMetas` of its first 5 results (what the shell asks next), KRunner's `Match`,
and `org.fandex.Fandex1.Search` (`--methods gnome,krunner,fandex1` picks some). One client connection for all calls, so a figure is the round trip
through dbus-daemon and the provider, not process start-up. Prints one TSV line per query class and
method: class, method, p50 ms, p99 ms, max ms, results of the last call. Two untimed calls first.

Needs dbus-python (Debian python3-dbus; bench/tools.sh installs it).
"""

import argparse
import math
import statistics
import sys
import time

import dbus

NAME = "org.fandex.Fandex"


def read_queries(path, root):
    """(class, query) of every row of a bench query file."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 2:
                continue
            rows.append((cols[0], cols[1].replace("{C}", root)))
    return rows


def percentile(sorted_ms, p):
    """The nearest-rank percentile of an ascending list (p99 of 100 values is the 99th)."""
    k = math.ceil(p / 100.0 * len(sorted_ms)) - 1
    return sorted_ms[max(0, min(len(sorted_ms) - 1, k))]


def timed(call, reps):
    """Runs `call` twice untimed, then `reps` times; (milliseconds ascending, last result)."""
    result = None
    for _ in range(2):
        result = call()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    return times, result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("query_file")
    ap.add_argument("root")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--methods", default="gnome,krunner,fandex1",
                    help="which of gnome, krunner, fandex1 to time (comma-separated)")
    ap.add_argument("--bus-address", default=None)
    a = ap.parse_args()

    bus = dbus.bus.BusConnection(a.bus_address) if a.bus_address else dbus.SessionBus()
    gnome = dbus.Interface(bus.get_object(NAME, "/org/fandex/SearchProvider"),
                           "org.gnome.Shell.SearchProvider2")
    krunner = dbus.Interface(bus.get_object(NAME, "/org/fandex/KRunner"), "org.kde.krunner1")
    api = dbus.Interface(bus.get_object(NAME, "/org/fandex/Fandex"), "org.fandex.Fandex1")

    print("class\tmethod\tp50_ms\tp99_ms\tmax_ms\tresults")
    worst = 0.0
    for cls, query in read_queries(a.query_file, a.root):
        terms = dbus.Array(query.split(" "), signature="s")

        def shell():
            ids = gnome.GetInitialResultSet(terms, timeout=30)
            if ids:
                gnome.GetResultMetas(dbus.Array(ids[:5], signature="s"), timeout=30)
            return len(ids)

        methods = [
            ("gnome:initial+metas", shell),
            ("krunner:Match", lambda: len(krunner.Match(query, timeout=30))),
            ("fandex1:Search", lambda: int(api.Search(query, dbus.Dictionary({}, signature="sv"),
                                                      timeout=30)[0])),
        ]
        wanted = a.methods.split(",")
        for method, call in methods:
            if method.split(":")[0] not in wanted:
                continue
            try:
                ms, result = timed(call, a.reps)
            except dbus.DBusException as e:
                print(f"{cls}\t{method}\terror\t{e.get_dbus_name()}: {e.get_dbus_message()}", flush=True)
                continue
            worst = max(worst, percentile(ms, 99))
            print(f"{cls}\t{method}\t{statistics.median(ms):.2f}\t{percentile(ms, 99):.2f}\t"
                  f"{ms[-1]:.2f}\t{result}", flush=True)
    print(f"# worst p99 {worst:.2f} ms (target: under 10 ms)", file=sys.stderr)


if __name__ == "__main__":
    main()
