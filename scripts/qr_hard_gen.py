#!/usr/bin/env python3
"""Generate the hard QR decoder set tests/qr-hard/ (docs/qr-decoder.md, "The hard set").

Real Cellproof credentials (versions 17 and 21, from crates/cli/examples/qr_hard_codes.rs) are
rendered and degraded the way phone photos of battery labels are: rotation, perspective,
optical blur, curvature around 18650 and 21700 cells, specular glare, low contrast, sensor
noise with strong JPEG compression, partial damage, and frames holding 4 to 30 codes at
different sizes and angles. Everything is deterministic from --seed; every degradation
parameter is recorded in labels.json beside the expected texts.

Requirements (this script installs nothing):  pip install numpy pillow
Run from the repository root:

    cargo run -q -p cellproof-cli --example qr_hard_codes -- 40 > /tmp/codes.jsonl
    python3 scripts/qr_hard_gen.py --codes /tmp/codes.jsonl --out tests/qr-hard
"""

import argparse
import io
import json
import math
import os

import numpy as np
from PIL import Image, ImageFilter

QUIET = 4  # modules of quiet zone printed around every code
PER_CATEGORY = 8


def code_bitmap(modules, quiet=QUIET):
    """1.0 = dark module, 0.0 = light, with the quiet zone, as a float array."""
    n = len(modules)
    a = np.zeros((n + 2 * quiet, n + 2 * quiet), dtype=np.float32)
    for y, row in enumerate(modules):
        a[y + quiet, quiet:quiet + n] = [c == "1" for c in row]
    return a


def sample(bitmap, u, v):
    """Dark fraction at module coordinates (u, v) with 4x4 supersampling already folded in by
    the caller; outside the bitmap = light (0)."""
    h, w = bitmap.shape
    ui = np.floor(u).astype(np.int64)
    vi = np.floor(v).astype(np.int64)
    inside = (ui >= 0) & (vi >= 0) & (ui < w) & (vi < h)
    out = np.zeros(u.shape, dtype=np.float32)
    out[inside] = bitmap[vi[inside], ui[inside]]
    return out, inside


def homography(src, dst):
    """3x3 H with H @ [src, 1] ~ [dst, 1] for four point pairs."""
    a = []
    b = []
    for (x, y), (X, Y) in zip(src, dst):
        a.append([x, y, 1, 0, 0, 0, -X * x, -X * y])
        a.append([0, 0, 0, x, y, 1, -Y * x, -Y * y])
        b += [X, Y]
    h = np.linalg.solve(np.array(a, dtype=np.float64), np.array(b, dtype=np.float64))
    return np.append(h, 1.0).reshape(3, 3)


def supersampled_grid(w, h, ss=3):
    """Pixel-centre sub-sample coordinates, shape (ss*ss, h, w) each."""
    offs = (np.arange(ss) + 0.5) / ss
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    gx = np.stack([xs + ox for oy in offs for ox in offs])
    gy = np.stack([ys + oy for oy in offs for ox in offs])
    return gx, gy


def render_quads(w, h, codes, ss=3):
    """Dark coverage (0..1) of several codes, each placed by the four image corners of its
    bitmap (with quiet zone), top-left, top-right, bottom-right, bottom-left."""
    gx, gy = supersampled_grid(w, h, ss)
    cover = np.zeros((ss * ss, h, w), dtype=np.float32)
    paper = np.zeros((ss * ss, h, w), dtype=bool)
    for bitmap, quad in codes:
        n = bitmap.shape[0]
        inv = homography(quad, [(0, 0), (n, 0), (n, n), (0, n)])
        x, y = gx, gy
        d = inv[2, 0] * x + inv[2, 1] * y + inv[2, 2]
        u = (inv[0, 0] * x + inv[0, 1] * y + inv[0, 2]) / d
        v = (inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]) / d
        s, inside = sample(bitmap, u, v)
        cover = np.where(inside, s, cover)
        paper |= inside
    return cover.mean(axis=0), paper.mean(axis=0)


