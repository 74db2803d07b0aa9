"""Generates the synthetic sample images of `keras_reid/assets/samples/` (used by `keras-reid demo`).

Research ReID datasets (Market-1501, DukeMTMC, ...) cannot be redistributed, so the demo
uses drawn figures instead: 4 synthetic "pedestrians" (distinct clothing colours and
patterns, hair, bags) × 3 "cameras" (different backgrounds, lighting, position, scale,
leg pose and facing direction), 128×256 JPEGs named `idPPPP_cC_NN.jpg` (identity, camera,
view) like Market-1501. They contain no real person. Deterministic: a fixed seed per
image; run again to regenerate:

    python scripts/make_sample_images.py [--output keras_reid/assets/samples]
"""

import argparse
import os
import random

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

WIDTH, HEIGHT = 128, 256

# Identity → clothing. Colours are RGB.
PEOPLE = {
    1: dict(skin=(224, 182, 150), hair=(30, 25, 20), top=(200, 30, 40), top_pattern="solid",
            trousers=(40, 60, 120), shoes=(20, 20, 20), bag=None),
    2: dict(skin=(190, 140, 105), hair=(100, 60, 30), top=(240, 240, 235), top_pattern="stripes",
            stripe=(25, 35, 90), trousers=(180, 160, 110), shoes=(90, 60, 40), bag="backpack",
            bag_colour=(60, 60, 60)),
    3: dict(skin=(235, 200, 170), hair=(220, 190, 110), top=(40, 130, 60), top_pattern="zip",
            trousers=(25, 25, 30), shoes=(140, 140, 140), bag="shoulder", bag_colour=(230, 200, 40)),
    4: dict(skin=(150, 105, 75), hair=(15, 15, 15), top=(120, 60, 150), top_pattern="checks",
            stripe=(230, 220, 240), trousers=(130, 130, 135), shoes=(245, 245, 245), bag=None),
}

# Camera → scene.
CAMERAS = {
    1: dict(sky=(170, 180, 195), ground=(120, 120, 125), brightness=1.0, clutter=(90, 90, 110)),
    2: dict(sky=(150, 175, 140), ground=(95, 110, 80), brightness=0.85, clutter=(60, 90, 60)),
    3: dict(sky=(215, 200, 170), ground=(170, 150, 120), brightness=1.15, clutter=(150, 110, 80)),
}


def _jitter(colour, rng, amount=12):
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in colour)


def draw_background(draw, camera, rng):
    scene = CAMERAS[camera]
    horizon = rng.randint(150, 175)
    for y in range(HEIGHT):  # vertical gradient sky → ground
        if y < horizon:
            t = y / horizon
            c = tuple(int(s * (1 - 0.25 * t)) for s in scene["sky"])
        else:
            t = (y - horizon) / (HEIGHT - horizon)
            c = tuple(int(g * (0.9 + 0.2 * t)) for g in scene["ground"])
        draw.line([(0, y), (WIDTH, y)], fill=c)
    for _ in range(rng.randint(2, 4)):  # buildings / poles / benches
        x0 = rng.randint(-20, WIDTH - 10)
        w = rng.randint(8, 40)
        top = rng.randint(20, horizon - 20)
        draw.rectangle([x0, top, x0 + w, horizon], fill=_jitter(scene["clutter"], rng, 25))


