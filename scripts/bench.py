#!/usr/bin/env python3
"""The standard benchmark set of docs/benchmarks.md: WindowRelay beside the C reference relays.

    scripts/bench.py run    [--bin B] [--out bench-out] [--duration 15]   paced and flood audio runs
    scripts/bench.py extra  [--bin B] [--out bench-out]                   idle RSS, start-up time
    scripts/bench.py ab --bin A --bin-b B --sessions N --pairs P [--flood] --out DIR
                                            two relay builds alternated run by run (A/B)

Every server runs pinned to CPU 0 and the generator (`windowrelay bench audio`) to CPU 1 (taskset).
Before each measured run it waits until no compiler is running (at most 20 minutes, then it
measures anyway and records that it did). Figures go to OUT/results.jsonl as JSON lines;
`run` and `extra` then rewrite OUT/results.json (every line so far, with the machine's
description). scripts/bench-report.py turns that into docs/benchmarks.svg and a markdown table.
Standard library only.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

BUSY = re.compile(r"^(swift-build|swift-frontend|swiftc|clang|clang-\d+|cc1|cc1plus|ld|ld\.gold|lld|swift-test)$")
PORTS = {"windowrelay": 18443, "c-relay": 18444, "lws-mirror": 18445}
# Every target: the generator's --target (the wire shape it speaks) and the server's event backend.
# windowrelay-norec is WindowRelay with recording off; -poll runs on lws's own poll loop, the rest
# of WindowRelay and c-relay-libev on lws's libev plugin (epoll); lws-mirror is Debian's test server.
TARGETS = {
    "windowrelay": ("windowrelay", "libev"),
    "windowrelay-norec": ("windowrelay", "libev"),
    "windowrelay-poll": ("windowrelay", "poll"),
    "c-relay": ("c-relay", "poll"),
    "c-relay-libev": ("c-relay", "libev"),
    "lws-mirror": ("lws-mirror", "poll"),
}
QUIET_LIMIT = 20 * 60

CONFIG = """\
listen:
  host: 127.0.0.1
  port: {port}
  eventLoop: {event_loop}
storage:
  dataDir: {data}
limits:
  messagesPerSecond: 100000    # a flood sends far more than 400 a second on one connection
  maxConnectionsPerIP: 20000   # every generator connection comes from 127.0.0.1
log:
  level: warning
recording:
  enabled: {recording}