def background(rng, w, h):
    """A label/cell-wrap background: mid-gray with a lighting gradient and some dark text."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    grad = (np.cos(ang) * xs + np.sin(ang) * ys) / max(w, h)
    base = rng.uniform(70, 140) + 40 * grad
    img = np.broadcast_to(base, (h, w)).copy()
    for _ in range(rng.integers(3, 9)):  # text lines
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        lw, lh = rng.integers(w // 10, w // 3), rng.integers(4, 12)
        img[y0:y0 + lh, x0:x0 + lw] *= 0.45
    return img


def compose(rng, w, h, dark_cover, paper, ink=25.0, white=225.0):
    img = background(rng, w, h)
    label = white - (white - ink) * dark_cover
    return img * (1 - paper) + label * paper


def finish(rng, img, blur=0.0, noise=4.0, quality=88):
    """Optical blur, sensor noise, 8-bit clip, JPEG; returns JPEG bytes."""
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L")
    if blur > 0:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    a = np.asarray(im, dtype=np.float32)
    a = a + rng.normal(0, noise, a.shape)
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def square(cx, cy, side, angle):
    c, s = math.cos(angle), math.sin(angle)
    pts = []
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        x, y = dx * side / 2, dy * side / 2
        pts.append((cx + c * x - s * y, cy + s * x + c * y))
    return pts


def tilted(cx, cy, side, angle, tilt, axis):
    """A square of `side` seen tilted by `tilt` radians about an in-plane axis at `axis`
    radians, pinhole camera at distance 2.5 sides, then rotated by `angle`."""
    f = 2.5 * side
    pts = []
    ca, sa = math.cos(axis), math.sin(axis)
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        x, y = dx * side / 2, dy * side / 2
        # coordinates along / across the tilt axis
        p, q = ca * x + sa * y, -sa * x + ca * y
        z = f + q * math.sin(tilt)
        q2 = q * math.cos(tilt) * f / z
        p2 = p * f / z
        x2, y2 = ca * p2 - sa * q2, sa * p2 + ca * q2
        c, s = math.cos(angle), math.sin(angle)
        pts.append((cx + c * x2 - s * y2, cy + s * x2 + c * y2))
    return pts


def single(rng, code, w=640, h=480, module_px=None, angle=None):
    bitmap = code_bitmap(code["modules"])
    n = bitmap.shape[0]
    module_px = module_px if module_px is not None else rng.uniform(3.4, 4.4)
    angle = angle if angle is not None else math.radians(rng.uniform(-8, 8))
    # The whole symbol (with quiet zone) stays inside the frame at any angle.
    fit = 0.94 * min(w, h) / (abs(math.cos(angle)) + abs(math.sin(angle)))
    module_px = min(module_px, fit / n)
    side = n * module_px
    cx = w / 2 + rng.uniform(-0.1, 0.1) * w
    cy = h / 2 + rng.uniform(-0.05, 0.05) * h
    return bitmap, square(cx, cy, side, angle), module_px


def cylinder(rng, code, radius_mm, w=640, h=480):
    """The code printed on a cell wrap of `radius_mm`, cell axis vertical, seen from the front
    (orthographic: a phone a hand's width away from a 9-10.5 mm radius)."""
    bitmap = code_bitmap(code["modules"])
    n = bitmap.shape[0]
    # 0.12-0.18 mm modules: what a 600 dpi thermal-transfer label printer does well.
    module_mm = rng.uniform(0.12, 0.18)
    px_per_mm = rng.uniform(3.0, 4.5) / module_mm
    # The label's height (the code plus quiet zone) stays inside the frame.
    px_per_mm = min(px_per_mm, 0.94 * h / (n * module_mm))
    r = radius_mm * px_per_mm
    cx, cy = w / 2, h / 2 + rng.uniform(-20, 20)
    # Where on the circumference the code's centre sits (0 = facing the camera).
    centre = math.radians(rng.uniform(-25, 25))
    ss = 3
    gx, gy = supersampled_grid(w, h, ss)
    t = np.clip((gx - cx) / r, -1, 1)
    theta = np.arcsin(t)
    on_cell = np.abs(gx - cx) < r
    arc_mm = (theta - centre) * radius_mm
    u = arc_mm / module_mm + n / 2
    v = (gy - cy) / px_per_mm / module_mm + n / 2
    s, inside = sample(bitmap, u, v)
    inside &= on_cell
    cover = np.where(inside, s, 0).mean(axis=0)
    paper = inside.mean(axis=0)
    shade = np.cos(theta).mean(axis=0) * 0.5 + 0.5  # Lambertian fall-off towards the sides
    cell = np.cos(theta).mean(axis=0) > 0
    img = background(rng, w, h)
    body = np.where(np.abs(np.mgrid[0:h, 0:w][1] - cx) < r, 60 * shade + 20, img)
    label = (215 - 190 * cover) * shade
    img = body * (1 - paper) + label * paper
    # The cell's vertical specular stripe.
    stripe_x = cx + r * math.sin(math.radians(rng.uniform(-35, 35)))
    xs = np.arange(w, dtype=np.float32)
    img = img + 70 * np.exp(-((xs - stripe_x) / (0.06 * r)) ** 2)[None, :] * cell
    params = {"radius_mm": radius_mm, "module_mm": round(module_mm, 3),
              "px_per_mm": round(px_per_mm, 2),
              "arc_deg": round(math.degrees(n * module_mm / radius_mm), 1),
              "centre_deg": round(math.degrees(centre), 1)}
    return img, params


def make_single(rng, cat, code):
    w, h = 640, 480
    params = {}
    blur, noise, quality = rng.uniform(0.3, 0.7), 2.5, 72
    ink, white = 25.0, 225.0
    if cat == "curved-18650" or cat == "curved-21700":
        img, params = cylinder(rng, code, 9.0 if cat == "curved-18650" else 10.5, w, h)
        return finish(rng, img, blur=0.6, noise=2.5, quality=72), params
    bitmap, quad, mpx = single(rng, code)
    params["module_px"] = round(mpx, 2)
    if cat == "rotation":
        ang = rng.uniform(15, 345)
        bitmap, quad, mpx = single(rng, code, module_px=mpx, angle=math.radians(ang))
        params["angle_deg"] = round(ang, 1)
    elif cat == "perspective":
        tilt = rng.uniform(30, 55)
        axis = rng.uniform(0, 180)
        ang = rng.uniform(-20, 20)
        n = bitmap.shape[0]
        side = min(n * mpx * 1.1, 0.94 * min(w, h) / 1.25 /
                   (abs(math.cos(math.radians(ang))) + abs(math.sin(math.radians(ang)))))
        quad = tilted(w / 2, h / 2, side, math.radians(ang), math.radians(tilt),
                      math.radians(axis))
        params.update(tilt_deg=round(tilt, 1), axis_deg=round(axis, 1), angle_deg=round(ang, 1))
    elif cat == "blur":
        blur = rng.uniform(1.2, 2.4)
        params["blur_sigma_px"] = round(blur, 2)
    elif cat == "low-contrast":
        mid = rng.uniform(90, 170)
        span = rng.uniform(28, 50)
        ink, white = mid - span / 2, mid + span / 2
        params["contrast"] = round(span, 1)
    elif cat == "noise":
        noise = rng.uniform(14, 24)
        quality = int(rng.integers(25, 45))
        params.update(noise_sigma=round(noise, 1), jpeg_quality=quality)
    cover, paper = render_quads(w, h, [(bitmap, quad)])
    img = compose(rng, w, h, cover, paper, ink, white)
    if cat == "glare":
        # A specular highlight: saturates a blob over part of the code.
        xs, ys = quad[0]
        cx = rng.uniform(min(p[0] for p in quad), max(p[0] for p in quad))
        cy = rng.uniform(min(p[1] for p in quad), max(p[1] for p in quad))
        rx, ry = rng.uniform(25, 60), rng.uniform(15, 40)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        g = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))
        img = img + 260 * g
        params.update(glare_rx_px=round(rx, 1), glare_ry_px=round(ry, 1))
    if cat == "damaged":
        # Scratches and stains over a share of the symbol (inside its quad's bounding box).
        x0 = min(p[0] for p in quad)
        x1 = max(p[0] for p in quad)
        y0 = min(p[1] for p in quad)
        y1 = max(p[1] for p in quad)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        hit = np.zeros((h, w), dtype=bool)
        for _ in range(int(rng.integers(2, 5))):  # scratches: light lines 2-4 px wide
            ax, ay = rng.uniform(x0, x1), rng.uniform(y0, y1)
            bx, by = rng.uniform(x0, x1), rng.uniform(y0, y1)
            dx, dy = bx - ax, by - ay
            ln = math.hypot(dx, dy) or 1
            t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / ln ** 2, 0, 1)
            dist = np.hypot(xx - ax - t * dx, yy - ay - t * dy)
            hit |= dist < rng.uniform(1.0, 2.0)
        img = np.where(hit, 215.0, img)
        for _ in range(int(rng.integers(1, 3))):  # stains: dark blobs
            cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
            r = rng.uniform(8, 16)
            blob = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
            img = np.where(blob, 40.0, img)
            hit |= blob
        box = (xx >= x0) & (xx <= x1) & (yy >= y0) & (yy <= y1)
        params["damaged_share"] = round(float(hit[box].mean()), 3)
    if cat != "blur":
        params["blur_sigma_px"] = round(blur, 2)
    return finish(rng, img, blur=blur, noise=noise, quality=quality), params


