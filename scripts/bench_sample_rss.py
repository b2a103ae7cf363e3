#!/usr/bin/env python3
"""Helpers for scripts/bench.sh (Terraform-level benchmark). Standard library only.

  measure --out F.jsonl --moto-log LOG --log PHASE.log [--field k=v ...] -- CMD ARGS...
      Runs CMD and, every 20 ms while it runs, walks its descendants in /proc and
      reads /proc/<pid>/status of every process whose executable name starts with
      `terraform-provider-`: its peak (VmHWM, or VmRSS if larger) is kept per
      process. Appends one JSON line to F.jsonl: wall seconds, CPU user+sys of CMD
      and every descendant it reaped (wait4), exit code, peak RSS of the largest
      single provider process, number of provider processes seen, Terraform core
      peak RSS, and the AWS requests moto logged while CMD ran (and how many were
      not 2xx). Provider processes still alive 2 s after CMD exits are killed and
      counted as leftovers.

  warm ENDPOINT
      Read-only calls to every service the benchmark roots use, so moto's lazy
      per-service start-up (about 1 s) is not charged to the first phase.

  table F.jsonl
      Prints the markdown table (medians, min-max over runs, ours/peer ratios).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

INTERVAL = 0.020
PROVIDER_PREFIX = "terraform-provider-"
REQUEST = re.compile(r'"([A-Z]+) (\S+) HTTP/[\d.]+" (\d{3})')
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours non-2xx lines
PHASES = ["init", "plan", "apply", "plan2", "destroy"]
PHASE_NAMES = {
    "init": "init",
    "plan": "plan, fresh",
    "apply": "apply saved plan",
    "plan2": "2nd plan (no-op)",
    "destroy": "destroy",
}


# ---------------------------------------------------------------------------
# measure


def children(pid):
    """Direct children of pid, from every thread's children file."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def descendants(pid):
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children(p):
            if c not in seen:
                seen.append(c)
                todo.append(c)
    return seen


