#!/usr/bin/env python3
"""Compare cellproof-qr (rxing cascade) with zxing-cpp on the QR corpus, in one run.

Requirements (this script installs nothing):  pip install zxing-cpp pillow
Run from the repository root:

    python3 scripts/qr_compare.py [--corpus tests/qr-corpus] [--fast] [--json out.json]

Both decoders get the same 8-bit luma image (Pillow's convert("L") on the Python side, the
`image` crate's to_luma8 on the Rust side; both use the ITU-R 601 weights) and only the decode
call is timed. An image counts as decoded when any returned text equals NAME.txt exactly.
The structured-append parts zxingcpp-qrcode-7/01-*.png have no NAME.txt and are skipped.
"""

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")


def corpus_images(corpus):
    """Yield (relative name, path, expected text) for every image with a NAME.txt."""
    for folder in sorted(os.listdir(corpus)):
        fdir = os.path.join(corpus, folder)
        if not os.path.isdir(fdir):
            continue
        for name in sorted(os.listdir(fdir)):
            stem, ext = os.path.splitext(name)
            if ext.lower() not in IMAGE_EXTS:
                continue
            txt = os.path.join(fdir, stem + ".txt")
            if not os.path.exists(txt):
                continue
            with open(txt, "rb") as f:
                expected = f.read().decode("utf-8")
            yield f"{folder}/{name}", os.path.join(fdir, name), expected


def run_zxingcpp(corpus):
    import zxingcpp  # imported here so --help works without it
    from PIL import Image

    results = {}
    for rel, path, expected in corpus_images(corpus):
        luma = Image.open(path).convert("L")
        start = time.perf_counter()
        found = zxingcpp.read_barcodes(luma, formats=zxingcpp.BarcodeFormat.QRCode)
        ms = (time.perf_counter() - start) * 1000.0
        ok = any(b.text == expected for b in found)
        results[rel] = {"file": rel, "expected_ok": ok, "ms": ms}
    return results


def run_rust(corpus, fast):
    cmd = ["cargo", "run", "--quiet", "--profile", "bench", "-p", "cellproof-qr",
           "--example", "corpus", "--", os.path.abspath(corpus)]
    if fast:
        cmd.append("--fast")
    # stderr is left to the terminal so build errors are visible.
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    results = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            row = json.loads(line)
            results[row["file"]] = row
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="tests/qr-corpus")
    ap.add_argument("--fast", action="store_true", help="run the Rust side with Effort::Fast")
    ap.add_argument("--json", help="also write all per-image rows to this file")
    args = ap.parse_args()

    ours = run_rust(args.corpus, args.fast)
    theirs = run_zxingcpp(args.corpus)
    files = sorted(set(ours) | set(theirs))

    per_folder = collections.defaultdict(lambda: [0, 0, 0])  # images, ours, zxing-cpp
    for f in files:
        folder = f.split("/", 1)[0]
        per_folder[folder][0] += 1
        per_folder[folder][1] += bool(ours.get(f, {}).get("expected_ok"))
        per_folder[folder][2] += bool(theirs.get(f, {}).get("expected_ok"))

    print(f"{'folder':<20} {'images':>6} {'cellproof-qr':>12} {'zxing-cpp':>10}")
    tot = [0, 0, 0]
    for folder in sorted(per_folder):
        n, a, b = per_folder[folder]
        tot = [tot[0] + n, tot[1] + a, tot[2] + b]
        print(f"{folder:<20} {n:>6} {a:>12} {b:>10}")
    n, a, b = tot
    print(f"{'TOTAL':<20} {n:>6} {a:>12} {b:>10}")
    print(f"{'rate':<20} {'':>6} {100.0 * a / n:>11.1f}% {100.0 * b / n:>9.1f}%")

    def times(rows):
        ms = [r["ms"] for r in rows.values()]
        return statistics.median(ms), max(ms), sum(ms)

    for name, rows in (("cellproof-qr", ours), ("zxing-cpp", theirs)):
        med, mx, total = times(rows)
        print(f"{name:<13} decode ms: median {med:.2f}, max {mx:.1f}, sum {total:.0f}")

    only_ours = [f for f in files if ours.get(f, {}).get("expected_ok")
                 and not theirs.get(f, {}).get("expected_ok")]
    only_theirs = [f for f in files if theirs.get(f, {}).get("expected_ok")
                   and not ours.get(f, {}).get("expected_ok")]
    neither = [f for f in files if not ours.get(f, {}).get("expected_ok")
               and not theirs.get(f, {}).get("expected_ok")]
    print(f"\nonly cellproof-qr ({len(only_ours)}):")
    for f in only_ours:
        print(f"  {f}  (step {ours[f].get('step')})")
    print(f"only zxing-cpp ({len(only_theirs)}):")
    for f in only_theirs:
        print(f"  {f}")
    print(f"neither ({len(neither)}):")
    for f in neither:
        print(f"  {f}")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"cellproof_qr": ours, "zxing_cpp": theirs}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
