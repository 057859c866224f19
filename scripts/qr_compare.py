#!/usr/bin/env python3
"""Compare cellproof-qr (rxing cascade) with zxing-cpp on the QR corpus and the hard set, in one run.

Requirements (this script installs nothing):  pip install zxing-cpp pillow
Run from the repository root (`cargo xtask qr-compare` installs the two and runs this):

    python3 scripts/qr_compare.py [--corpus tests/qr-corpus] [--hard tests/qr-hard] [--fast]
                                  [--json out.json]

The hard set (tests/qr-hard/labels.json, made by scripts/qr_hard_gen.py) counts codes, not
images: a frame of the "many" category holds 4 to 30. It also reports two combinations
computed from the same per-image results: both engines on every frame (union of texts, time
added up) and zxing-cpp first with our cascade only on frames where zxing-cpp found nothing.

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


def run_zxingcpp_dir(folder):
    import zxingcpp
    from PIL import Image

    results = {}
    for name in sorted(os.listdir(folder)):
        if os.path.splitext(name)[1].lower() not in IMAGE_EXTS:
            continue
        luma = Image.open(os.path.join(folder, name)).convert("L")
        start = time.perf_counter()
        found = zxingcpp.read_barcodes(luma, formats=zxingcpp.BarcodeFormat.QRCode)
        ms = (time.perf_counter() - start) * 1000.0
        results[name] = {"file": name, "texts": [b.text for b in found], "ms": ms}
    return results


BIN = None  # --bin: a prebuilt corpus example instead of `cargo run`


def rust_cmd():
    if BIN:
        return [BIN]
    return ["cargo", "run", "--quiet", "--profile", "bench", "-p", "cellproof-qr",
            "--example", "corpus", "--"]


def run_rust_dir(folder, fast):
    cmd = rust_cmd() + [os.path.abspath(folder), "--dir"]
    if fast:
        cmd.append("--fast")
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return {r["file"]: r for r in map(json.loads, filter(None, map(str.strip, out.splitlines())))}


def hard_report(folder, fast):
    """Per-category codes found on the hard set, ours beside zxing-cpp, and time per frame."""
    with open(os.path.join(folder, "labels.json"), encoding="utf-8") as f:
        labels = json.load(f)["images"]
    ours = run_rust_dir(folder, fast)
    theirs = run_zxingcpp_dir(folder)
    cats = collections.OrderedDict()
    false_pos = []
    for lab in labels:
        name = lab["file"]
        exp = set(lab["texts"])
        o = set(ours[name]["texts"])
        z = set(theirs[name]["texts"])
        c = cats.setdefault(lab["category"], collections.Counter())
        c["frames"] += 1
        c["codes"] += len(exp)
        c["ours"] += len(exp & o)
        c["zx"] += len(exp & z)
        c["union"] += len(exp & (o | z))
        c["zx_then_ours"] += len(exp & (z if z else o))
        false_pos += [(name, t) for t in (o | z) - exp]
    tot = collections.Counter()
    for c in cats.values():
        tot.update(c)
    print(f"\nhard set ({folder}): codes found")
    print(f"{'category':<14} {'frames':>6} {'codes':>6} {'cellproof-qr':>12} {'zxing-cpp':>10} "
          f"{'both':>6} {'zx->ours':>9}")
    for name, c in list(cats.items()) + [("TOTAL", tot)]:
        print(f"{name:<14} {c['frames']:>6} {c['codes']:>6} {c['ours']:>12} {c['zx']:>10} "
              f"{c['union']:>6} {c['zx_then_ours']:>9}")
    n = tot["codes"]
    print(f"{'rate':<14} {'':>6} {'':>6} {100.0 * tot['ours'] / n:>11.1f}% "
          f"{100.0 * tot['zx'] / n:>9.1f}% {100.0 * tot['union'] / n:>5.1f}% "
          f"{100.0 * tot['zx_then_ours'] / n:>8.1f}%")
    o_ms = [r["ms"] for r in ours.values()]
    z_ms = [r["ms"] for r in theirs.values()]
    both = [ours[k]["ms"] + theirs[k]["ms"] for k in ours]
    chain = [theirs[k]["ms"] + (ours[k]["ms"] if not theirs[k]["texts"] else 0) for k in ours]
    for label, ms in (("cellproof-qr", o_ms), ("zxing-cpp", z_ms), ("both", both),
                      ("zx->ours", chain)):
        print(f"{label:<13} ms per frame: median {statistics.median(ms):.1f}, "
              f"mean {statistics.mean(ms):.1f}, max {max(ms):.0f}")
    print(f"false positives (texts not in the frame): {len(false_pos)}")
    for name, t in false_pos:
        print(f"  {name}: {t[:60]!r}")
    return {"cellproof_qr": ours, "zxing_cpp": theirs}


def run_rust(corpus, fast):
    cmd = rust_cmd() + [os.path.abspath(corpus)]
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
    ap.add_argument("--hard", default="tests/qr-hard", help="the hard set ('' to skip)")
    ap.add_argument("--fast", action="store_true", help="run the Rust side with Effort::Fast")
    ap.add_argument("--json", help="also write all per-image rows to this file")
    ap.add_argument("--bin", help="prebuilt `corpus` example (cargo build --profile bench "
                    "-p cellproof-qr --example corpus) instead of cargo run")
    args = ap.parse_args()
    global BIN
    BIN = args.bin

    from importlib.metadata import version
    print(f"zxing-cpp {version('zxing-cpp')} (PyPI), cellproof-qr "
          f"{'Effort::Fast' if args.fast else 'Effort::Thorough'}")
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

    hard = hard_report(args.hard, args.fast) if args.hard else None

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"cellproof_qr": ours, "zxing_cpp": theirs, "hard": hard}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