"""


def log(line):
    print(f"[bench {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def busy_processes():
    out = subprocess.run(["ps", "-eo", "pcpu=,comm="], capture_output=True, text=True).stdout
    busy = []
    for row in out.splitlines():
        parts = row.split(None, 1)
        if len(parts) == 2 and BUSY.match(parts[1].strip()):
            busy.append(parts[1].strip())
    return busy


def wait_quiet(state):
    """Waits until no build runs and other processes use under 5 % of a core (up to 20 minutes in
    all); returns what was seen."""
    started = time.monotonic()
    while True:
        busy = busy_processes()
        load = os.getloadavg()[0]
        if not busy:
            # No compiler; but tests of other worktrees (their relays, pytest) load the CPUs too.
            before = cpu_ticks()
            time.sleep(2)
            share, top = others(before, cpu_ticks(), {os.getpid()}, 2)
            if share > 0.05 and time.monotonic() - state["quietStarted"] <= QUIET_LIMIT:
                log(f"waiting: other processes use {100 * share:.0f} % of a core ({', '.join(top)})")
                time.sleep(5)
                continue
            waited = time.monotonic() - started
            if waited > 1:
                log(f"quiet after {waited:.0f} s")
            return {"waitedSeconds": round(waited), "load1": load, "quiet": True}
        if time.monotonic() - state["quietStarted"] > QUIET_LIMIT:
            log(f"gave up waiting for quiet (20 min); busy: {sorted(set(busy))}")
            return {"waitedSeconds": round(time.monotonic() - started), "load1": load, "quiet": False,
                    "busy": sorted(set(busy))}
        log(f"waiting for builds to finish: {sorted(set(busy))} (load {load:.2f})")
        time.sleep(10)


class Server:
    """A server process pinned to CPU 0, started and stopped around each run."""

    def __init__(self, argv, ready_line=None, port=None):
        self.argv = ["taskset", "-c", "0"] + argv
        self.ready_line = ready_line
        self.port = port
        self.proc = None
        self.started_seconds = None

    def start(self, timeout=60):
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = threading.Event()
        output = []

        def read():
            for line in self.proc.stdout:
                output.append(line)
                if self.ready_line and self.ready_line in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv} exited with {self.proc.returncode}: {''.join(output)}")
            if self.ready_line and ready.wait(0.002):
                break
            if not self.ready_line and port_open(self.port):
                break
            if not self.ready_line:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{self.argv} not ready in {timeout} s")
        self.started_seconds = time.monotonic() - t0
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def relay_config(out, port=PORTS["windowrelay"], data=None, recording=True, event_loop="libev"):
    data = data or os.path.join(out, "data")
    path = os.path.join(out, "relay.yaml")
    with open(path, "w") as f:
        f.write(CONFIG.format(port=port, data=os.path.abspath(data), recording=str(recording).lower(),
                              event_loop=event_loop))
    return path


def start_server(target, args, data=None, server_bin=None):
    kind, event_loop = TARGETS[target]
    if kind == "windowrelay":
        data = data or os.path.join(args.out, "data")
        shutil.rmtree(data, ignore_errors=True)
        config = relay_config(args.out, data=data, recording=target != "windowrelay-norec", event_loop=event_loop)
        return Server([server_bin or args.bin, "serve", "--config", config], ready_line="listening").start()
    if kind == "c-relay":
        return Server([args.c_relay, str(PORTS[kind]), event_loop], ready_line="listening").start()
    return Server(["libwebsockets-test-server", f"--port={PORTS[target]}"], port=PORTS[target]).start()


def cpu_ticks():
    """CPU clock ticks (utime + stime) of every process now, by pid: (command, ticks)."""
    ticks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                line = f.read()
        except OSError:
            continue
        close = line.rfind(")")
        fields = line[close + 2:].split()
        ticks[int(pid)] = (line[line.find("(") + 1:close], int(fields[11]) + int(fields[12]))
    return ticks


def others(before, after, ours, seconds):
    """Share of a core the other processes used between two `cpu_ticks`, and the busiest of them.

    ksoftirqd is left out: it runs the loopback's deferred packet work, which is the run's own
    traffic (about 0.6 s of 15 at 100k deliveries/s), not a disturbance."""
    used = {}
    for pid, (comm, t) in after.items():
        if pid in ours or comm.startswith("ksoftirqd/"):
            continue
        delta = t - before.get(pid, (comm, 0))[1]
        if delta > 0:
            used[comm] = used.get(comm, 0) + delta
    hz = os.sysconf("SC_CLK_TCK")
    share = sum(used.values()) / hz / max(seconds, 1e-3)
    top = sorted(used.items(), key=lambda kv: -kv[1])[:4]
    return share, [f"{name} {t / hz:.1f} s" for name, t in top]


def bench_audio(target, args, state, label, extra, attempts=3, server_bin=None):
    """One run; repeated (up to `attempts` in all) when other processes took over 3 % of a core.
    The generator is always `args.bin`; the relay is `server_bin` when given."""
    for attempt in range(1, attempts + 1):
        quiet = wait_quiet(state)
        server = start_server(target, args, server_bin=server_bin)
        try:
            kind = TARGETS[target][0]
            argv = ["taskset", "-c", "1", args.bin, "bench", "audio", "--target", kind, "--port",
                    str(PORTS[kind]), "--server-pid", str(server.pid), "--config", args.out + "/relay.yaml",
                    "--json", os.path.join(args.out, "results.jsonl"), "--label", label] + extra
            log(f"{label}: {' '.join(argv[3:])}")
            t0, before = time.monotonic(), cpu_ticks()
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            out, err = proc.communicate()
            share, top = others(before, cpu_ticks(), {server.pid, proc.pid, os.getpid()}, time.monotonic() - t0)
            print(out, end="", flush=True)
            if proc.returncode not in (0, 2):
                log(f"{label} failed ({proc.returncode}): {err.strip()[-800:]}")
            quiet.update({"otherCPUShare": round(share, 3), "others": top, "attempt": attempt})
            state["conditions"][label] = quiet
        finally:
            server.stop()
        if share <= 0.03:
            return
        log(f"{label}: other processes used {100 * share:.0f} % of a core during the run ({', '.join(top)})"
            + ("; again" if attempt < attempts else "; kept"))


def standard(args, state):
    d = str(args.duration)
    for target in args.targets:
        if target == "lws-mirror":
            # 3 rooms: 15 sessions = 5 per room, every packet to the 10 members (sender included).
            runs = [("paced-15", ["--sessions", "15"]),
                    ("flood", ["--sessions", "3", "--flood", "--in-flight", "4"])]
        else:
            runs = [(f"paced-{n}", ["--sessions", str(n)]) for n in args.sessions]
            if not args.no_flood:
                runs.append(("flood", ["--sessions", "100", "--flood", "--in-flight", "4"]))
        for name, extra in runs:
            bench_audio(target, args, state, f"{target}/{name}", extra + ["--duration", d])


def extra(args, state):
    """Idle memory per connection at 5,000 and start-up to `listening`, empty and with 10,000 sessions."""
    results = os.path.join(args.out, "results.jsonl")
    quiet = wait_quiet(state)
    server = start_server("windowrelay", args)
    try:
        time.sleep(1)
        argv = ["taskset", "-c", "1", args.bin, "bench", "idle", "--port", str(PORTS["windowrelay"]),
                "--server-pid", str(server.pid), "--config", relay_config(args.out), "--connections",
                str(args.idle), "--json", results]
        log("idle: " + " ".join(argv[3:]))
        run = subprocess.run(argv, capture_output=True, text=True)
        print(run.stdout, end="", flush=True)
        if run.returncode:
            log(f"idle failed: {run.stderr.strip()[-800:]}")
        state["conditions"]["idle"] = quiet
    finally:
        server.stop()

    data = os.path.join(args.out, "data-startup")

    def time_start(label, fresh):
        times = []
        for _ in range(3):
            if fresh:
                shutil.rmtree(data, ignore_errors=True)
            config = relay_config(args.out, data=data)
            server = Server([args.bin, "serve", "--config", config], ready_line="listening").start()
            server.stop()
            times.append(server.started_seconds)
        line = {"run": {"label": label, "target": "windowrelay"}, "startSeconds": sorted(times)[1],
                "allStartSeconds": times}
        with open(results, "a") as f:
            f.write(json.dumps(line) + "\n")
        log(f"{label}: {', '.join(f'{t * 1000:.0f} ms' for t in times)}")

    state["conditions"]["start-empty"] = wait_quiet(state)
    time_start("start-empty", fresh=True)
    # 10,000 real sessions: created, accepted, 0.5 s of audio each way, ended (recordings finalised).
    shutil.rmtree(data, ignore_errors=True)
    server = Server([args.bin, "serve", "--config", relay_config(args.out, data=data)],
                    ready_line="listening").start()
    try:
        batch = 1000
        for i in range(args.stored // batch):
            argv = [args.bin, "bench", "audio", "--port", str(PORTS["windowrelay"]), "--config",
                    relay_config(args.out, data=data), "--sessions", str(batch), "--duration", "0.5",
                    "--drain", "1"]
            run = subprocess.run(argv, capture_output=True, text=True)
            if run.returncode not in (0, 2):
                raise RuntimeError(f"seeding failed: {run.stderr[-800:]}")
            log(f"seeded {(i + 1) * batch} sessions")
    finally:
        server.stop()
    state["conditions"]["start-stored"] = wait_quiet(state)
    time_start(f"start-{args.stored}-sessions", fresh=False)


def ab(args, state):
    """Two relay builds (--bin and --bin-b) alternated run by run, A B, B A, ...: on a VM whose speed
    drifts over minutes, the way to see a change smaller than the spread of single runs. Prints
    each pair's CPU per delivery and the mean difference with its standard error."""
    shape = ["--sessions", str(args.sessions[0])] + (["--flood", "--in-flight", "4"] if args.flood else [])
    for i in range(args.pairs):
        order = [("a", args.bin), ("b", args.bin_b)]
        for key, binary in (order if i % 2 == 0 else order[::-1]):
            bench_audio("windowrelay", args, state, f"ab/{key}/{i}", shape + ["--duration", str(args.duration)],
                        server_bin=binary)
    with open(os.path.join(args.out, "results.jsonl")) as f:
        runs = {r["run"]["label"]: r for r in map(json.loads, filter(str.strip, f))}
    threads = sorted({name for r in runs.values() for name in r["server"].get("threadCPUSeconds", {})})
    for thread in [None] + [t for t in threads if t.startswith("wr-")]:
        summary = ab_summary(runs, args.pairs, thread)
        if thread and not any(summary["per"]["a"] + summary["per"]["b"]):
            continue  # idle in every run (the store and document writers in an audio run)
        what = f"thread {thread}" if thread else "all threads"
        for k, binary in (("a", args.bin), ("b", args.bin_b)):
            per, rate = summary["per"][k], summary["rate"][k]
            log(f"{what}, {k} {binary}: µs per delivery {', '.join(f'{x:.2f}' for x in per)} "
                f"(mean {statistics.mean(per):.2f}); deliveries/s {', '.join(str(x) for x in rate)}")
        log(f"{what}, b - a: {summary['difference']:+.2f} µs per delivery ({summary['percent']:+.1f} %), "
            f"standard error {summary['standardError']:.2f}")


