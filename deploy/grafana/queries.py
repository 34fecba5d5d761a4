#!/usr/bin/env python3
"""The PromQL queries of deploy/grafana/bedrockguard-dashboard.json, for tests.

  queries.py                      print every panel query as JSON (the format of queries.json)
  queries.py --check FILE         exit 1 if FILE (queries.json) is not what the dashboard holds now
  queries.py --rules FILE         write the resolved queries as recording rules, for
                                  `promtool check rules FILE` (a PromQL syntax check offline)
  queries.py --prometheus URL [--range 15m | --start T --end T] [--step 5s]
                                  run every resolved query as a range query against a real
                                  Prometheus; exit 1 if one fails, or returns no finite value
                                  while it is expected to (event_driven: false)

Each entry: panel title, refId, expr (as in the dashboard), resolved (dashboard variables
replaced: $job, $instance, $model, $region, $mode by ".*", i.e. "All"; $__rate_interval by --rate-interval,
default 1m) and event_driven (true when the query reads a counter that exists only once
the event happened, such as an exhausted retry budget, or a gauge only keys with a tokens-per-day quota
have: no data is then not a failure).
Only the Python 3 standard library is used.
"""
import argparse
import json
import math
import os
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DASHBOARD = os.path.join(HERE, "bedrockguard-dashboard.json")

# Counters the OTel exporter shows only after their first increment, and the
# pacing store's errors (only with a shared store such as Redis, which the demo has not).
EVENT_DRIVEN = ("aws_bedrock_retry_budget_exhausted_total", "aws_bedrock_pacing_rejected_total",
                "aws_bedrock_pacing_store_errors_total", "aws_bedrock_tokens_per_day_")


def resolve(expr, rate_interval):
    for var in ("$job", "$instance", "$model", "$region", "$mode"):
        expr = expr.replace(var, ".*")
    return expr.replace("$__rate_interval", rate_interval)


def extract(dashboard, rate_interval):
    out = []
    for p in dashboard["panels"]:
        for t in p.get("targets", []):
            out.append({
                "panel": p["title"],
                "refId": t["refId"],
                "expr": t["expr"],
                "resolved": resolve(t["expr"], rate_interval),
                "event_driven": any(m in t["expr"] for m in EVENT_DRIVEN),
            })
    return out


def parse_duration(s):
    units = {"s": 1, "m": 60, "h": 3600}
    return float(s[:-1]) * units[s[-1]]


def run(queries, url, start, end, step):
    failed = 0
    for q in queries:
        params = urllib.parse.urlencode({"query": q["resolved"], "start": start, "end": end, "step": step})
        name = f'{q["panel"]} [{q["refId"]}]'
        try:
            with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/query_range?{params}", timeout=30) as r:
                body = json.load(r)
        except Exception as e:  # HTTP 400 carries PromQL errors
            detail = e.read().decode() if hasattr(e, "read") else str(e)
            print(f"FAIL  {name}: {detail}")
            failed += 1
            continue
        series = body["data"]["result"]
        finite = sum(1 for s in series for _, v in s["values"] if not math.isnan(float(v)))
        if finite == 0 and not q["event_driven"]:
            print(f"FAIL  {name}: no data ({len(series)} series, no finite value)")
            failed += 1
        else:
            tag = " (event-driven, no data)" if finite == 0 else ""
            print(f"ok    {name}: {len(series)} series, {finite} values{tag}")
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dashboard", default=DASHBOARD)
    ap.add_argument("--rate-interval", default="1m")
    ap.add_argument("--check", metavar="FILE")
    ap.add_argument("--rules", metavar="FILE")
    ap.add_argument("--prometheus", metavar="URL")
    ap.add_argument("--range", default="15m", help="with --prometheus: the last RANGE (default 15m)")
    ap.add_argument("--start", type=float)
    ap.add_argument("--end", type=float)
    ap.add_argument("--step", default="5s")
    a = ap.parse_args()
    with open(a.dashboard) as f:
        queries = extract(json.load(f), a.rate_interval)
    text = json.dumps(queries, indent=2) + "\n"
    if a.check:
        with open(a.check) as f:
            if f.read() != text:
                print(f"{a.check} is stale: regenerate with deploy/grafana/queries.py > {a.check}", file=sys.stderr)
                return 1
        print(f"{a.check}: {len(queries)} queries, up to date with the dashboard")
        return 0
    if a.rules:
        rules = [{"record": f"dashboard:query:{i}", "expr": q["resolved"]} for i, q in enumerate(queries)]
        with open(a.rules, "w") as f:
            json.dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, f, indent=2)  # JSON is YAML
        return 0
    if a.prometheus:
        end = a.end if a.end is not None else time.time()
        start = a.start if a.start is not None else end - parse_duration(a.range)
        failed = run(queries, a.prometheus, start, end, a.step)
        print(f"{len(queries) - failed}/{len(queries)} dashboard queries passed")
        return 1 if failed else 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
