#!/usr/bin/env python3
"""Live-preview benchmark: save-to-reload latency of `sopixi serve`.

    benches/serve.py [--pages 1000] [--edits 20] [--bin PATH]

Generates a corpus (benches/gen_corpus.py), starts `sopixi serve` on a free loopback port
and connects a live-reload client (Server-Sent Events, as the page script does; Python stdlib
only). Then, for a one-page Markdown edit and for a stylesheet edit, `--edits` times: writes the
file, and measures the time from just before the write to the `reload` (or `css`) message
reaching the client. Prints median and worst per kind, and the server's own build times.

Goal (issue 5): Markdown edit median < 50 ms, worst < 150 ms on 1,000 pages. Run it alone: on
2 cores any other process skews every figure (and wait while /tmp/sopixi-quiet exists).
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import queue
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.environ.get("HOME", "/tmp"), ".cache", "sopixi-target"))
GEN = os.path.join(ROOT, "benches", "gen_corpus.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sse_client(port, events):
    """Reads the event stream; puts (arrival time, event name, data) on `events`."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/_sopixi/dev/events", headers={"Accept": "text/event-stream"})
    resp = conn.getresponse()
    name = None
    while True:
        line = resp.fp.readline()
        if not line:
            return
        line = line.decode().rstrip("\r\n")
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            events.put((time.perf_counter(), name, json.loads(line[5:].strip())))


def status(port):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/_sopixi/dev/status")
    return json.loads(conn.getresponse().read())


def wait_event(events, want, timeout=10.0):
    while True:
        t, name, data = events.get(timeout=timeout)
        if name == want:
            return t, data
        if name == "failed":
            raise SystemExit(f"the build failed: {data}")


def measure(port, events, path, variants, want, edits):
    latencies, builds = [], []
    for i in range(edits):
        text = variants(i)
        time.sleep(0.15)  # let the previous build settle; not part of the measure
        t0 = time.perf_counter()
        with open(path, "w") as f:
            f.write(text)
        t1, _ = wait_event(events, want)
        latencies.append((t1 - t0) * 1000)
        builds.append(status(port)["last_ms"])
    return latencies, builds


def report(label, lat, builds):
    print(f"{label:<16} median {statistics.median(lat):6.1f} ms   worst {max(lat):6.1f} ms   "
          f"(server build: median {statistics.median(builds):5.1f} ms, worst {max(builds):5.1f} ms; n={len(lat)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--bin", help="sopixi binary [default: build the release one]")
    args = ap.parse_args()
    if os.path.exists("/tmp/sopixi-quiet"):
        sys.exit("/tmp/sopixi-quiet exists: another benchmark is running; try again later")
    binary = args.bin
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True,
                       env={**os.environ, "CARGO_TARGET_DIR": TARGET})
        binary = os.path.join(TARGET, "release", "sopixi")
    work = tempfile.mkdtemp(prefix="sopixi-serve-bench-")
    server = None
    try:
        subprocess.run([sys.executable, GEN, "--pages", str(args.pages), "--out", work], check=True,
                       stdout=subprocess.DEVNULL)
        site = os.path.join(work, "sopixi")
        os.makedirs(os.path.join(site, "static"), exist_ok=True)
        css = os.path.join(site, "static", "bench.css")
        with open(css, "w") as f:
            f.write("body { color: #000 }\n")
        port = free_port()
        server = subprocess.Popen([binary, "serve", site, "--port", str(port)], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        for line in server.stdout:
            if "Serving at" in line:
                break
        else:
            sys.exit("sopixi serve did not start")
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
        events = queue.Queue()
        threading.Thread(target=sse_client, args=(port, events), daemon=True).start()
        wait_event(events, "hello")

        # One page in the middle of the corpus: its section listing, tags and feeds change too.
        pages = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(site, "content"))
                       for f in fs if f.endswith(".md") and not f.startswith("_"))
        page = pages[len(pages) // 2]
        original = open(page).read()
        md_lat, md_builds = measure(port, events, page,
                                    lambda i: original.replace("\n\n", f"\n\nEdit number {i} of the benchmark.\n\n", 1),
                                    "reload", args.edits)
        print(f"sopixi serve, {args.pages} pages, save-to-reload latency (file write → message at the client):")
        report("markdown edit", md_lat, md_builds)
        # Each edit a colour the file never had (the first one differs from the initial #000).
        css_lat, css_builds = measure(port, events, css, lambda i: f"body {{ color: #{i + 1:03x} }}\n", "css",
                                      args.edits)
        report("css edit", css_lat, css_builds)
    finally:
        if server:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
