#!/usr/bin/env python3
"""Releases benchmark: a deploy in place vs a deploy as a release, and rollback, on one site.

    benches/releases.py [--pages 10000] [--runs 3] [--sopixi BIN]

Generates the corpus (benches/gen_corpus.py, its sopixi site), builds it once (not timed),
starts SeaweedFS (scripts/s3-server, loopback only, telemetry off, as benches/deploy.py does),
then on two prefixes of one bucket:
  first publish     `sopixi deploy --output BUILT --to s3://B/inplace` and `… --to s3://B/releases
                    --releases`, each onto an empty prefix
  one-page edit     one page's text edited, site rebuilt (not timed), then both publishes, alternately
                    in place and as a release (median of --runs, a different edit each run)
  rollback          `sopixi releases rollback --to s3://B/releases` and back by id, whole process
                    (median of 2 x --runs); the objects written by each (only `_releases.json`)
Prints wall times, objects uploaded and copied, and the requests the server answered (its
Prometheus metrics, by type), and the ratio release / in place. Run it alone on the machine.
"""
import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("deploy_bench", os.path.join(HERE, "deploy.py"))
d = importlib.util.module_from_spec(spec)
spec.loader.exec_module(d)


def edit(page, n):
    with open(page, "a") as f:
        f.write("\nEdit number %d of the releases benchmark.\n" % n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sopixi", help="use this sopixi binary instead of building the release one")
    a = ap.parse_args()
    bins = d.setup(a.sopixi)
    corpus = os.path.join(d.WORK, "corpus-%d" % a.pages)
    if not os.path.exists(os.path.join(corpus, "sopixi")):
        d.sh([sys.executable, d.GEN, "--pages", str(a.pages), "--out", corpus], stdout=subprocess.DEVNULL)
    work = os.path.join(d.WORK, "releases-%d" % a.pages)
    shutil.rmtree(work, ignore_errors=True)
    site = os.path.join(work, "sopixi")
    shutil.copytree(os.path.join(corpus, "sopixi"), site)
    out = os.path.join(work, "out")
    page = None
    for dirpath, _, names in sorted(os.walk(os.path.join(site, "content"))):
        md = sorted(n for n in names if n.endswith(".md") and not n.startswith("_"))
        if md:
            page = os.path.join(dirpath, md[len(md) // 2])
            break
    server = d.Server(bins["weed"], ["releases-bench"])
    try:
        endpoint = "http://127.0.0.1:%d" % server.port
        env = {**os.environ, "AWS_ACCESS_KEY_ID": d.KEY, "AWS_SECRET_ACCESS_KEY": d.SECRET, "AWS_REGION": "us-east-1"}
        for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            env.pop(k, None)
        build = [bins["sopixi"], "build", site, "-o", out]
        base = [bins["sopixi"], "deploy", site, "--output", out, "--endpoint", endpoint, "--json"]
        modes = {
            "in place": base + ["--to", "s3://releases-bench/inplace"],
            "release": base + ["--to", "s3://releases-bench/releases", "--releases"],
        }

        def publish(mode):
            before = server.requests()
            wall, stdout = d.timed(modes[mode], env)
            j = json.loads(stdout.strip().splitlines()[-1])
            dep = j.get("deploy", j)
            return {"wall": wall, "uploaded": dep.get("uploaded"), "copied": j.get("copied", 0),
                    "requests": d.diff(before, server.requests())}

        d.sh(build, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        files = sum(len([f for f in n if f != ".sopixi-output.json"]) for _, _, n in os.walk(out))
        rows = {"first": {m: publish(m) for m in modes}}
        edits = {m: [] for m in modes}
        for i in range(a.runs):
            edit(page, i)
            d.sh(build, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for m in modes:
                edits[m].append(publish(m))
        rollback = []
        target = "s3://releases-bench/releases"
        listed = json.loads(d.timed([bins["sopixi"], "releases", "list", "--to", target, "--endpoint", endpoint,
                                     "--json"], env)[1])
        live = listed["live"]
        for _ in range(a.runs):
            for cmd in (["rollback"], ["rollback", live]):
                before = server.requests()
                wall, _ = d.timed([bins["sopixi"], "releases"] + cmd + ["--to", target, "--endpoint", endpoint,
                                                                        "--json"], env)
                rollback.append({"wall": wall, "requests": d.diff(before, server.requests())})
    finally:
        server.stop()

    def med(xs, k):
        return statistics.median(x[k] for x in xs)

    print("releases benchmark: %d pages, %d files, %d runs" % (a.pages, files, a.runs))
    print("%-22s %10s %10s %9s %9s  %s" % ("", "wall (s)", "uploaded", "copied", "requests", "by type"))
    for m in modes:
        r = rows["first"][m]
        print("%-22s %10.2f %10s %9s %9d  %s" % ("first, " + m, r["wall"], r["uploaded"], r["copied"],
                                                sum(r["requests"].values()), r["requests"]))
    for m in modes:
        e = edits[m]
        last = e[-1]
        print("%-22s %10.2f %10s %9s %9d  %s" % ("one-page edit, " + m, med(e, "wall"), last["uploaded"],
                                                last["copied"], sum(last["requests"].values()), last["requests"]))
    print("%-22s %10.3f %10s %9s %9d  %s" % ("rollback (process)", med(rollback, "wall"), 0, 0,
                                            sum(rollback[-1]["requests"].values()), rollback[-1]["requests"]))
    print("ratio release / in place, one-page edit: wall %.2f" % (med(edits["release"], "wall") / med(edits["in place"], "wall")))


if __name__ == "__main__":
    main()
