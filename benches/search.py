#!/usr/bin/env python3
"""Search benchmark: sopixi's build-time index vs Pagefind (npm) on the same built pages, side by side.

    benches/search.py [--pages 10000] [--runs 3] [--queries 20] [--sopixi BIN]

Generates the corpus (benches/gen_corpus.py, its sopixi site) and gives its theme a search page.
Then, alternately (median of --runs):
  build, search on      `sopixi build SITE -o OUT` (writes the index)
  build, search off     the same site with `search: false` in site.yaml
  pagefind              `pagefind --site OUT` over the pages sopixi wrote (npm's pagefind, installed
                        under WORK/node on first use)
Then the index sizes (every file of `_search/` and of `pagefind/`), and in headless Chromium (loopback
only; Debian's chromium and chromedriver) for each engine, each query with an empty cache:
  bytes fetched         for a one-word and a three-word query, the ten best results with their
                        excerpt data (sopixi: manifest, term chunks, document chunks, client script;
                        Pagefind: its entry, script, WASM, index chunks, fragments)
  time to results       from the query to the ten results' data, median of --queries queries, warm
  keystroke to results  in each engine's own search page (sopixi: the theme's search page and its
                        client; Pagefind: its default UI, pagefind-ui.js), typed into: from the
                        last key's keydown to the first result link in the page, median of
                        --queries queries, HTTP cache on (a visitor typing); each UI with its own
                        default delay after a key (sopixi 60 ms, Pagefind UI 300 ms), reported
  relevance             for 50 pages, a query made of their title's words: is the page in the top 3?
Prints every figure and the ratio sopixi / Pagefind. Run it alone on the machine.
"""
import argparse
import functools
import http.server
import importlib.util
import json
import os
import shutil
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("deploy_bench", os.path.join(HERE, "deploy.py"))
d = importlib.util.module_from_spec(spec)
spec.loader.exec_module(d)

PAGEFIND = "1.6.0"
SEARCH_HTML = """{% extends "base.html" %}
{% block main %}
<form role="search" action="{{ search.url }}" data-search-index="{{ search.index }}" data-lang="{{ search.lang }}">
<label for="q">Search</label> <input id="q" type="search" name="q"></form>
<p data-search-count role="status"></p><ol data-search-results></ol>
<script src="{{ search.script }}" defer></script>
{% endblock main %}
"""


def pagefind_bin():
    node = os.path.join(d.WORK, "node")
    exe = os.path.join(node, "node_modules", ".bin", "pagefind")
    if not os.path.exists(exe):
        os.makedirs(node, exist_ok=True)
        d.sh(["npm", "install", "--silent", "--prefix", node, "pagefind@%s" % PAGEFIND], stdout=subprocess.DEVNULL)
    return exe


def size_of(path):
    total = 0
    for root, _, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, n)) for n in names)
    return total


SERVED = []  # (path, bytes) of every file the server sent: what the browser fetched, workers included


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        super().do_GET()
        path = self.translate_path(self.path)
        if os.path.isfile(path):
            SERVED.append((self.path, os.path.getsize(path)))

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


Quiet.extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                        ".js": "text/javascript", ".json": "application/json"}