def make_many(rng, codes, count):
    """`count` codes on a sheet/pallet photo, 1280x960, random sizes and angles, no overlap."""
    w, h = 1280, 960
    cols = math.ceil(math.sqrt(count * w / h))
    rows = math.ceil(count / cols)
    cw, ch = w / cols, h / rows
    placed = []
    cells = [(c, r) for r in range(rows) for c in range(cols)]
    order = rng.permutation(len(cells))[:count]
    sizes = []
    for k, idx in enumerate(order):
        c, r = cells[idx]
        code = codes[k % len(codes)]
        bitmap = code_bitmap(code["modules"])
        n = bitmap.shape[0]
        # Few codes: loose labels at any angle; many: a sheet or a pallet, roughly aligned.
        ang = math.radians(rng.uniform(-35, 35) if count <= 10 else rng.uniform(-10, 10))
        # largest side that fits the cell at this angle, then 75-100% of it
        fit = min(cw, ch) / (abs(math.cos(ang)) + abs(math.sin(ang)))
        side = fit * rng.uniform(0.85, 1.0)
        cx = (c + 0.5) * cw + rng.uniform(-0.03, 0.03) * cw
        cy = (r + 0.5) * ch + rng.uniform(-0.03, 0.03) * ch
        tilt = math.radians(rng.uniform(0, 15))
        quad = tilted(cx, cy, side, ang, tilt, rng.uniform(0, math.pi))
        placed.append((bitmap, quad))
        sizes.append(side / n)
    cover, paper = render_quads(w, h, placed, ss=2)
    img = compose(rng, w, h, cover, paper)
    params = {"count": count, "module_px_min": round(min(sizes), 2),
              "module_px_max": round(max(sizes), 2)}
    return finish(rng, img, blur=0.4, noise=2.0, quality=68), params