def draw_person(draw, person, rng, cx, scale, stride, facing):
    p = PEOPLE[person]
    s = scale

    def box(x0, y0, x1, y1):
        return [cx + x0 * s, 20 + y0 * s, cx + x1 * s, 20 + y1 * s]

    # Legs (two trousers legs), stride in "pixels" at scale 1.
    for side in (-1, 1):
        off = side * (9 + stride)
        draw.polygon(
            [(cx + (side * 2) * s, 20 + 120 * s), (cx + (side * 20) * s, 20 + 120 * s),
             (cx + (off + side * 8) * s, 20 + 205 * s), (cx + (off - side * 8) * s, 20 + 205 * s)],
            fill=p["trousers"],
        )
        draw.ellipse(box(off - 12 + 4 * facing, 200, off + 12 + 4 * facing, 214), fill=p["shoes"])
    # Backpack behind the torso (visible on one side).
    if p["bag"] == "backpack":
        draw.rounded_rectangle(box(-30 - 6 * facing, 52, 30 - 6 * facing, 112), 6, fill=p["bag_colour"])
    # Torso.
    torso = box(-24, 48, 24, 124)
    draw.rounded_rectangle(torso, 8, fill=p["top"])
    x0, y0, x1, y1 = torso
    if p["top_pattern"] == "stripes":
        for k in range(6):
            y = y0 + (k + 0.5) * (y1 - y0) / 6
            draw.rectangle([x0 + 1, y - 3 * s, x1 - 1, y + 3 * s], fill=p["stripe"])
    elif p["top_pattern"] == "checks":
        step = 12 * s
        x = x0
        while x < x1:
            draw.line([(x, y0 + 2), (x, y1 - 2)], fill=p["stripe"], width=2)
            x += step
        y = y0
        while y < y1:
            draw.line([(x0 + 2, y), (x1 - 2, y)], fill=p["stripe"], width=2)
            y += step
    elif p["top_pattern"] == "zip":
        draw.line([(cx, y0 + 4), (cx, y1 - 2)], fill=(200, 200, 200), width=max(1, int(2 * s)))
        draw.rectangle(box(-24, 112, 24, 124), fill=tuple(int(c * 0.7) for c in p["top"]))
    # Arms.
    for side in (-1, 1):
        swing = side * stride * 0.6
        draw.polygon(
            [(cx + side * 22 * s, 20 + 52 * s), (cx + side * 32 * s, 20 + 56 * s),
             (cx + (side * 34 + swing) * s, 20 + 118 * s), (cx + (side * 25 + swing) * s, 20 + 118 * s)],
            fill=p["top"],
        )
        hx = cx + (side * 29.5 + swing) * s
        draw.ellipse([hx - 5 * s, 20 + 116 * s, hx + 5 * s, 20 + 128 * s], fill=p["skin"])
    # Shoulder bag: strap across the torso and the bag on the hip.
    if p["bag"] == "shoulder":
        draw.line([(cx - 20 * s, 20 + 50 * s), (cx + 22 * s, 20 + 112 * s)], fill=p["bag_colour"], width=max(2, int(4 * s)))
        draw.rounded_rectangle(box(18, 104, 40, 128), 3, fill=p["bag_colour"])
    # Neck, head, hair.
    draw.rectangle(box(-6, 38, 6, 50), fill=p["skin"])
    draw.ellipse(box(-15, 6, 15, 44), fill=p["skin"])
    draw.chord(box(-16, 3, 16, 36), 180, 360, fill=p["hair"])
    draw.rectangle(box(-16 if facing < 0 else 10, 18, -10 if facing < 0 else 16, 30), fill=p["hair"])
    # Eyes (a hint of the facing direction).
    for ex in (-6, 6):
        draw.ellipse(box(ex + 2 * facing - 2, 22, ex + 2 * facing + 2, 26), fill=(40, 30, 30))


def make_image(person, camera, view):
    rng = random.Random(1000 * person + 10 * camera + view)
    img = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(img)
    draw_background(draw, camera, rng)
    scale = rng.uniform(0.88, 1.02)
    cx = WIDTH / 2 + rng.randint(-8, 8)
    stride = rng.choice([0, 4, 8, 12])
    facing = rng.choice([-1, 1])
    draw_person(draw, person, rng, cx, scale, stride, facing)
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    img = ImageEnhance.Brightness(img).enhance(CAMERAS[camera]["brightness"] * rng.uniform(0.95, 1.05))
    return img


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_reid", "assets", "samples")
    parser.add_argument("--output", default=default, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    for person in PEOPLE:
        for camera in CAMERAS:
            view = 1
            path = os.path.join(args.output, f"id{person:04d}_c{camera}_{view:02d}.jpg")
            make_image(person, camera, view).save(path, quality=85, optimize=True)
            print(path)


if __name__ == "__main__":
    main()