def ab_summary(runs, pairs, thread=None):
    """The figures of an A/B from its runs by label (`ab/a/0`, `ab/b/0`, ...): each build's µs per
    delivery (of the whole process, or of one named thread) and deliveries/s, pair by pair; the
    mean of the pairs' differences b − a, in µs and as a percentage of a's mean; and the standard
    error of that mean (nan for one pair)."""
    def micros(run):
        if thread is None:
            return run["server"]["microsPerDelivery"]
        return run["server"].get("threadCPUSeconds", {}).get(thread, 0.0) * 1e6 / max(run["delivered"], 1)
    per = {k: [micros(runs[f"ab/{k}/{i}"]) for i in range(pairs)] for k in "ab"}
    rate = {k: [runs[f"ab/{k}/{i}"]["deliveriesPerSecond"] for i in range(pairs)] for k in "ab"}
    diffs = [b - a for a, b in zip(per["a"], per["b"])]
    se = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float("nan")
    base = statistics.mean(per["a"])
    return {"per": per, "rate": rate, "difference": statistics.mean(diffs),
            "percent": 100 * statistics.mean(diffs) / base if base else float("nan"), "standardError": se}


def collect(args, state):
    runs = []
    path = os.path.join(args.out, "results.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        # A repeated run replaces the earlier one of the same label.
        last = {line["run"].get("label"): i for i, line in enumerate(lines)}
        runs = [line for i, line in enumerate(lines) if last[line["run"].get("label")] == i]
    conditions = {}
    old = os.path.join(args.out, "results.json")
    if os.path.exists(old):
        with open(old) as f:
            conditions = json.load(f).get("conditions", {})
    conditions.update(state["conditions"])
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    machine = {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
               "date": time.strftime("%Y-%m-%d %H:%M")}
    with open(old, "w") as f:
        json.dump({"machine": machine, "conditions": conditions, "runs": runs}, f, indent=1)
    log(f"{len(runs)} results in {old}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("phase", choices=["run", "extra", "ab"])
    p.add_argument("--bin", default=".build-bench/release/windowrelay")
    p.add_argument("--bin-b", help="ab: the second relay build (the generator is always --bin)")
    p.add_argument("--pairs", type=int, default=6, help="ab: A/B pairs")
    p.add_argument("--flood", action="store_true", help="ab: closed-loop flood instead of paced")
    p.add_argument("--c-relay", default="bench-out/bin/c-relay")
    p.add_argument("--out", default="bench-out")
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--sessions", type=int, nargs="+", default=[100, 250, 500, 1000])
    p.add_argument("--targets", nargs="+", choices=list(TARGETS),
                   default=["windowrelay", "c-relay-libev", "c-relay", "lws-mirror"],
                   help="windowrelay (libev), windowrelay-norec (recording off), windowrelay-poll, "
                        "c-relay-libev, c-relay (poll), lws-mirror")
    p.add_argument("--no-flood", action="store_true", help="paced runs only")
    p.add_argument("--idle", type=int, default=5000)
    p.add_argument("--stored", type=int, default=10000)
    p.add_argument("--fresh", action="store_true", help="start a new results.jsonl")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.phase == "ab" and not args.bin_b:
        p.error("ab needs --bin-b")
    if args.fresh and args.phase in ("run", "ab"):
        for name in ("results.jsonl", "results.json"):
            if os.path.exists(os.path.join(args.out, name)):
                os.remove(os.path.join(args.out, name))
    state = {"quietStarted": time.monotonic(), "conditions": {}}
    try:
        {"run": standard, "extra": extra, "ab": ab}[args.phase](args, state)
    finally:
        if args.phase != "ab":  # A/B runs stay in OUT/results.jsonl, out of the standard results.json
            collect(args, state)


if __name__ == "__main__":
    main()