CATEGORIES = ["nominal", "rotation", "perspective", "blur", "curved-18650", "curved-21700",
              "glare", "low-contrast", "noise", "damaged"]
MANY_COUNTS = [4, 6, 8, 10, 12, 16, 20, 24, 30]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codes", required=True, help="JSON lines from the qr_hard_codes example")
    ap.add_argument("--out", default="tests/qr-hard")
    ap.add_argument("--seed", type=int, default=20261129)
    args = ap.parse_args()
    codes = [json.loads(l) for l in open(args.codes, encoding="utf-8") if l.strip()]
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    labels = []
    k = 0
    for cat in CATEGORIES:
        for i in range(PER_CATEGORY):
            code = codes[k % len(codes)]
            k += 1
            data, params = make_single(rng, cat, code)
            name = f"{cat}-{i:02d}.jpg"
            with open(os.path.join(args.out, name), "wb") as f:
                f.write(data)
            labels.append({"file": name, "category": cat, "texts": [code["text"]],
                           "params": params})
    for i, count in enumerate(MANY_COUNTS):
        start = int(rng.integers(0, len(codes)))
        chosen = [codes[(start + j) % len(codes)] for j in range(count)]
        data, params = make_many(rng, chosen, count)
        name = f"many-{i:02d}.jpg"
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        labels.append({"file": name, "category": "many",
                       "texts": [c["text"] for c in chosen], "params": params})
    with open(os.path.join(args.out, "labels.json"), "w", encoding="utf-8") as f:
        json.dump({"seed": args.seed, "images": labels}, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
