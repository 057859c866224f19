#!/usr/bin/env python3
"""Compare cellproof-qr's shipped engine with zxing-cpp on the QR corpus and the hard set, in one run.

Requirements (this script installs nothing):  pip install zxing-cpp pillow
Run from the repository root (`cargo xtask qr-compare` installs the two and runs this):

    python3 scripts/qr_compare.py [--corpus tests/qr-corpus] [--hard tests/qr-hard] [--fast]
                                  [--repeat N] [--json out.json]

Columns: "shipped" is cellproof-qr as the CLI runs it (Engine::Combined: zxing-cpp through the
`zxing-cpp` crate first, our rxing cascade where it found nothing), "rxing" our cascade alone
(Engine::Rxing, the wasm32 build's engine), "zx-crate" the crate's zxing-cpp alone
(Engine::ZxingCpp), "zxing-cpp" the PyPI build. The hard set (tests/qr-hard/labels.json, made by
scripts/qr_hard_gen.py) counts codes, not images: a frame of the "many" category holds 4 to 30.
It also reports two combinations computed from the per-image results of rxing and PyPI
zxing-cpp: both engines on every frame (union of texts, time added up) and zxing-cpp first with
our cascade only on frames where zxing-cpp found nothing (what "shipped" does in one process).

Both decoders get the same 8-bit luma image (Pillow's convert("L") on the Python side, the
`image` crate's to_luma8 on the Rust side; both use the ITU-R 601 weights) and only the decode
call is timed; with --repeat N every image is decoded N times by every engine and the fastest
time kept (the least disturbed figure on a shared machine). An image counts as decoded when any returned text equals NAME.txt exactly.
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
        found, ms = timed(lambda: zxingcpp.read_barcodes(luma, formats=zxingcpp.BarcodeFormat.QRCode))
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
        found, ms = timed(lambda: zxingcpp.read_barcodes(luma, formats=zxingcpp.BarcodeFormat.QRCode))
        results[name] = {"file": name, "texts": [b.text for b in found], "ms": ms}
    return results


BIN = None  # --bin: a prebuilt corpus example instead of `cargo run`
REPEAT = 1  # --repeat: decode every image this many times, keep the fastest time


def timed(f):
    """f() REPEAT times: its last result and the fastest time in ms."""
    best = float("inf")
    for _ in range(max(1, REPEAT)):
        start = time.perf_counter()
        out = f()
        best = min(best, (time.perf_counter() - start) * 1000.0)
    return out, best


def rust_cmd():
    if BIN:
        return [BIN]
    return ["cargo", "run", "--quiet", "--profile", "bench", "-p", "cellproof-qr",
            "--example", "corpus", "--"]


ENGINES = ("combined", "rxing", "zxing-cpp")


def run_rust_dir(folder, fast, engine):
    cmd = rust_cmd() + [os.path.abspath(folder), "--dir", "--engine", engine,
                        "--repeat", str(REPEAT)]
    if fast:
        cmd.append("--fast")
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return {r["file"]: r for r in map(json.loads, filter(None, map(str.strip, out.splitlines())))}


def hard_report(folder, fast):
    """Per-category codes found on the hard set, ours beside zxing-cpp, and time per frame."""
    with open(os.path.join(folder, "labels.json"), encoding="utf-8") as f:
        labels = json.load(f)["images"]
    rust = {e: run_rust_dir(folder, fast, e) for e in ENGINES}
    shipped, ours, crate = rust["combined"], rust["rxing"], rust["zxing-cpp"]
    theirs = run_zxingcpp_dir(folder)
    cats = collections.OrderedDict()
    false_pos = []
    for lab in labels:
        name = lab["file"]
        exp = set(lab["texts"])
        s = set(shipped[name]["texts"])
        o = set(ours[name]["texts"])
        k = set(crate[name]["texts"])
        z = set(theirs[name]["texts"])
        c = cats.setdefault(lab["category"], collections.Counter())
        c["frames"] += 1
        c["codes"] += len(exp)
        c["shipped"] += len(exp & s)
        c["ours"] += len(exp & o)
        c["crate"] += len(exp & k)
        c["zx"] += len(exp & z)
        c["union"] += len(exp & (o | z))
        c["zx_then_ours"] += len(exp & (z if z else o))
        false_pos += [(name, t) for t in (s | o | k | z) - exp]
    tot = collections.Counter()
    for c in cats.values():
        tot.update(c)
    cols = (("shipped", "shipped"), ("rxing", "ours"), ("zx-crate", "crate"),
            ("zxing-cpp", "zx"), ("both", "union"), ("zx->ours", "zx_then_ours"))
    print(f"\nhard set ({folder}): codes found")
    print(f"{'category':<14} {'frames':>6} {'codes':>6} " + " ".join(f"{h:>9}" for h, _ in cols))
    for name, c in list(cats.items()) + [("TOTAL", tot)]:
        print(f"{name:<14} {c['frames']:>6} {c['codes']:>6} "
              + " ".join(f"{c[k]:>9}" for _, k in cols))
    n = tot["codes"]
    print(f"{'rate':<14} {'':>6} {'':>6} "
          + " ".join(f"{100.0 * tot[k] / n:>8.1f}%" for _, k in cols))
    both = {k: ours[k]["ms"] + theirs[k]["ms"] for k in ours}
    chain = {k: theirs[k]["ms"] + (ours[k]["ms"] if not theirs[k]["texts"] else 0) for k in ours}
    print_times("hard set", (("shipped", shipped), ("rxing", ours), ("zx-crate", crate),
                             ("zxing-cpp", theirs), ("both", both), ("zx->ours", chain)))
    print(f"false positives (texts not in the frame): {len(false_pos)}")
    for name, t in false_pos:
        print(f"  {name}: {t[:60]!r}")
    return {"shipped": shipped, "cellproof_qr": ours, "zxing_cpp_crate": crate,
            "zxing_cpp": theirs}


def print_times(what, engines):
    """Decode time per image: median, mean, max, sum, and the ratio to PyPI zxing-cpp's."""
    stats = {}
    for label, rows in engines:
        ms = [r["ms"] if isinstance(r, dict) else r for r in rows.values()]
        stats[label] = (statistics.median(ms), statistics.mean(ms), max(ms), sum(ms))
    ref = stats.get("zxing-cpp")
    for label, (med, mean, mx, total) in stats.items():
        ratio = f", {total / ref[3]:.2f}x zxing-cpp's sum" if ref and ref[3] else ""
        print(f"{what} {label:<10} ms per image: median {med:.2f}, mean {mean:.2f}, "
              f"max {mx:.1f}, sum {total:.0f}{ratio}")


