"""The browser benchmark's comparison: the same actions as spud's driver (session start, open a
local page, an accessibility snapshot, click -> snapshot, peak RSS) through Playwright's Python
client, driving the same Debian Chromium. Run by tests/benches/browser.rs:
python browser_playwright.py URL RUNS CHROMIUM
"""

import os
import sys
import time

from playwright.sync_api import sync_playwright


def tree(pid):
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
                parents[int(name)] = int(stat[stat.rfind(")") + 2 :].split()[1])
            except OSError:
                pass
    out, i = [pid], 0
    while i < len(out):
        out += [p for p, pp in parents.items() if pp == out[i]]
        i += 1
    return out


def hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pct(v, p):
    v = sorted(v)
    return v[round((len(v) - 1) * p)]


def main():
    url, runs, exe = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rows = {k: [] for k in ["start", "open", "snapshot", "click", "rss"]}
    with sync_playwright() as p:
        for _ in range(runs):
            t = time.perf_counter()
            browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
            page = browser.new_page()
            rows["start"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            page.goto(url + "/")
            rows["open"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            page.locator("body").aria_snapshot()
            rows["snapshot"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            page.get_by_role("link", name="Blue teapot").click()
            page.wait_for_load_state()
            snap = page.locator("body").aria_snapshot()
            rows["click"].append((time.perf_counter() - t) * 1000)
            assert "In stock" in snap, snap
            # The browser process is a child of Playwright's driver (node), itself our child.
            rss = sum(hwm(q) for q in tree(os.getpid()) if q != os.getpid())
            rows["rss"].append(rss / (1 << 20))
            browser.close()
    print("| what | p50 | p95 |\n|---|---|---|")
    for key, label in [
        ("start", "session start (launch + first page)"),
        ("open", "open a local page"),
        ("snapshot", "aria snapshot"),
        ("click", "click -> snapshot"),
        ("rss", "peak RSS of the session incl. the node driver (MiB)"),
    ]:
        print(f"| {label} | {pct(rows[key], 0.5):.1f} | {pct(rows[key], 0.95):.1f} |")


if __name__ == "__main__":
    main()
