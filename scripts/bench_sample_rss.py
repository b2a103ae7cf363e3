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
    req0, bad0 = moto_requests(moto_log) if moto_log else (0, 0)

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


def table(path):
    records = [json.loads(line) for line in open(path) if line.strip()]
    scenarios = []
    for r in records:
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])
    have_peer = "peer" in scenarios

    def values(scenario, phase, key):
        return [r.get(key) for r in records if r["scenario"] == scenario and r["phase"] == phase]

    runs = {s: len({r["run"] for r in records if r["scenario"] == s}) for s in scenarios}
    out = []
    out.append(
        "### Terraform level: same Terraform, fresh moto per run "
        + ", ".join(f"{s}: {runs[s]} runs" for s in scenarios)
        + "; median (min–max)\n"
    )
    head = [
        "phase",
        "wall s, ours",
        "wall s, peer",
        "ours/peer",
        "CPU s ours / peer",
        "provider peak RSS MiB, ours",
        "provider peak RSS MiB, peer",
        "ours/peer",
        "AWS requests ours / peer (non-2xx)",
        "provider processes ours / peer",
    ]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for phase in PHASES:
        o = lambda k: values("ours", phase, k)  # noqa: E731
        p = lambda k: values("peer", phase, k) if have_peer else []  # noqa: E731

        def pair(key, fmt="{:.0f}", extra=None):
            def one(vals, bad):
                if not vals:
                    return "–"
                s = fmt.format(median(vals))
                if extra and bad:
                    s += f" ({fmt.format(median(bad))})"
                return s

            return one(o(key), o(extra) if extra else None) + " / " + one(p(key), p(extra) if extra else None)

        out.append(
            "| "
            + " | ".join(
                [
                    PHASE_NAMES[phase],
                    spread(o("wall_s")),
                    spread(p("wall_s")) if have_peer else "not measured",
                    ratio(o("wall_s"), p("wall_s")),
                    pair("cpu_s", "{:.2f}"),
                    spread(o("provider_peak_mib"), "{:.1f}"),
                    spread(p("provider_peak_mib"), "{:.1f}") if have_peer else "not measured",
                    ratio(o("provider_peak_mib"), p("provider_peak_mib")),
                    pair("requests", extra="non2xx"),
                    pair("provider_procs"),
                ]
            )
            + " |"
        )
    out.append("")

    # Per-scenario facts.
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
        total_wall = sum(median([r["wall_s"] for r in rs if r["phase"] == ph] or [0]) for ph in PHASES)
        out.append(
            f"- {s}: managed resources in state after apply {spread(state, '{:.0f}')} "
            f"(+{spread(data, '{:.0f}')} data); "
            f"2nd plan showed changes in {drift}/{runs[s]} runs; "
            f"failed phases: {', '.join(failed) if failed else 'none'}; "
            f"sum of median phase walls {total_wall:.2f} s; "
            f"provider executables: {', '.join(names) or 'none seen'}"
            + (f"; **{leftovers} provider processes left running were killed**" if leftovers else "")
        )
    if have_peer:
        o_total = sum(median([r["wall_s"] for r in records if r["scenario"] == "ours" and r["phase"] == ph] or [0]) for ph in PHASES)
        p_total = sum(median([r["wall_s"] for r in records if r["scenario"] == "peer" and r["phase"] == ph] or [0]) for ph in PHASES)
        if p_total:
            out.append(f"- whole cycle (sum of median phase walls) ours/peer: {o_total / p_total:.2f}")
    out.append(
        "- peer, published (RESULTS.md, bucket (b), Terraform 1.15.5, 5 runs): wall s "
        "init 0.28, plan 1.37, apply 5.35, 2nd plan 1.55, destroy 2.26; requests 1/61/37/106 "
        "(plan/apply/plan2/destroy); provider peak RSS 113.3 MiB (max over phases)"
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
