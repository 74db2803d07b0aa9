"""Pictures for ReID results: retrieval grids, attention overlays and CMC curves (Pillow only).

- `draw_retrieval_grid(query, ranked_items)`: the query then its top-k gallery images,
  each labelled with its rank, identity and distance, framed green (same identity as the
  query), red (another identity) or grey (identity unknown).
- `overlay_heatmap(image, heatmap)`: a jet-coloured map blended over an image.
- `plot_cmc(cmc, path)`: the CMC curve as a PNG.
- `attention_maps(model, images)`: the attention maps of the model's attention layers
  (StRA `ModeAttention` pooling maps α per head, CSA base maps, HA-CNN hard regions),
  recomputed from each layer's input with the layer's own sublayers.
- `draw_attention_grid(image, maps)`: one overlay per map.

No matplotlib: everything is drawn with Pillow, so the core install stays small.
"""

import contextlib
import os
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont

GREEN = (40, 170, 60)
RED = (215, 40, 40)
GREY = (150, 150, 150)
QUERY_BLUE = (40, 90, 200)

_ID_PATTERN = re.compile(r"^(?:id)?(-?\d+)_c(\d+)")


def parse_identity(path):
    """`(pid, camid)` from a Market-style name (`0002_c1s1_000451_01.jpg`, `0002_c3_01.jpg`,
    or the bundled samples' `id0002_c3_01.jpg`).

    Camera ids are returned 1-based as written; `(None, None)` when the name does not match.
    """
    if path is None or not isinstance(path, (str, os.PathLike)):
        return None, None
    match = _ID_PATTERN.match(os.path.basename(os.fspath(path)))
    if not match:
        return None, None
    return int(match.group(1)), int(match.group(2))


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def _to_pil(image):
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (str, os.PathLike)):
        from keras_reid.feature_extractor import read_image

        return Image.fromarray(read_image(image))
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return Image.fromarray(arr[..., :3])


