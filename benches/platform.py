#!/usr/bin/env python3
"""Platform benchmark: `sopixi platform build` of many partner sites vs `sopixi build` of one site.

The partners' pages together are the one site's pages; both builds are timed, then both publishes
to one local S3 server.

    benches/platform.py [--partners 1000] [--pages 20] [--runs 3] [--no-deploy] [--keep]
                        [--own-templates PCT] [--sopixi BIN] [--baseline BIN] [--generate-only]
                        [--shards N]

Generates one corpus of partners x pages pages (benches/gen_corpus.py, its sopixi site
only): the single site. From it derives a partners folder of that many partner sites (p0000,
p0001 …), each a complete sopixi site: the corpus's site.yaml with its own title, the corpus's
theme, the home and section _index.md files it needs, and `pages` consecutive pages of the
corpus (its pages sorted by path, cut into equal slices: together they are the single site's
pages, each once). Both are cached under WORK/platform-P-N/. Then, each run into a fresh empty
folder deleted outside the timing (all at the end, unless --keep), alternately:
  single build      `sopixi build SINGLE -o OUT`
  platform build    `sopixi platform build PARTNERS --out OUT --jobs CORES` (no --to)
median wall time, CPU time (user+sys) and peak RSS (the child's rusage, or the sum over its
process tree sampled from /proc when that is more), the ratio platform/single (goal <= 1.5, issue 33), the
peak memory ratio (goal <= 1.0) and the overhead per partner. Then the no-change rerun of the
platform build into its existing output (goal < 2 s, every partner `skipped` in its --json
summary). Unless --no-deploy, starts SeaweedFS as benches/deploy.py does (loopback only,
telemetry off, one fresh bucket per tool and run) and times, alternately, on already built
folders: the single site's first deploy (`sopixi deploy --output BUILT --to s3://single-I/`),
the platform publish (`sopixi platform build PARTNERS --out BUILT --to s3://platform-I/sites`,
every partner's output already built, after one untimed publish to a bucket of its own: mostly
publishing), both no-change redeploys (every partner `skipped` from the target's state), and the
no-change run of a fresh worker (an empty --out: only the target's state index; goal <= 2 s and
<= 20 requests, the server's own count; with --baseline, that binary's publish and fresh
no-change run too, on buckets of their own). Prints
a final table of every figure with its goal and PASS/MISS. Run it alone on the machine: on 2
cores any other process skews every figure. --generate-only writes the two sites and stops.

--baseline BIN (another sopixi binary, e.g. one built from an earlier commit in a `git worktree`)
runs its single build and platform build in the same alternation (cold runs) and prints this
binary's figures against it: for changes that must not slow either.

--shards N replaces all of that with the nightly run as N Kubernetes Indexed Job workers would
do it, one after another here, each with a fresh --out, to one bucket (each shard's wall, CPU,
peak memory and requests), then no-change runs from fresh workers (all partners, and one shard):
the figures the book's cost model is checked against.

--own-templates PCT gives that percentage of the partners (the first ones) a `templates/base.html`
of their own: the catalog theme's, with a line naming the partner (so that no two share a
verdict). The platform opens each of them in Chromium before publishing it (its browser gate,
each run into a fresh folder: no verdict kept from an earlier run); compare the cold platform
build with the same command at 0.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# This file is named like the standard library's `platform`: keep its folder off the import path,
# so that no module importing `platform` gets this script instead.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

ROOT = os.path.dirname(HERE)
WORK = os.path.join(os.environ.get("HOME", "/tmp"), ".cache", "sopixi-bench")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.environ.get("HOME", "/tmp"), ".cache", "sopixi-target"))
GEN = os.path.join(ROOT, "benches", "gen_corpus.py")
STATE_FILES = {".sopixi-output.json", ".sopixi-deploy.json"}


def _load(name):
    """benches/NAME.py as a module (this file's folder is off the import path, see above)."""
    spec = importlib.util.spec_from_file_location("sopixi_bench_" + name, os.path.join(HERE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_deploy = _load("deploy")
settle = _load("settle")
Server, KEY, SECRET, diff = _deploy.Server, _deploy.KEY, _deploy.SECRET, _deploy.diff


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def setup(sopixi_bin, need_weed):
    os.makedirs(WORK, exist_ok=True)
    weed = None
    if need_weed:
        weed = sh([os.path.join(ROOT, "scripts", "s3-server"), "--install"], capture_output=True, text=True).stdout.strip()
    if sopixi_bin is None:
        sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT, env={**os.environ, "CARGO_TARGET_DIR": TARGET})
        sopixi_bin = os.path.join(TARGET, "release", "sopixi")
    sopixi_bin = os.path.abspath(sopixi_bin)
    if not os.access(sopixi_bin, os.X_OK):
        raise SystemExit("no sopixi binary at %s" % sopixi_bin)
    return {"sopixi": sopixi_bin, "weed": weed}


# --- the two sites -------------------------------------------------------------------------

def partner_ids(n):
    width = max(4, len(str(n - 1)))
    return ["p%0*d" % (width, i) for i in range(n)]


def generate(partners, pages, own=0.0):
    """The single site and the partners folder for `partners` x `pages` pages, cached, `own`
    percent of the partners with a template of their own: returns (single site folder, partners
    folder)."""
    base = os.path.join(WORK, "platform-%d-%d" % (partners, pages) + ("-own%g" % own if own else ""))
    single = os.path.join(base, "corpus", "sopixi")
    folder = os.path.join(base, "partners")
    if os.path.exists(os.path.join(base, "done-catalog-theme")):
        return single, folder
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    corpus = os.path.join(base, "corpus")
    sh([sys.executable, GEN, "--pages", str(partners * pages), "--out", corpus], stdout=subprocess.DEVNULL)
    for other in ("hugo", "zola"):  # only the sopixi site is used
        shutil.rmtree(os.path.join(corpus, other), ignore_errors=True)

    content = os.path.join(single, "content")
    files = sorted(os.path.relpath(os.path.join(d, f), content).replace(os.sep, "/")
                   for d, _, fs in os.walk(content) for f in fs
                   if f.endswith(".md") and not f.startswith("_index"))
    if len(files) != partners * pages:
        raise SystemExit("the corpus has %d pages, not %d" % (len(files), partners * pages))
    indexes = {os.path.relpath(os.path.join(d, f), content).replace(os.sep, "/")
               for d, _, fs in os.walk(content) for f in fs if f.startswith("_index") and f.endswith(".md")}
    with open(os.path.join(single, "site.yaml")) as fh:
        site_yaml = fh.read().splitlines()
    # Everything of the site but its content (site.yaml, themes/, templates/, static/ …) is each
    # partner's too; build outputs and dot-folders are not.
    # The corpus's theme is the platform's catalog theme (`--themes`), as for partners who chose
    # one: a theme in a partner's own folder is its own, which the platform opens in Chromium.
    shared = [n for n in sorted(os.listdir(single))
              if n not in ("content", "public", "site.yaml", "themes") and not n.startswith(".")]

    tmp = folder + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for k, pid in enumerate(partner_ids(partners)):
        root = os.path.join(tmp, pid)
        os.makedirs(root)
        lines = [("title: \"Bench %s\"" % pid) if l.startswith("title:") else l for l in site_yaml]
        with open(os.path.join(root, "site.yaml"), "w") as fh:
            fh.write("\n".join(lines) + "\n")
        for n in shared:
            src = os.path.join(single, n)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(root, n))
            else:
                shutil.copy2(src, os.path.join(root, n))
        mine = files[k * pages:(k + 1) * pages]
        need = set()
        for rel in mine:  # the _index.md of the home and of every section above a page
            parts = rel.split("/")[:-1]
            for i in range(len(parts) + 1):
                index = "/".join(parts[:i] + ["_index.md"])
                if index in indexes:
                    need.add(index)
        for rel in sorted(need) + mine:
            dst = os.path.join(root, "content", rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(content, rel), dst)
        if k < round(partners * own / 100.0):
            theme = [n for n in os.listdir(os.path.join(single, "themes"))][0]
            with open(os.path.join(single, "themes", theme, "templates", "base.html")) as fh:
                base_html = fh.read()
            os.makedirs(os.path.join(root, "templates"), exist_ok=True)
            with open(os.path.join(root, "templates", "base.html"), "w") as fh:
                fh.write(base_html.replace("</head>", "<meta name=\"generator-note\" content=\"%s\"></head>" % pid, 1))
    os.rename(tmp, folder)
    open(os.path.join(base, "done-catalog-theme"), "w").close()
    return single, folder


def describe(single, folder):
    def count(content):
        md = sections = 0
        for d, _, fs in os.walk(content):
            for f in fs:
                if f.startswith("_index"):
                    sections += d != content
                elif f.endswith(".md"):
                    md += 1
        return md, sections

    md, secs = count(os.path.join(single, "content"))
    ids = sorted(n for n in os.listdir(folder) if not n.startswith("."))
    per = [count(os.path.join(folder, p, "content")) for p in ids]
    print("single site: %d pages in %d sections (%s)" % (md, secs, single))
    print("partners:    %d sites, %d pages in all (%d-%d each), %d sections in all (%d-%d each) (%s)"
          % (len(ids), sum(p[0] for p in per), min(p[0] for p in per), max(p[0] for p in per),
             sum(p[1] for p in per), min(p[1] for p in per), max(p[1] for p in per), folder))


# --- running and measuring -----------------------------------------------------------------

def _tree_rss_kb(pid):
    """RSS of pid and all its descendants, in kB (0 once gone)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open("/proc/%d/status" % p) as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def run(cmd, env=None, what=None):
    """Runs cmd; returns {wall, cpu, rss (peak MB), stdout}. Its output goes to files, not pipes
    (a platform's stderr table of 1000 partners would fill a pipe). Exits on failure."""
    # The previous run's output is still being written back to disk: flush it first, so that no
    # run pays for another's writeback.
    os.sync()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        peak = [0]
        stop = threading.Event()

        def sample():  # for children the command may start: rusage gives the largest one only
            while not stop.is_set():
                peak[0] = max(peak[0], _tree_rss_kb(p.pid))
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        stop.set()
        sampler.join()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if p.returncode != 0:
        lines = stderr.splitlines()
        tail = "\n".join(lines[-200:])
        failed = ""
        summary = parse_json(stdout)
        if summary and isinstance(summary.get("results"), list):
            bad = [r for r in summary["results"] if r.get("status") == "failed"][:20]
            failed = "\n".join("  %s: %s" % (r.get("partner"), r.get("message")) for r in bad)
        raise SystemExit("failed (exit %d)%s: %s\n--- stdout (%d chars)\n%s\n%s--- stderr (last %d of %d lines)\n%s"
                         % (p.returncode, " in " + what if what else "", " ".join(cmd), len(stdout),
                            stdout[-4000:], ("--- failed partners\n%s\n" % failed) if failed else "",
                            min(200, len(lines)), len(lines), tail))
    rss = max(ru.ru_maxrss, peak[0]) / 1024.0
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": rss, "stdout": stdout}


def parse_json(stdout):
    """The JSON object a --json run printed on stdout (the whole of it, or its last JSON line)."""
    s = stdout.strip()
    if not s:
        return None
    try:
        return json.loads(s)
    except ValueError:
        pass
    for line in reversed(s.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def check_summary(r, partners, status, what):
    """Checks a platform --json summary: no partner failed, and how many have `status`. Returns
    that count (None when there is no summary)."""
    s = parse_json(r["stdout"])
    if not isinstance(s, dict):
        print("  warning: %s printed no JSON summary on stdout" % what)
        return None
    if s.get("failed"):
        raise SystemExit("%s: %s partners failed: %s" % (what, s.get("failed"), json.dumps(s)[:4000]))
    if s.get("partners") != partners:
        print("  warning: %s: the summary counts %s partners, not %d" % (what, s.get("partners"), partners))
    n = s.get(status)
    if n != partners:
        print("  warning: %s: %s partners %s, not %d" % (what, n, status, partners))
    return n


def files_in(folder, ids=None):
    """Files of a built output (without sopixi's state files); with ids, of its partners' folders."""
    roots = [os.path.join(folder, i) for i in ids] if ids else [folder]
    return sum(len([f for f in fs if f not in STATE_FILES]) for r in roots for _, _, fs in os.walk(r))


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--partners", type=int, default=1000)
    ap.add_argument("--pages", type=int, default=20, help="pages per partner")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-deploy", action="store_true", help="skip the S3 publishing part")
    ap.add_argument("--keep", action="store_true", help="keep the output folders (and print where)")
    ap.add_argument("--sopixi", help="use this sopixi binary instead of building the release one")
    ap.add_argument("--baseline", metavar="BIN", help="another sopixi binary, alternated with this one (cold builds)")
    ap.add_argument("--generate-only", action="store_true", help="write the two sites, print them, stop")
    ap.add_argument("--shards", type=int, default=0, metavar="N",
                    help="only: publish every partner in N shards, each a fresh worker, one after another, to one "
                         "bucket; then time no-change runs from fresh workers (the cost model's check)")
    ap.add_argument("--own-templates", type=float, default=0.0, metavar="PCT",
                    help="percent of the partners with a template of their own (opened in Chromium)")
    a = ap.parse_args()
    if a.partners < 1 or a.pages < 1 or a.runs < 1:
        ap.error("--partners, --pages and --runs must be at least 1")

    single, folder = generate(a.partners, a.pages, a.own_templates)
    describe(single, folder)
    if a.generate_only:
        return
    ids = partner_ids(a.partners)
    cores = os.cpu_count() or 1
    bins = setup(a.sopixi, not a.no_deploy)
    sopixi = bins["sopixi"]
    print("sopixi:", subprocess.run([sopixi, "--version"], capture_output=True, text=True).stdout.strip(),
          "| cores:", cores)
    if a.shards:
        return sharded(a, bins, single, folder, cores)

    def single_build(out, binary=None):
        return [binary or sopixi, "build", single, "-o", out]

    def platform_build(out, *extra, binary=None):
        return [binary or sopixi, "platform", "build", folder, "--out", out, "--jobs", str(cores), "--json",
                "--themes", os.path.join(single, "themes")] + list(extra)

    baseline = os.path.abspath(a.baseline) if a.baseline else None

    # Every run writes into a new folder; all are deleted at the end. (Deleting one just before
    # the next run makes ext4 scan its freshly freed inodes on every mkdir and create, which
    # adds seconds of kernel time to whichever command runs next.)
    outs = os.path.join(os.path.dirname(folder), "outs")
    settle.remove(outs, WORK)
    os.makedirs(outs)
    settle.wait(WORK)
    n = 0
    cold = {"single": [], "platform": []}
    base = {"single": [], "platform": []}
    out1 = out2 = None
    for _ in range(a.runs):
        n += 1
        out1 = os.path.join(outs, "%d-single" % n)
        cold["single"].append(run(single_build(out1), what="single build"))
        n += 1
        out2 = os.path.join(outs, "%d-platform" % n)
        r = run(platform_build(out2), what="platform build")
        check_summary(r, a.partners, "published", "platform build")
        cold["platform"].append(r)
        if baseline:
            n += 1
            base["single"].append(run(single_build(os.path.join(outs, "%d-single-b" % n), baseline),
                                      what="baseline single build"))
            n += 1
            r = run(platform_build(os.path.join(outs, "%d-platform-b" % n), binary=baseline),
                    what="baseline platform build")
            check_summary(r, a.partners, "published", "baseline platform build")
            base["platform"].append(r)
    if not os.path.exists(os.path.join(out2, "_routes.json")):
        print("  warning: the platform build wrote no %s" % os.path.join(out2, "_routes.json"))
    missing = [i for i in ids if not os.path.isdir(os.path.join(out2, i))]
    if missing:
        print("  warning: %d partners have no output folder under %s (first: %s)" % (len(missing), out2, missing[0]))
    files1, files2 = files_in(out1), files_in(out2, ids)

    # No-change reruns into the outputs just written.
    nochange = {"single": [], "platform": []}
    skipped = []
    for _ in range(a.runs):
        nochange["single"].append(run(single_build(out1), what="single no-change rebuild"))
        r = run(platform_build(out2), what="platform no-change rerun")
        skipped.append(check_summary(r, a.partners, "skipped", "platform no-change rerun"))
        nochange["platform"].append(r)

    deploy = None
    if not a.no_deploy:
        deploy = publish(a, bins, single, folder, out1, out2, cores)

    s, p = med(cold["single"], "wall"), med(cold["platform"], "wall")
    sm, pm = med(cold["single"], "rss"), med(cold["platform"], "rss")
    print("\n%d partners x %d pages = %d pages; single site %d files, partners %d files; %d runs each, medians:"
          % (a.partners, a.pages, a.partners * a.pages, files1, files2, a.runs))
    print("  %-28s %9s %9s %10s" % ("", "wall s", "cpu s", "peak MB"))
    for label, rows in (("single build (cold)", cold["single"]), ("platform build (cold)", cold["platform"]),
                        ("single no-change rebuild", nochange["single"]),
                        ("platform no-change rerun", nochange["platform"])):
        print("  %-28s %9.3f %9.3f %10.1f" % (label, med(rows, "wall"), med(rows, "cpu"), med(rows, "rss")))
    pairs = sorted(x["wall"] / y["wall"] for x, y in zip(cold["platform"], cold["single"]))
    print("  platform / single (cold): %.3f s / %.3f s = %.3f (run by run: median %.3f, %.3f-%.3f)"
          % (p, s, p / s, statistics.median(pairs), pairs[0], pairs[-1]))
    print("  per-partner overhead: (%.3f - %.3f) s / %d = %.2f ms" % (p, s, a.partners, 1000.0 * (p - s) / a.partners))
    print("  peak memory: platform %.0f MB, single %.0f MB = %.3f" % (pm, sm, pm / sm))
    if baseline:
        for kind in ("single", "platform"):
            b, t = med(base[kind], "wall"), med(cold[kind], "wall")
            pr = sorted(x["wall"] / y["wall"] for x, y in zip(cold[kind], base[kind]))
            print("  %s build, this / baseline: %.3f s / %.3f s = %.3f (run by run: median %.3f, %.3f-%.3f);"
                  " cpu %.3f / %.3f s; peak %.0f / %.0f MB"
                  % (kind, t, b, t / b, statistics.median(pr), pr[0], pr[-1], med(cold[kind], "cpu"),
                     med(base[kind], "cpu"), med(cold[kind], "rss"), med(base[kind], "rss")))
        bs, bp = med(base["single"], "wall"), med(base["platform"], "wall")
        print("  baseline: platform / single %.3f, per-partner overhead %.2f ms"
              % (bp / bs, 1000.0 * (bp - bs) / a.partners))
    print("  no-change rerun: skipped %s of %d partners" % ("/".join(str(k) for k in skipped), a.partners))

    all_skipped = all(k == a.partners for k in skipped)
    nc = med(nochange["platform"], "wall")
    rows = [
        ("cold build: platform / single", "%.3f" % (p / s), "<= 1.5", p / s <= 1.5),
        ("peak memory: platform / single", "%.3f" % (pm / sm), "<= 1.0", pm / sm <= 1.0),
        ("per-partner overhead", "%.2f ms" % (1000.0 * (p - s) / a.partners), "<= 2 ms",
         1000.0 * (p - s) / a.partners <= 2.0),
        ("no-change rerun", "%.3f s" % nc, "< 2 s", nc < 2.0),
        ("no-change rerun: all skipped", "%s/%d" % (min((k or 0) for k in skipped), a.partners),
         "= %d" % a.partners, all_skipped),
    ]
    if deploy:
        d = deploy
        print("\npublishing to SeaweedFS, on built folders (builds not timed); %d runs, fresh buckets, medians:" % a.runs)
        print("  %-34s %9s   %s" % ("", "wall s", "requests (last run)"))
        fmt = lambda q: " ".join("%s=%d" % kv for kv in q.items()) or "0"
        for key, label in (("single_first", "single first deploy"), ("platform_first", "platform publish (--to)"),
                           ("single_nochange", "single no-change deploy"),
                           ("platform_nochange", "platform no-change rerun (--to)"),
                           ("platform_fresh", "no-change, fresh worker (--to)"),
                           ("base_first", "baseline: platform publish"),
                           ("base_fresh", "baseline: no-change, fresh worker")):
            if d[key]:
                print("  %-34s %9.3f   %s" % (label, statistics.median(d[key]), fmt(d[key + "_req"])))
        fresh_req = sum(d["platform_fresh_req"].values())
        ratio = statistics.median(d["platform_first"]) / statistics.median(d["single_first"])
        print("  platform publish / single first deploy: %.3f" % ratio)
        if d["base_first"]:
            print("  baseline: platform publish / single first deploy: %.3f"
                  % (statistics.median(d["base_first"]) / statistics.median(d["single_first"])))
        print("  platform publish: published %s; no-change rerun (--to): skipped %s of %d partners"
              % ("/".join(str(k) for k in d["published"]), "/".join(str(k) for k in d["skipped"]), a.partners))
        print("  single first deploy:", " ".join(d["single_out"]))
        rows += [
            ("publish: platform / single first deploy", "%.3f" % ratio, "<= 2", ratio <= 2.0),
            ("publish: all published", "%s/%d" % (min((k or 0) for k in d["published"]), a.partners),
             "= %d" % a.partners, all(k == a.partners for k in d["published"])),
            ("no-change rerun (--to)", "%.3f s" % statistics.median(d["platform_nochange"]), "", None),
            ("no-change, fresh worker (--to)", "%.3f s" % statistics.median(d["platform_fresh"]), "<= 2 s",
             statistics.median(d["platform_fresh"]) <= 2.0),
            ("no-change, fresh worker: requests", "%d" % fresh_req, "<= 20", fresh_req <= 20),
            ("no-change rerun (--to): all skipped", "%s/%d" % (min((k or 0) for k in d["skipped"]), a.partners),
             "= %d" % a.partners, all(k == a.partners for k in d["skipped"])),
        ]

    print("\nsummary (%d partners x %d pages, %g %% with their own templates, %d runs, %d cores):"
          % (a.partners, a.pages, a.own_templates, a.runs, cores))
    print("  %-42s %12s %10s  %s" % ("figure", "value", "goal", "verdict"))
    for label, value, goal, ok in rows:
        print("  %-42s %12s %10s  %s" % (label, value, goal or "-", "-" if ok is None else ("PASS" if ok else "MISS")))

    if a.keep:
        print("\noutputs kept under", outs)
    else:
        settle.remove(outs, WORK)


def publish(a, bins, single, folder, out1, out2, cores):
    """Step 5: the single site's deploys and the platform's publishes, alternately, each run on
    fresh buckets, from the folders already built."""
    sopixi = bins["sopixi"]
    buckets = ["platform-warm", "platform-warm-b"] + ["%s-%d" % (k, i) for i in range(a.runs)
                                                      for k in ("single", "platform", "base")]
    server = Server(bins["weed"], buckets)
    try:
        endpoint = "http://127.0.0.1:%d" % server.port
        env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1"}
        for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            env.pop(k, None)

        def single_deploy(bucket):
            return [sopixi, "deploy", single, "--output", out1, "--to", "s3://%s/" % bucket,
                    "--endpoint", endpoint, "--json"]

        def platform_publish(bucket, out=None, binary=None):
            return [binary or sopixi, "platform", "build", folder, "--out", out or out2, "--jobs", str(cores),
                    "--themes", os.path.join(single, "themes"),
                    "--to", "s3://%s/sites" % bucket, "--endpoint", endpoint, "--json"]

        baseline = os.path.abspath(a.baseline) if a.baseline else None
        out2b = os.path.join(os.path.dirname(out2), "platform-baseline-warm")
        fresh = os.path.join(os.path.dirname(out2), "fresh")
        # Untimed: one publish onto a bucket of its own, so that the partners' local state in out2
        # is what a build with --to leaves (the timed publishes then only check it and upload).
        r = run(platform_publish("platform-warm"), env=env, what="platform warm-up publish")
        check_summary(r, a.partners, "published", "platform warm-up publish")
        if baseline:
            # The baseline's fingerprints differ (the binary is an input): its own built folder.
            r = run(platform_publish("platform-warm-b", out2b, baseline), env=env, what="baseline warm-up publish")
            check_summary(r, a.partners, "published", "baseline warm-up publish")
        d = {k: [] for k in ("single_first", "platform_first", "single_nochange", "platform_nochange",
                             "platform_fresh", "base_first", "base_fresh", "published", "skipped")}
        for i in range(a.runs):
            sb, pb, bb = "single-%d" % i, "platform-%d" % i, "base-%d" % i
            steps = [("single_first", single_deploy(sb), None),
                     ("platform_first", platform_publish(pb), "published"),
                     ("single_nochange", single_deploy(sb), None),
                     ("platform_nochange", platform_publish(pb), "skipped"),
                     # A fresh worker: no local state at all, only the target's.
                     ("platform_fresh", platform_publish(pb, "%s-%d" % (fresh, i)), "skipped")]
            if baseline:
                steps += [("base_first", platform_publish(bb, out2b, baseline), "published"),
                          ("base_fresh", platform_publish(bb, "%s-b-%d" % (fresh, i), baseline), "skipped")]
            for key, cmd, status in steps:
                before = server.requests()
                r = run(cmd, env=env, what=key.replace("_", " "))
                d[key + "_req"] = diff(before, server.requests())
                d[key].append(r["wall"])
                if status and not key.startswith("base"):
                    d["published" if status == "published" else "skipped"].append(
                        check_summary(r, a.partners, status, key.replace("_", " ")))
                elif status:
                    check_summary(r, a.partners, status, key.replace("_", " "))
                if key == "single_first":
                    out = r["stdout"].strip()
                    d["single_out"] = out.splitlines()[-1:] if out else []
        return d
    finally:
        server.stop()


def sharded(a, bins, single, folder, cores):
    """--shards N: the platform's nightly run as N Indexed Job workers would do it, one after
    another on this machine, each with a fresh --out: every partner built and published to one
    bucket. Then, a runs times, the no-change run of all partners from a fresh worker, and each
    shard's no-change run from a fresh worker, with the requests the server answered."""
    sopixi = bins["sopixi"]
    server = Server(bins["weed"], ["nightly"])
    work = os.path.join(os.path.dirname(folder), "sharded")
    settle.remove(work, WORK)
    os.makedirs(work)
    settle.wait(WORK)
    try:
        endpoint = "http://127.0.0.1:%d" % server.port
        env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1"}
        for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            env.pop(k, None)
        n = [0]

        def worker(*extra):
            n[0] += 1
            return [sopixi, "platform", "build", folder, "--out", os.path.join(work, "w%d" % n[0]),
                    "--jobs", str(cores), "--themes", os.path.join(single, "themes"),
                    "--to", "s3://nightly/sites", "--endpoint", endpoint, "--json"] + list(extra)

        per = a.partners // a.shards
        rows = []
        for i in range(a.shards):
            before = server.requests()
            r = run(worker("--shard", "%d/%d" % (i, a.shards)), env=env, what="shard %d/%d" % (i, a.shards))
            req = sum(diff(before, server.requests()).values())
            s = parse_json(r["stdout"]) or {}
            rows.append((i, r["wall"], r["cpu"], r["rss"], req, s.get("published"), s.get("partners")))
        print("\n%d partners x %d pages in %d shards, each a fresh worker, one after another:" % (
            a.partners, a.pages, a.shards))
        print("  %-8s %9s %9s %9s %10s %12s" % ("shard", "wall s", "cpu s", "peak MB", "requests", "published"))
        for i, w, c, m, q, pub, parts in rows:
            print("  %-8s %9.3f %9.3f %9.1f %10d %6s/%-5s" % ("%d/%d" % (i, a.shards), w, c, m, q, pub, parts))
        print("  %-8s %9.3f %9.3f %9s %10d" % ("all", sum(r[1] for r in rows), sum(r[2] for r in rows), "",
                                               sum(r[4] for r in rows)))
        fresh, shard0 = [], []
        for _ in range(a.runs):
            before = server.requests()
            r = run(worker(), env=env, what="no-change run from a fresh worker")
            fresh.append((r["wall"], sum(diff(before, server.requests()).values()), r["cpu"]))
            check_summary(r, a.partners, "skipped", "no-change run from a fresh worker")
            before = server.requests()
            r = run(worker("--shard", "0/%d" % a.shards), env=env, what="shard 0 no-change run from a fresh worker")
            shard0.append((r["wall"], sum(diff(before, server.requests()).values()), r["cpu"]))
            check_summary(r, (a.partners + a.shards - 1) // a.shards, "skipped", "shard no-change run")
        fw = statistics.median(x[0] for x in fresh)
        fq = max(x[1] for x in fresh)
        print("  no-change, all %d partners, fresh worker: %.3f s wall, %.3f s cpu, %d requests (median of %d; "
              "requests: most)" % (a.partners, fw, statistics.median(x[2] for x in fresh), fq, a.runs))
        print("  no-change, shard 0/%d (%d partners), fresh worker: %.3f s wall, %d requests"
              % (a.shards, per, statistics.median(x[0] for x in shard0), max(x[1] for x in shard0)))
        print("\nsummary:")
        print("  %-42s %12s %10s  %s" % ("no-change, fresh worker, %d partners" % a.partners, "%.3f s" % fw,
                                         "<= 2 s", "PASS" if fw <= 2 else "MISS"))
        print("  %-42s %12d %10s  %s" % ("no-change, fresh worker: requests", fq, "<= 20",
                                         "PASS" if fq <= 20 else "MISS"))
    finally:
        server.stop()
        if not a.keep:
            settle.remove(work, WORK)


if __name__ == "__main__":
    main()