class WebDriver:
    def __init__(self):
        self.port = d.free_ports(1)[0]
        self.proc = subprocess.Popen(["chromedriver", "--port=%d" % self.port], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/status" % self.port, timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,800"]}}}}
        self.sid = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        req = urllib.request.Request(url, method=method, data=json.dumps(body or {}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=300) as r:
            return json.loads(r.read())["value"]

    def go(self, url):
        self.call("POST", "/session/%s/url" % self.sid, {"url": url})

    def js(self, script):
        return self.call("POST", "/session/%s/execute/sync" % self.sid, {"script": script, "args": []})

    def cache_off(self):
        self.call("POST", "/session/%s/goog/cdp/execute" % self.sid, {"cmd": "Network.enable", "params": {}})
        self.call("POST", "/session/%s/goog/cdp/execute" % self.sid,
                  {"cmd": "Network.setCacheDisabled", "params": {"cacheDisabled": True}})

    def cache(self, on):
        self.call("POST", "/session/%s/goog/cdp/execute" % self.sid,
                  {"cmd": "Network.setCacheDisabled", "params": {"cacheDisabled": not on}})

    def key(self, ch):
        for ty in ("keyDown", "keyUp"):
            params = {"type": ty, "key": ch}
            if ty == "keyDown":
                params["text"] = ch
            self.call("POST", "/session/%s/goog/cdp/execute" % self.sid, {"cmd": "Input.dispatchKeyEvent", "params": params})

    def quit(self):
        try:
            self.call("DELETE", "/session/%s" % self.sid)
        finally:
            self.proc.terminate()


# Each engine's query: the ten best results with their data; returns their URLs.
SOPIXI_Q = """
const q = arguments[0];
const f = document.querySelector('form[data-search-index]');
const r = await window.siteSearch.search(f.dataset.searchIndex, f.dataset.lang, q);
if (!r.manifest) return [];
return (await window.siteSearch.docs(r, r.hits.slice(0, 10))).map(row => row[0]);
"""
PAGEFIND_Q = """
const q = arguments[0];
window.__pf = window.__pf || await import('/pagefind/pagefind.js');
const r = await window.__pf.search(q);
const data = await Promise.all(r.results.slice(0, 10).map(x => x.data()));
return data.map(x => x.url);
"""
# Each engine's own search page: the box, and what shows a result.
UI = {"sopixi": ("/search/", "form[data-search-index] input[name=q]", "[data-search-results] a"),
      "pagefind": ("/pf-ui/", ".pagefind-ui__search-input", ".pagefind-ui__result-link")}
PF_UI_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pagefind UI</title>
<script src="/pagefind/pagefind-ui.js"></script></head><body><div id="search"></div>
<script>window.addEventListener('DOMContentLoaded', () => new PagefindUI({element: '#search', showImages: false, showSubResults: false}));</script>
</body></html>
"""
# Empties the box (its results go), then puts all of the query but its last character in it
# without an input event; watches for the first result once a key is down.
UI_PREP = """
const box = document.querySelector(BOX), res = RES;
box.focus();
box.value = '';
box.dispatchEvent(new Event('input', {bubbles: true}));
await new Promise(r => setTimeout(r, 900));
box.value = PREFIX;
window.__t0 = 0; window.__t1 = 0;
if (!window.__obs) {
  window.__obs = new MutationObserver(() => {
    if (window.__t0 && !window.__t1 && document.querySelector(res)) window.__t1 = performance.now();
  });
  window.__obs.observe(document.body, {childList: true, subtree: true, characterData: true});
  box.addEventListener('keydown', () => { if (!window.__t0) window.__t0 = performance.now(); }, true);
}
return document.querySelectorAll(res).length;
"""
UI_WAIT = """
for (let i = 0; i < 500 && !window.__t1; i++) await new Promise(r => setTimeout(r, 10));
return window.__t1 ? window.__t1 - window.__t0 : null;
"""
BYTES = """
return performance.getEntriesByType('resource').filter(e => e.name.includes(arguments[0]))
  .reduce((n, e) => n + (e.encodedBodySize || e.transferSize || 0), 0);
"""


def run_query(wd, engine, q):
    script = (SOPIXI_Q if engine == "sopixi" else PAGEFIND_Q).replace("arguments[0]", json.dumps(q))
    return wd.js("return (async () => {" + script + "})();")


def keystroke(wd, base, engine, queries):
    """Milliseconds from the last key of each query to its first result in the engine's page."""
    page, box, res = UI[engine]
    wd.go(base + page)
    time.sleep(1)
    out = []
    for i, q in enumerate(["theme", "cookie"] + queries):
        prep = UI_PREP.replace("BOX", json.dumps(box)).replace("RES", json.dumps(res)).replace("PREFIX", json.dumps(q[:-1]))
        left = wd.js("return (async () => {" + prep + "})();")
        wd.key(q[-1])
        ms = wd.js("return (async () => {" + UI_WAIT + "})();")
        if ms is None or left:
            raise SystemExit("%s: no result shown for %r (or the last one stayed: %s)" % (engine, q, left))
        if i >= 2:
            out.append(ms)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--sopixi", help="use this sopixi binary instead of building the release one")
    ap.add_argument("--no-pagefind", action="store_true", help="sopixi's figures only (a large corpus)")
    a = ap.parse_args()
    bins = d.setup(a.sopixi)
    pf = pagefind_bin()
    corpus = os.path.join(d.WORK, "corpus-%d" % a.pages)
    if not os.path.exists(os.path.join(corpus, "sopixi")):
        d.sh([sys.executable, d.GEN, "--pages", str(a.pages), "--out", corpus], stdout=subprocess.DEVNULL)
    work = os.path.join(d.WORK, "search-%d" % a.pages)
    shutil.rmtree(work, ignore_errors=True)
    on, off = os.path.join(work, "on"), os.path.join(work, "off")
    for site in (on, off):
        shutil.copytree(os.path.join(corpus, "sopixi"), site)
        theme = os.path.join(site, "themes", os.listdir(os.path.join(site, "themes"))[0], "templates")
        with open(os.path.join(theme, "search.html"), "w") as f:
            f.write(SEARCH_HTML)
    with open(os.path.join(off, "site.yaml"), "a") as f:
        f.write("search: false\n")
    times = {"on": [], "off": [], "pagefind": []}
    for i in range(a.runs):
        # Alternate which goes first, and let the disk write back what the last build left
        # before each one: neither build pays for the other's files.
        for key, site in (("on", on), ("off", off))[::1 if i % 2 == 0 else -1]:
            out = os.path.join(work, "out-%s-%d" % (key, i))
            os.sync()
            time.sleep(1)
            t = time.perf_counter()
            d.sh([bins["sopixi"], "build", site, "-o", out], stdout=subprocess.DEVNULL)
            times[key].append(time.perf_counter() - t)
        if a.no_pagefind:
            continue
        out = os.path.join(work, "out-on-%d" % i)
        os.sync()
        t = time.perf_counter()
        d.sh([pf, "--site", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times["pagefind"].append(time.perf_counter() - t)
    out = os.path.join(work, "out-on-0")
    for i in range(1, a.runs):
        shutil.rmtree(os.path.join(work, "out-on-%d" % i), ignore_errors=True)
        shutil.rmtree(os.path.join(work, "out-off-%d" % i), ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    sizes = {"sopixi": size_of(os.path.join(out, "_search")), "pagefind": size_of(os.path.join(out, "pagefind"))}
    largest = {"sopixi": max(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(os.path.join(out, "_search")) for n in ns)}
    engines = ["sopixi"] if a.no_pagefind else ["sopixi", "pagefind"]
    pf_pages = 0
    if not a.no_pagefind:
        indexed = json.load(open(os.path.join(out, "pagefind", "pagefind-entry.json")))
        pf_pages = sum(l.get("page_count", 0) for l in indexed.get("languages", {}).values())
        os.makedirs(os.path.join(out, "pf-ui"), exist_ok=True)
        with open(os.path.join(out, "pf-ui", "index.html"), "w") as f:
            f.write(PF_UI_PAGE)

    # Pages and their titles, for the queries.
    titles = []
    for root, _, names in sorted(os.walk(os.path.join(on, "content"))):
        for n in sorted(names):
            if n.endswith(".md") and not n.startswith("_"):
                with open(os.path.join(root, n)) as f:
                    head = f.read(400)
                t = head.split("title:", 1)[1].split("\n", 1)[0].strip().strip('"')
                rel = os.path.relpath(os.path.join(root, n[:-3]), os.path.join(on, "content"))
                titles.append((t, "/" + rel.replace(os.sep, "/") + "/"))
    step = max(1, len(titles) // 50)
    probes = titles[::step][:50]

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=out))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % server.server_address[1]
    wd = WebDriver()
    fetched, latency, relevance, keys = {}, {}, {}, {}
    words = ["garden", "bakery", "parallel", "notice", "cookie", "static", "elegant", "reload", "secure", "photo"]
    queries = [words[i % len(words)] + ("" if i < len(words) else " " + words[(i * 3) % len(words)])
               for i in range(a.queries)]
    try:
        wd.cache_off()
        one, three = "garden", "garden parallel bakery"
        for engine, marker in (("sopixi", "/_search/"), ("pagefind", "/pagefind/"))[:len(engines)]:
            for name, q in (("one word", one), ("three words", three)):
                # Counted where the files are served (a script's workers fetch too), and
                # cross-checked with the page's own resource timing.
                del SERVED[:]
                wd.go(base + "/search/")
                run_query(wd, engine, q)
                served = sum(n for p, n in SERVED if marker in p)
                seen = wd.js(BYTES.replace("arguments[0]", json.dumps(marker)))
                fetched[(engine, name)] = max(served, seen)
            wd.go(base + "/search/")
            run_query(wd, engine, "warm")
            lat = []
            for q in queries:
                t = time.perf_counter()
                run_query(wd, engine, q)
                lat.append(time.perf_counter() - t)
            latency[engine] = statistics.median(lat)
            hits, missed = 0, []
            for title, path in probes:
                urls = run_query(wd, engine, title)
                found = any(u.rstrip("/").endswith(path.rstrip("/")) for u in urls[:3])
                hits += found
                if not found:
                    missed.append((title, path, urls[:3]))
            relevance[engine] = hits
            for m in missed[:3]:
                print("  %s missed: %r (%s), top 3: %s" % (engine, m[0], m[1], m[2]))
        wd.cache(True)
        for engine in engines:
            keys[engine] = keystroke(wd, base, engine, queries)
    finally:
        wd.quit()
        server.shutdown()

    pf = lambda table, key, default=float("nan"): table.get(key, default)
    print("search benchmark: %d pages, %d runs, %d queries; Pagefind %s indexed %d pages" %
          (a.pages, a.runs, a.queries, "(not run)" if a.no_pagefind else PAGEFIND, pf_pages))
    print("  cold build, search on              %8.3f s  (runs: %s)" % (med["on"], " ".join("%.2f" % x for x in times["on"])))
    print("  cold build, search off             %8.3f s  (runs: %s)" % (med["off"], " ".join("%.2f" % x for x in times["off"])))
    print("  added by the index                 %8.3f s  (%.1f %% of the build without it; goal <= 10 %%)" %
          (med["on"] - med["off"], 100 * (med["on"] - med["off"]) / med["off"]))
    if not a.no_pagefind:
        print("  pagefind --site (after the build)  %8.3f s" % med["pagefind"])
    files = sum(len(ns) for _, _, ns in os.walk(os.path.join(out, "_search")))
    print("  index: sopixi %d bytes in %d files, largest %d bytes; Pagefind %d bytes (%.2f)" %
          (sizes["sopixi"], files, largest["sopixi"], sizes["pagefind"], sizes["sopixi"] / max(1, sizes["pagefind"])))
    for name in ("one word", "three words"):
        s, p = fetched[("sopixi", name)], pf(fetched, ("pagefind", name), 0)
        print("  bytes fetched, %-11s sopixi %8d  Pagefind %8d  (%.2f; goal < 1)" % (name, s, p, s / max(1, p)))
    print("  query to 10 results (warm, median): sopixi %.1f ms, Pagefind %.1f ms" %
          (latency["sopixi"] * 1000, pf(latency, "pagefind") * 1000))
    print("  keystroke to first result in the page (median; UI delay after a key: sopixi 60 ms, Pagefind UI 300 ms):"
          " sopixi %.1f ms, Pagefind UI %.1f ms" % (keys["sopixi"], pf(keys, "pagefind")))
    print("  relevance (page in top 3, of %d): sopixi %d, Pagefind %s" %
          (len(probes), relevance["sopixi"], relevance.get("pagefind", "-")))


if __name__ == "__main__":
    main()
