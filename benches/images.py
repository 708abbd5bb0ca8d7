#!/usr/bin/env python3
"""Image benchmark: sopixi vs Hugo on the same 100 photos, side by side in one run.

    benches/images.py [--images 100] [--runs 3]

Uses the image-processing variants of benches/gen_corpus.py (`--images N`): a home page
that resizes every 2400×1600 JPEG to 480, 960 and 1600 px wide (`resize_image` for sopixi,
`.Resize` for Hugo). Alternately, each into a fresh output folder:
  - cold: image cache deleted first (sopixi's `.sopixi-cache/`, Hugo's `resources/` and cache dir);
  - warm: cache kept, fresh output folder (every page rendered, every image taken from the cache);
  - no-change: the same output folder again (sopixi only: nothing to do).
Then the cost of the automatic WebP variants: the same photos as Markdown images (`![](…)`, each a
`<picture>` at the same three widths), cold, with `images.webp` on and off.
Prints medians of wall time, CPU time and peak RSS, and the ratios. Run it alone: on 2 cores any
other process skews every figure.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build import GEN, WORK, run, setup  # noqa: E402  (same venv, binaries and timing)


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    bins = setup()
    corpus = os.path.join(WORK, "corpus-img-%d" % a.images)
    if not os.path.exists(os.path.join(corpus, "sopixi-imgproc")):
        subprocess.run([sys.executable, GEN, "--pages", "10", "--images", str(a.images), "--out", corpus],
                       check=True, stdout=subprocess.DEVNULL)
    site = os.path.join(corpus, "sopixi-imgproc")
    hugo_site = os.path.join(corpus, "hugo-imgproc")
    # The WebP variant: the photos as Markdown images on the home page.
    md_site = os.path.join(corpus, "sopixi-markdown")
    if not os.path.exists(md_site):
        shutil.copytree(site, md_site, ignore=shutil.ignore_patterns(".sopixi-cache"))
        names = sorted(os.listdir(os.path.join(md_site, "static", "images")))
        with open(os.path.join(md_site, "content", "_index.md"), "w") as f:
            f.write("---\ntitle: Home\n---\n" + "".join("![photo %s](/images/%s)\n\n" % (n, n) for n in names))
        with open(os.path.join(md_site, "themes", "bench", "templates", "index.html"), "w") as f:
            f.write('{% extends "base.html" %}{% block main %}{{ section.content | safe }}{% endblock main %}\n')
    md_nowebp = md_site + "-nowebp"
    if not os.path.exists(md_nowebp):
        shutil.copytree(md_site, md_nowebp)
        with open(os.path.join(md_nowebp, "site.yaml"), "a") as f:
            f.write("images:\n  webp: false\n")

    outs = os.path.join(WORK, "outs-img")
    fresh(outs)
    os.makedirs(outs)
    n = [0]

    def out():
        n[0] += 1
        return os.path.join(outs, str(n[0]))

    def sopixi(s, o):
        return [bins["sopixi"], "build", s, "-o", o]

    def hugo(o, cache):
        return [bins["hugo"], "--quiet", "--source", hugo_site, "--destination", o, "--cacheDir", cache]

    res = {k: [] for k in ("sopixi cold", "hugo cold", "sopixi warm", "hugo warm", "sopixi no-change",
                           "markdown+webp cold", "markdown jpeg-only cold")}
    for _ in range(a.runs):
        fresh(os.path.join(site, ".sopixi-cache"))
        res["sopixi cold"].append(run(sopixi(site, out())))
        fresh(os.path.join(hugo_site, "resources"))
        hugo_cache = out()
        res["hugo cold"].append(run(hugo(out(), hugo_cache)))
        res["sopixi warm"].append(run(sopixi(site, out())))
        res["hugo warm"].append(run(hugo(out(), hugo_cache)))
        o = out()
        run(sopixi(site, o))
        res["sopixi no-change"].append(run(sopixi(site, o)))
        for name, s in (("markdown+webp cold", md_site), ("markdown jpeg-only cold", md_nowebp)):
            fresh(os.path.join(s, ".sopixi-cache"))
            o = out()
            res[name].append(run(sopixi(s, o)))

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    def size(folder, ext):
        return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.endswith(ext))

    print("%d images (2400x1600 JPEG) x 3 widths, %d runs each, medians:" % (a.images, a.runs))
    print("  %-26s %9s %9s %10s" % ("", "wall s", "cpu s", "peak MB"))
    for name, rows in res.items():
        print("  %-26s %9.3f %9.3f %10.1f" % (name, med(rows, 0), med(rows, 1), med(rows, 2)))
    sc, hc = med(res["sopixi cold"], 0), med(res["hugo cold"], 0)
    print("  hugo / sopixi (cold):  %.2fx faster" % (hc / sc))
    print("  hugo / sopixi (warm):  %.2fx faster (sopixi warm %.3f s)" % (med(res["hugo warm"], 0) / med(res["sopixi warm"], 0),
                                                                         med(res["sopixi warm"], 0)))
    w, j = med(res["markdown+webp cold"], 0), med(res["markdown jpeg-only cold"], 0)
    last_md = os.path.join(outs, str(n[0] - 1), "processed_images")
    print("  automatic WebP variants: +%.3f s cold (%.3f s with, %.3f s without, +%.0f%%)" % (w - j, w, j, 100 * (w - j) / j))
    if os.path.isdir(last_md):
        jb, wb = size(last_md, ".jpg"), size(last_md, ".webp")
        print("  bytes: JPEG variants %.1f MB, WebP variants %.1f MB (%.0f%% of JPEG)" % (jb / 1e6, wb / 1e6, 100 * wb / jb))
    fresh(outs)


if __name__ == "__main__":
    main()