def _text_size(draw, text, font):
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def _tile(image, lines, border_colour, tile_size, border=5, font=None, caption_height=34):
    """An image resized into `tile_size` (w, h) with a coloured frame and text lines below."""
    w, h = tile_size
    font = font or _font(12)
    tile = Image.new("RGB", (w + 2 * border, h + 2 * border + caption_height), "white")
    draw = ImageDraw.Draw(tile)
    draw.rectangle([0, 0, w + 2 * border - 1, h + 2 * border - 1], fill=border_colour)
    tile.paste(_to_pil(image).resize((w, h), Image.BILINEAR), (border, border))
    y = h + 2 * border + 2
    for text, colour in lines:
        tw, th = _text_size(draw, text, font)
        draw.text(((w + 2 * border - tw) // 2, y), text, fill=colour, font=font)
        y += th + 4
    return tile


def _item_fields(item):
    """Normalises a ranked item into `(image, distance, pid, camera, label)`."""
    if isinstance(item, dict):
        image = item.get("image", item.get("path"))
        parsed = parse_identity(item.get("path", image))
        pid = item.get("pid", parsed[0])
        return image, item.get("distance"), pid, item.get("camera", parsed[1]), item.get("label")
    if isinstance(item, (tuple, list)):
        image = item[0]
        parsed = parse_identity(image)
        distance = item[1] if len(item) > 1 else None
        pid = item[2] if len(item) > 2 else parsed[0]
        return image, distance, pid, parsed[1], None
    parsed = parse_identity(item)
    return item, None, parsed[0], parsed[1], None


def _id_text(pid, camera):
    text = f"id {pid if pid is not None else '?'}"
    return text + (f" c{camera}" if camera is not None else "")


def draw_retrieval_grid(query_path_or_image, ranked_items, query_id=None, path=None, tile_size=(96, 192), title=None):
    """Draws a query and its ranked gallery matches in rows (one row per query).

    Args:
        query_path_or_image: a path, PIL image or uint8 array, or a list of them (one row
            per query; `ranked_items` is then a list of lists).
        ranked_items: the top matches in rank order, each a path/image, a tuple
            `(path_or_image, distance[, pid])` or a dict with `image`/`path`,
            `distance`, `pid`, `label`.
        query_id: the query identity (or a list, one per query); default: parsed from the
            query's file name (`PPPP_c...`), else unknown.
        path: where to save the PNG (optional).
        tile_size: `(width, height)` of each picture.
        title: an optional header line.

    Frames: green when the item's identity equals the query's, red when it differs,
    grey when either is unknown; the query is framed blue. Labels: rank, identity,
    distance.

    Returns the PIL image.
    """
    if isinstance(query_path_or_image, (list, tuple)):
        queries = list(query_path_or_image)
        ranked_lists = list(ranked_items)
        query_ids = list(query_id) if isinstance(query_id, (list, tuple)) else [query_id] * len(queries)
    else:
        queries, ranked_lists, query_ids = [query_path_or_image], [list(ranked_items)], [query_id]
    if len(ranked_lists) != len(queries):
        raise ValueError(f"{len(queries)} queries but {len(ranked_lists)} ranked lists.")
    font = _font(12)
    rows = []
    for query, items, qid in zip(queries, ranked_lists, query_ids):
        qcam = parse_identity(query)[1]
        if qid is None:
            qid = parse_identity(query)[0]
        tiles = [_tile(query, [("query", QUERY_BLUE), (_id_text(qid, qcam), (0, 0, 0))],
                       QUERY_BLUE, tile_size, font=font)]
        for rank, item in enumerate(items, start=1):
            image, distance, pid, camera, label = _item_fields(item)
            colour = GREY if (pid is None or qid is None) else (GREEN if pid == qid else RED)
            first = f"#{rank}  {_id_text(pid, camera)}"
            second = label if label is not None else (f"d={distance:.3f}" if distance is not None else "")
            tiles.append(_tile(image, [(first, colour if colour != GREY else (0, 0, 0)), (second, (60, 60, 60))],
                               colour, tile_size, font=font))
        gap, sep = 6, 18
        width = sum(t.width for t in tiles) + gap * (len(tiles) - 1) + sep
        row = Image.new("RGB", (width, tiles[0].height), "white")
        x = 0
        for i, t in enumerate(tiles):
            row.paste(t, (x, 0))
            x += t.width + gap + (sep if i == 0 else 0)
            if i == 0:  # a divider between the query and the ranked list
                ImageDraw.Draw(row).line([(x - sep // 2 - gap // 2, 4), (x - sep // 2 - gap // 2, t.height - 4)], fill=GREY, width=2)
        rows.append(row)
    margin = 8
    header = 0
    title_font = _font(14)
    if title:
        header = _text_size(ImageDraw.Draw(rows[0]), title, title_font)[1] + 10
    width = max(r.width for r in rows) + 2 * margin
    height = sum(r.height for r in rows) + margin * (len(rows) + 1) + header
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((margin, margin // 2 + 2), title, fill=(0, 0, 0), font=title_font)
    y = margin + header
    for r in rows:
        canvas.paste(r, (margin, y))
        y += r.height + margin
    if path is not None:
        canvas.save(path)
    return canvas


def _jet(values):
    """Jet colour map of values in [0, 1] → uint8 RGB."""
    v = np.clip(values, 0.0, 1.0)
    r = np.clip(1.5 - np.abs(4 * v - 3), 0, 1)
    g = np.clip(1.5 - np.abs(4 * v - 2), 0, 1)
    b = np.clip(1.5 - np.abs(4 * v - 1), 0, 1)
    return (np.stack([r, g, b], axis=-1) * 255).round().astype(np.uint8)


def overlay_heatmap(image, heatmap, alpha=0.5, normalize=True):
    """Blends a jet-coloured `heatmap` (any 2-D size, resized bilinearly) over `image`.

    Args:
        image: path, PIL image or uint8 `(H, W, 3)` array.
        heatmap: 2-D array (e.g. an attention map over feature positions).
        alpha: heatmap opacity.
        normalize: rescale the heatmap to [0, 1] (min-max) first; a constant map is drawn
            as 0.

    Returns a PIL image of the image's size.
    """
    base = _to_pil(image)
    heat = np.asarray(heatmap, dtype=np.float64)
    if heat.ndim != 2:
        raise ValueError(f"heatmap must be 2-D, got shape {heat.shape}.")
    heat = np.where(np.isfinite(heat), heat, 0.0)
    if normalize:
        low, high = heat.min(), heat.max()
        heat = (heat - low) / (high - low) if high > low else np.zeros_like(heat)
    heat_img = Image.fromarray((np.clip(heat, 0, 1) * 255).astype(np.uint8)).resize(base.size, Image.BILINEAR)
    coloured = Image.fromarray(_jet(np.asarray(heat_img, dtype=np.float64) / 255.0))
    return Image.blend(base, coloured, float(alpha))


def plot_cmc(cmc, path=None, max_rank=20, title="CMC curve", size=(560, 400)):
    """Draws the CMC curve (rank 1..`max_rank`, accuracy in %) and saves it to `path`.

    Args:
        cmc: sequence of CMC values in [0, 1] (rank 1 first), or a dict
            `{label: cmc}` for several curves.
    Returns the PIL image.
    """
    curves = cmc if isinstance(cmc, dict) else {"": cmc}
    colours = [(30, 100, 200), (215, 40, 40), (40, 170, 60), (150, 60, 180), (240, 140, 20)]
    width, height = size
    left, right, top, bottom = 62, 20, 40, 52
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font, small = _font(14), _font(12)
    n = max(1, min(max_rank, max(len(np.asarray(c).ravel()) for c in curves.values())))
    first_values = [float(np.asarray(c, dtype=np.float64).ravel()[0]) for c in curves.values() if len(np.asarray(c).ravel())]
    y_min = 0.0 if not first_values else max(0.0, np.floor(min(first_values) * 10 - 1) / 10)
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(rank, value):
        x = left + (rank - 1) / max(n - 1, 1) * plot_w
        y = top + (1 - (value - y_min) / max(1.0 - y_min, 1e-9)) * plot_h
        return x, y

    # Grid and axes: round percentages (a multiple of 5, 10, 20, 25 or 50 %), at most 8 steps.
    step = next(s for s in (0.05, 0.1, 0.2, 0.25, 0.5) if (1.0 - y_min) / s <= 8 + 1e-9)
    y_min = np.floor(y_min / step + 1e-9) * step
    for i in range(int(round((1.0 - y_min) / step)) + 1):
        value = y_min + i * step
        _, y = px(1, value)
        draw.line([(left, y), (left + plot_w, y)], fill=(225, 225, 225))
        label = f"{100 * value:.0f}%"
        tw, th = _text_size(draw, label, small)
        draw.text((left - tw - 6, y - th / 2 - 2), label, fill=(60, 60, 60), font=small)
    ticks = sorted({1, *range(5, n + 1, 5), n}) if n > 1 else [1]
    for rank in ticks:
        x, _ = px(rank, y_min)
        draw.line([(x, top + plot_h), (x, top + plot_h + 4)], fill=(60, 60, 60))
        tw, _ = _text_size(draw, str(rank), small)
        draw.text((x - tw / 2, top + plot_h + 6), str(rank), fill=(60, 60, 60), font=small)
    draw.rectangle([left, top, left + plot_w, top + plot_h], outline=(60, 60, 60))
    tw, _ = _text_size(draw, "rank", font)
    draw.text((left + plot_w / 2 - tw / 2, height - 24), "rank", fill=(0, 0, 0), font=font)
    draw.text((8, top - 26), "matching rate", fill=(0, 0, 0), font=font)
    tw, _ = _text_size(draw, title, font)
    draw.text((left + plot_w / 2 - tw / 2, 10), title, fill=(0, 0, 0), font=font)
    # Curves.
    legend_y = top + plot_h - 20 * len(curves) - 4
    for index, (label, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=np.float64).ravel()[:n]
        colour = colours[index % len(colours)]
        points = [px(r + 1, v) for r, v in enumerate(values)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=3)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        if len(values):
            text = f"{label + ': ' if label else ''}R1 {100 * values[0]:.1f}%"
            tw, _ = _text_size(draw, text, small)
            y = legend_y + 20 * index
            draw.rectangle([left + plot_w - tw - 34, y, left + plot_w - tw - 22, y + 12], fill=colour)
            draw.text((left + plot_w - tw - 16, y - 1), text, fill=(0, 0, 0), font=small)
    if path is not None:
        img.save(path)
    return img


# -- attention maps -----------------------------------------------------------------------
def _layer_kind(layer):
    name = type(layer).__name__
    if name == "ModeAttention":
        return "stra_mode"
    if name == "CompressedSelfAttention":
        return "csa_base"
    if name == "HardRegionalAttention":
        return "hacnn_regions"
    return None


def _all_layers(model):
    """`(qualified_name, layer)` for every layer of `model`, nested ones included (depth first).

    Nested layers are named by their path (`ha1/hard_attn`), as several blocks may hold
    sublayers of the same name.
    """
    seen, out = set(), []

    def visit(layer, prefix):
        for sub in getattr(layer, "_layers", None) or getattr(layer, "layers", None) or []:
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            name = f"{prefix}/{sub.name}" if prefix else sub.name
            out.append((name, sub))
            # The functional `network` of a ReIDModel is a container, not a path element.
            visit(sub, "" if sub.name == "network" and not prefix else name)

    visit(model, "")
    return out


@contextlib.contextmanager
def capture_layer_calls(layers):
    """Records `(inputs, outputs)` of every call of `layers` while the context is open.

    The layers' `call` is wrapped on the instance (and restored on exit); run the model
    eagerly (`model(x, training=False)`) inside the context. Yields `{id(layer): [...]}`.
    """
    records = {id(layer): [] for layer in layers}
    originals = {}
    for layer in layers:
        original = layer.call
        originals[layer] = original

        def wrapped(*args, _original=original, _key=id(layer), **kwargs):
            outputs = _original(*args, **kwargs)
            records[_key].append((args[0] if args else kwargs.get("inputs"), outputs))
            return outputs

        layer.call = wrapped
    try:
        yield records
    finally:
        for layer in layers:
            try:
                del layer.call
            except AttributeError:
                layer.call = originals[layer]


def _mode_attention_alpha(layer, inputs):
    """α of a `ModeAttention` layer: `(N, H, W, G)`, each head sums to 1 over positions."""
    from keras import ops

    logits = ops.tanh(layer.pool_bn1(layer.pool_conv1(inputs), training=False))
    logits = layer.pool_bn2(layer.pool_conv2(logits), training=False)
    return layer._spatial_softmax(logits)


def _csa_base_maps(layer, inputs):
    """Base maps of a `CompressedSelfAttention` layer: `(N, H, W, G·D)`, softmax over positions."""
    from keras import ops

    height, width = inputs.shape[1], inputs.shape[2]
    m = ops.reshape(ops.cast(layer.conv_m(inputs), "float32"), (-1, height * width, layer.groups * layer.num_maps))
    m = ops.reshape(m, (-1, height * width, layer.groups, layer.num_maps))
    base = ops.softmax(m, axis=1)
    return ops.reshape(base, (-1, height, width, layer.groups * layer.num_maps))


def attention_maps(model, images):
    """Attention maps of every supported attention layer of `model` for a preprocessed batch.

    Supported layers: StRA `ModeAttention` (pooling maps α, one per head), CSA
    `CompressedSelfAttention` (base maps, one per group and map), HA-CNN
    `HardRegionalAttention` (the 4 region translations). The layers' inputs are captured
    during one eager inference pass and the maps recomputed from the layers' own
    sublayers (the model is not modified).

    Args:
        model: a Keras model (a `ReIDModel`).
        images: a float batch already preprocessed for the model.

    Returns a list of dicts `{"layer", "kind", "maps"}`: `maps` is `(N, h, w, K)` float32
    for "stra_mode"/"csa_base" and `(N, 4, 2)` translations (t_x, t_y) for
    "hacnn_regions". Empty when the model has no such layer.
    """
    from keras import ops

    named = [(name, layer) for name, layer in _all_layers(model) if _layer_kind(layer)]
    if not named:
        return []
    with capture_layer_calls([layer for _, layer in named]) as records:
        # The network itself: `images` are preprocessed, and an end-to-end model would
        # preprocess them again.
        getattr(model, "network", model)(images, training=False)
    results = []
    for name, layer in named:
        kind = _layer_kind(layer)
        for inputs, outputs in records[id(layer)]:
            if kind == "stra_mode":
                maps = _mode_attention_alpha(layer, inputs)
            elif kind == "csa_base":
                maps = _csa_base_maps(layer, inputs)
            else:
                maps = outputs
            results.append({"layer": name, "kind": kind, "maps": np.asarray(ops.convert_to_numpy(maps), "float32")})
    return results


def activation_map(model, images):
    """Where a model without attention layers looks: its last feature map's activation energy.

    As torchreid's `visualize_actmap`: the sum over channels of the squared activations of
    the network's last 4-D feature map (before pooling), per image, scaled to [0, 1].

    Args:
        model: a `ReIDModel` (its functional `network` is read, nothing is modified).
        images: a float batch already preprocessed for the model.

    Returns `(layer_name, maps)` with `maps` `(N, h, w, 1)` float32.
    """
    import keras

    network = getattr(model, "network", model)
    candidates = [l for l in network.layers if len(getattr(l, "output", None).shape or ()) == 4 and l.output.shape[1] > 1]
    if not candidates:
        raise ValueError(f"{model.name} has no 4-D feature map to visualise.")
    layer = candidates[-1]
    features = keras.Model(network.input, layer.output)(images, training=False)
    energy = np.sum(np.square(keras.ops.convert_to_numpy(features).astype(np.float32)), axis=-1)
    low = energy.min(axis=(1, 2), keepdims=True)
    high = energy.max(axis=(1, 2), keepdims=True)
    span = high - low
    return layer.name, ((energy - low) / np.where(span > 0, span, 1.0))[..., None]


def hacnn_region_boxes(translations, image_size):
    """HA-CNN region boxes `(x0, y0, x1, y1)` in pixels for translations `(4, 2)`.

    θ = [[1, 0, t_x], [0, 0.25, t_y]] (torchreid's fixed scales) maps the output grid
    [-1, 1]² to x ∈ [t_x − 1, t_x + 1], y ∈ [t_y − 0.25, t_y + 0.25] in the input's
    normalised coordinates (align_corners=False).
    """
    height, width = image_size
    boxes = []
    for tx, ty in np.asarray(translations, dtype=np.float64).reshape(-1, 2):
        x0, x1 = (tx - 1 + 1) / 2 * width, (tx + 1 + 1) / 2 * width
        y0, y1 = (ty - 0.25 + 1) / 2 * height, (ty + 0.25 + 1) / 2 * height
        boxes.append((x0, y0, x1, y1))
    return boxes


def draw_attention_grid(image, maps, titles=None, tile_size=(96, 192), path=None, columns=None):
    """The image followed by one heat-map overlay per map (`(h, w, K)` → K overlays).

    Returns the PIL image (saved to `path` when given).
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[:, :, None]
    base = _to_pil(image).resize(tile_size, Image.BILINEAR)
    tiles = [_tile(base, [("input", (0, 0, 0))], GREY, tile_size, border=2, caption_height=18)]
    for k in range(maps.shape[-1]):
        title = titles[k] if titles else f"map {k}"
        tiles.append(_tile(overlay_heatmap(base, maps[:, :, k]), [(title, (0, 0, 0))], GREY, tile_size, border=2, caption_height=18))
    columns = columns or len(tiles)
    rows = -(-len(tiles) // columns)
    tw, th = tiles[0].size
    canvas = Image.new("RGB", (columns * (tw + 4) + 4, rows * (th + 4) + 4), "white")
    for i, t in enumerate(tiles):
        canvas.paste(t, (4 + (i % columns) * (tw + 4), 4 + (i // columns) * (th + 4)))
    if path is not None:
        canvas.save(path)
    return canvas


def draw_regions(image, boxes, tile_size=(96, 192), path=None):
    """Draws HA-CNN region boxes (in `image`'s pixel coordinates) over the image."""
    img = _to_pil(image)
    sx, sy = tile_size[0] / img.width, tile_size[1] / img.height
    img = img.resize(tile_size, Image.BILINEAR)
    draw = ImageDraw.Draw(img)
    colours = [(230, 30, 30), (30, 160, 30), (30, 80, 230), (230, 160, 0)]
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        draw.rectangle([x0 * sx, y0 * sy, x1 * sx - 1, y1 * sy - 1], outline=colours[i % 4], width=2)
    if path is not None:
        img.save(path)
    return img


def draw_region_grid(image, boxes_list, titles=None, tile_size=(96, 192), path=None):
    """The image followed by one picture per set of HA-CNN region boxes (one per block)."""
    base = _to_pil(image)
    tiles = [_tile(base, [("input", (0, 0, 0))], GREY, tile_size, border=2, caption_height=18)]
    for k, boxes in enumerate(boxes_list):
        title = titles[k] if titles else f"block {k + 1}"
        tiles.append(_tile(draw_regions(base, boxes, tile_size), [(title, (0, 0, 0))], GREY, tile_size, border=2, caption_height=18))
    tw, th = tiles[0].size
    canvas = Image.new("RGB", (len(tiles) * (tw + 4) + 4, th + 8), "white")
    for i, t in enumerate(tiles):
        canvas.paste(t, (4 + i * (tw + 4), 4))
    if path is not None:
        canvas.save(path)
    return canvas


def stack_pictures(pictures, path=None):
    """Stacks PIL pictures top to bottom on a white canvas as wide as the widest.

    Example:
    >>> from PIL import Image
    >>> stack_pictures([Image.new("RGB", (4, 2)), Image.new("RGB", (6, 3))]).size
    (6, 5)
    """
    canvas = Image.new("RGB", (max(p.width for p in pictures), sum(p.height for p in pictures)), "white")
    y = 0
    for p in pictures:
        canvas.paste(p, (0, y))
        y += p.height
    if path is not None:
        canvas.save(path)
    return canvas