def exe_name(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return os.path.basename(f.read().split(b"\0")[0].decode(errors="replace"))
        except OSError:
            return ""


def memory_kib(pid):
    """max(VmHWM, VmRSS) in KiB, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
    except OSError:
        return None
    values = [0]
    for line in status.splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            values.append(int(line.split()[1]))
    return max(values)


def moto_requests(path):
    """(requests, non-2xx) in moto's access log so far."""
    total = bad = 0
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = REQUEST.search(ANSI.sub("", line))
                if m:
                    total += 1
                    if not m.group(3).startswith("2"):
                        bad += 1
    except OSError:
        pass
    return total, bad


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    total = sum(v[:8])  # guest time is already in user
    return total - idle, total


def proc_cpu_s(pid):
    """utime+stime of one process (and its reaped children) in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def measure(argv):
    opts, cmd = {}, []
    fields = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            cmd = argv[i + 1 :]
            break
        if a == "--field":
            k, v = argv[i + 1].split("=", 1)
            fields[k] = v
        else:
            opts[a.lstrip("-")] = argv[i + 1]
        i += 2
    if not cmd:
        sys.exit("measure: no command after --")
    moto_log = opts.get("moto-log")
    moto_pid = int(opts["moto-pid"]) if opts.get("moto-pid") else None
    req0, bad0 = moto_requests(moto_log) if moto_log else (0, 0)
    hz = os.sysconf("SC_CLK_TCK")
    busy0, total0 = cpu_jiffies()
    moto0 = proc_cpu_s(moto_pid) if moto_pid else 0.0
    self0 = os.times()

    providers = {}  # pid -> (name, peak KiB)
    core_peak = 0
    with open(opts["log"], "wb") as log:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        status = rusage = None
        while True:
            pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                wall = time.monotonic() - start
                status, rusage = st, ru
                break
            core = memory_kib(proc.pid)
            if core:
                core_peak = max(core_peak, core)
            for d in descendants(proc.pid):
                name = providers.get(d, (None,))[0] or exe_name(d)
                if not name.startswith(PROVIDER_PREFIX):
                    continue
                kib = memory_kib(d)
                if kib is not None:
                    old = providers.get(d, (name, 0))[1]
                    providers[d] = (name, max(old, kib))
            time.sleep(INTERVAL)
        proc.returncode = os.waitstatus_to_exitcode(status)
    # CPU that processes outside this measurement used meanwhile: machine busy
    # time minus CMD's tree, moto and this sampler. Near 0 on an idle machine.
    busy1, total1 = cpu_jiffies()
    self1 = os.times()
    own = rusage.ru_utime + rusage.ru_stime
    own += (self1.user - self0.user) + (self1.system - self0.system)
    own += (proc_cpu_s(moto_pid) - moto0) if moto_pid else 0.0
    machine_s = (total1 - total0) / hz
    foreign_s = max(0.0, (busy1 - busy0) / hz - own)

    # Terraform ends its providers itself; anything left is ours to clean up.
    leftovers = 0
    deadline = time.monotonic() + 2.0
    for pid in providers:
        while memory_kib(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        if memory_kib(pid) is not None and exe_name(pid).startswith(PROVIDER_PREFIX):
            leftovers += 1
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    if moto_log:
        time.sleep(0.3)  # let moto flush its access log
    req1, bad1 = moto_requests(moto_log) if moto_log else (0, 0)
    peaks = [kib for _, kib in providers.values()]
    record = dict(fields)
    record.update(
        wall_s=round(wall, 3),
        cpu_s=round(rusage.ru_utime + rusage.ru_stime, 3),
        rc=proc.returncode,
        provider_peak_mib=round(max(peaks) / 1024, 1) if peaks else None,
        provider_procs=len(providers),
        provider_names=sorted({n for n, _ in providers.values()}),
        core_peak_mib=round(core_peak / 1024, 1),
        requests=req1 - req0,
        non2xx=bad1 - bad0,
        leftover_providers=leftovers,
        foreign_cpu_s=round(foreign_s, 2),
        foreign_cpu_pct=round(100 * foreign_s / machine_s, 1) if machine_s else None,
    )
    with open(opts["out"], "a") as f:
        f.write(json.dumps(record) + "\n")
    return proc.returncode


# ---------------------------------------------------------------------------
# warm


def warm(endpoint):
    import boto3  # in $BP_HOME/venv (moto depends on it)

    for service, call in [
        ("s3", "list_buckets"),
        ("kms", "list_keys"),
        ("sts", "get_caller_identity"),
        ("iam", "list_roles"),
    ]:
        client = boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        getattr(client, call)()


# ---------------------------------------------------------------------------
# table


def median(values):
    v = sorted(values)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def spread(values, fmt="{:.2f}"):
    v = [x for x in values if x is not None]
    if not v:
        return "n/a"
    m = fmt.format(median(v))
    if min(v) == max(v) or len(v) == 1:
        return m
    return f"{m} ({fmt.format(min(v))}–{fmt.format(max(v))})"


def ratio(a, b):
    a = [x for x in a if x is not None]
    b = [x for x in b if x is not None]
    if not a or not b or not median(b):
        return ""
    return f"{median(a) / median(b):.2f}"


# Peer figures published in ../shared/peer/RESULTS.md, bucket (b), Terraform 1.15.5,
# medians of 5 runs (provider RSS is published only as the maximum over phases).
PUBLISHED = {
    "wall_s": {
        "init": "0.28 (0.24–0.33)",
        "plan": "1.37 (1.10–1.67)",
        "apply": "5.35 (4.93–5.50)",
        "plan2": "1.55 (1.15–1.91)",
        "destroy": "2.26 (1.97–2.94)",
    },
    "cpu_s": {"init": "0.27", "plan": "1.40", "apply": "1.16", "plan2": "1.51", "destroy": "2.33"},
    "requests": {"plan": "1 (0)", "apply": "61 (9)", "plan2": "37 (7)", "destroy": "106 (8)"},
    "provider_procs": {"plan": "3", "apply": "2", "plan2": "3", "destroy": "5"},
    "provider_peak_mib": {"all": "113.3"},
}


# The same, for the hardened VPC workload (vpc (a) in RESULTS.md).
PUBLISHED_VPC = {
    "wall_s": {
        "init": "0.27 (0.26–0.30)",
        "plan": "1.44 (1.29–1.51)",
        "apply": "11.99 (11.66–12.19)",
        "plan2": "1.94 (1.51–2.55)",
        "destroy": "23.37 (22.46–23.53)",
    },
    "cpu_s": {"init": "0.27", "plan": "1.54", "apply": "1.61", "plan2": "1.78", "destroy": "3.08"},
    "requests": {"plan": "3 (0)", "apply": "187 (0)", "plan2": "70 (0)", "destroy": "186 (12)"},
    "provider_procs": {"plan": "3", "apply": "2", "plan2": "3", "destroy": "5"},
    "provider_peak_mib": {"all": "119.9"},
}
if os.environ.get("BP_BENCH_WORKLOAD") == "vpc":
    PUBLISHED = PUBLISHED_VPC


def table(path):
    records = [json.loads(line) for line in open(path) if line.strip()]
    scenarios = []
    for r in records:
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])
    have_peer = "peer" in scenarios
    runs = {s: len({r["run"] for r in records if r["scenario"] == s}) for s in scenarios}

    def vals(scenario, phase, key):
        return [
            r.get(key)
            for r in records
            if r["scenario"] == scenario and r["phase"] == phase and r.get(key) is not None
        ]

    def cycle(scenario, key):
        """Per run, the sum over the 5 phases."""
        sums = []
        for run in sorted({r["run"] for r in records if r["scenario"] == scenario}):
            rs = [r for r in records if r["scenario"] == scenario and r["run"] == run and r["phase"] in PHASES]
            if len(rs) == len(PHASES):
                sums.append(sum(r[key] for r in rs))
        return sums

    def requests_cell(scenario, phase):
        req, bad = vals(scenario, phase, "requests"), vals(scenario, phase, "non2xx")
        if not req:
            return "–"
        return f"{spread(req, '{:.0f}')} ({median(bad):.0f})"

    out = [
        "### Terraform level: "
        + ", ".join(f"{s} {runs[s]} runs" for s in scenarios)
        + "; fresh moto per run; median (min–max)\n",
        "| metric | phase | ours | peer (measured here) | ours/peer | peer (published) |",
        "|---|---|---|---|---|---|",
    ]

    def row(metric, phase, ours, peer, rat, published):
        out.append(f"| {metric} | {phase} | {ours} | {peer if have_peer else 'not measured'} | {rat} | {published} |")

    metrics = [
        ("wall (s)", "wall_s", "{:.2f}"),
        ("CPU user+sys, Terraform + providers (s)", "cpu_s", "{:.2f}"),
        ("peak RSS of one provider process (MiB)", "provider_peak_mib", "{:.1f}"),
        ("provider processes started", "provider_procs", "{:.0f}"),
    ]
    for label, key, fmt in metrics:
        for phase in PHASES:
            o, p = vals("ours", phase, key), vals("peer", phase, key)
            if not o and not p:
                continue
            published = PUBLISHED.get(key, {}).get(phase, "")
            if key == "provider_peak_mib" and phase == "destroy":
                published = PUBLISHED[key]["all"] + " (max over phases)"
            row(label, PHASE_NAMES[phase], spread(o, fmt), spread(p, fmt), ratio(o, p), published)
        if key in ("wall_s", "cpu_s"):
            o, p = cycle("ours", key), cycle("peer", key)
            row(label, "**whole cycle**", spread(o, fmt), spread(p, fmt), ratio(o, p), "")
    for phase in PHASES[1:]:
        o, p = vals("ours", phase, "requests"), vals("peer", phase, "requests")
        row(
            "AWS requests reaching moto (non-2xx)",
            PHASE_NAMES[phase],
            requests_cell("ours", phase),
            requests_cell("peer", phase),
            ratio(o, p),
            PUBLISHED["requests"].get(phase, ""),
        )
    out.append("")

    for s in scenarios:
        rs = [r for r in records if r["scenario"] == s]
        failed = [
            f"{r['phase']} r{r['run']} (exit {r['rc']})"
            for r in rs
            if r["phase"] in PHASES and r["rc"] != 0 and not (r["phase"] == "plan2" and r["rc"] == 2)
        ]
        drift = sum(1 for r in rs if r["phase"] == "plan2" and r["rc"] == 2)
        leftovers = sum(r.get("leftover_providers", 0) for r in rs)
        state = [r["resources"] for r in rs if r["phase"] == "state"]
        data = [r.get("data", 0) for r in rs if r["phase"] == "state"]
        names = sorted({n for r in rs for n in r.get("provider_names", [])})
        out.append(
            f"- {s}: managed resources in state after apply {spread(state, '{:.0f}')} "
            f"(+{spread(data, '{:.0f}')} data); "
            f"2nd plan showed changes in {drift}/{runs[s]} runs; "
            f"failed phases: {', '.join(failed) if failed else 'none'}; "
            f"provider executable: {', '.join(names) or 'none seen'}"
            + (f"; **{leftovers} provider processes left running were killed**" if leftovers else "")
        )
    foreign = [r.get("foreign_cpu_pct") for r in records if r["phase"] in PHASES and r.get("foreign_cpu_pct") is not None]
    if foreign:
        worst = max(foreign)
        out.append(
            f"- CPU used by other processes during the phases, as % of the machine: median {median(foreign):.1f}, "
            f"max {worst:.1f}" + (" — **the machine was not idle: treat the figures with care**" if worst > 10 else "")
        )
    out.append(
        "- CPU is wait4() rusage of the Terraform launcher and every process it reaped "
        "(the providers). Peak RSS is max(VmHWM) over provider processes, sampled every 20 ms. "
        f"Peer published: ../shared/peer/RESULTS.md, {'vpc (a)' if os.environ.get('BP_BENCH_WORKLOAD') == 'vpc' else 'bucket (b)'}, Terraform 1.15.5, 5 runs."
    )
    print("\n".join(out))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "measure":
        sys.exit(measure(args))
    elif cmd == "warm":
        warm(args[0])
    elif cmd == "table":
        table(args[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