def run_rust(corpus, fast, engine):
    cmd = rust_cmd() + [os.path.abspath(corpus), "--engine", engine, "--repeat", str(REPEAT)]
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
    ap.add_argument("--repeat", type=int, default=1,
                    help="decode every image N times per engine, keep the fastest time")
    ap.add_argument("--bin", help="prebuilt `corpus` example (cargo build --profile bench "
                    "-p cellproof-qr --example corpus) instead of cargo run")
    args = ap.parse_args()
    global BIN, REPEAT
    BIN = args.bin
    REPEAT = args.repeat

    from importlib.metadata import version
    print(f"zxing-cpp {version('zxing-cpp')} (PyPI), cellproof-qr "
          f"{'Effort::Fast' if args.fast else 'Effort::Thorough'}")
    rust = {e: run_rust(args.corpus, args.fast, e) for e in ENGINES}
    shipped, ours, crate = rust["combined"], rust["rxing"], rust["zxing-cpp"]
    theirs = run_zxingcpp(args.corpus)
    files = sorted(set(ours) | set(theirs))
    engines = (("shipped", shipped), ("rxing", ours), ("zx-crate", crate), ("zxing-cpp", theirs))

    per_folder = collections.defaultdict(lambda: [0] * (1 + len(engines)))
    for f in files:
        folder = f.split("/", 1)[0]
        row = per_folder[folder]
        row[0] += 1
        for i, (_, rows) in enumerate(engines):
            row[1 + i] += bool(rows.get(f, {}).get("expected_ok"))

    print(f"{'folder':<20} {'images':>6} " + " ".join(f"{h:>9}" for h, _ in engines))
    tot = [0] * (1 + len(engines))
    for folder in sorted(per_folder):
        row = per_folder[folder]
        tot = [a + b for a, b in zip(tot, row)]
        print(f"{folder:<20} {row[0]:>6} " + " ".join(f"{v:>9}" for v in row[1:]))
    print(f"{'TOTAL':<20} {tot[0]:>6} " + " ".join(f"{v:>9}" for v in tot[1:]))
    print(f"{'rate':<20} {'':>6} " + " ".join(f"{100.0 * v / tot[0]:>8.1f}%" for v in tot[1:]))
    print_times("corpus", engines)

    only_ours = [f for f in files if shipped.get(f, {}).get("expected_ok")
                 and not theirs.get(f, {}).get("expected_ok")]
    only_theirs = [f for f in files if theirs.get(f, {}).get("expected_ok")
                   and not shipped.get(f, {}).get("expected_ok")]
    neither = [f for f in files if not shipped.get(f, {}).get("expected_ok")
               and not theirs.get(f, {}).get("expected_ok")]
    print(f"\nonly cellproof-qr shipped ({len(only_ours)}):")
    for f in only_ours:
        print(f"  {f}  (step {shipped[f].get('step')})")
    print(f"only zxing-cpp (PyPI) ({len(only_theirs)}):")
    for f in only_theirs:
        print(f"  {f}")
    print(f"neither ({len(neither)}):")
    for f in neither:
        print(f"  {f}")

    hard = hard_report(args.hard, args.fast) if args.hard else None

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"shipped": shipped, "cellproof_qr": ours, "zxing_cpp_crate": crate,
                       "zxing_cpp": theirs, "hard": hard}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
