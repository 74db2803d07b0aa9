"""The `keras-reid` command line: list, embed, search, eval, visualize, export, demo and train.

    keras-reid demo                                  # the 1-minute tour (no download)
    keras-reid list
    keras-reid embed PRESET FOLDER --output feats.npy
    keras-reid search PRESET --query q.jpg --gallery FOLDER --top-k 10 --output ranks.png
    keras-reid eval PRESET --dataset market1501 --root /data/market --json metrics.json
    keras-reid eval PRESET --dataset dg --root reid_extra/    # VIPeR, PRID, GRID, i-LIDS
    keras-reid visualize attention PRESET img.jpg --output attention.png
    keras-reid visualize retrieval feats.npy --query 0 --output ranks.png
    keras-reid export PRESET reid.onnx --format onnx  # SavedModel, ONNX or TFLite, preprocessing inside
    keras-reid train ...                             # see keras_reid.training

User errors (missing folder, unknown preset, unreadable image...) end the command with
exit status 2 and one line `keras-reid: error: <reason>` on stderr, never a traceback
(set KERAS_REID_DEBUG=1 to see one).
"""

import argparse
import json
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROG = "keras-reid"
# Embedded presets the demo tries, best first: ReID-trained, then ImageNet-only.
DEMO_PRESETS = ("mobilenetv2_multisource", "mobilenetv2_cuhk03", "mobilenetv2_imagenet")
DEFAULT_DEMO_ARCHITECTURE = "mobilenetv2"


class CLIError(Exception):
    """A user error: printed as one `keras-reid: error: ...` line, exit status 2."""


def samples_dir():
    """The folder of the bundled synthetic sample images (see its NOTICE)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "samples")


def _say(*args):
    print(*args, flush=True)


# -- helpers -------------------------------------------------------------------------------
def _load_model(handle):
    from keras_reid.presets.loader import load

    return load(handle)


def _extractor(model, args):
    from keras_reid.feature_extractor import FeatureExtractor

    return FeatureExtractor(model, batch_size=args.batch_size, flip=args.flip, verbose="auto")


def _require_folder(path, what="folder"):
    if not os.path.exists(path):
        raise CLIError(f"no such {what}: {path}")
    if not os.path.isdir(path):
        raise CLIError(f"not a {what}: {path}")


def _distances(query, gallery, metric):
    from keras_reid.evaluation import compute_distance_matrix

    return compute_distance_matrix(query, gallery, metric=metric)


def _fmt_id(value):
    return "?" if value is None else str(value)


def _print_ranking(query_name, qid, results):
    """Prints one query's ranked items (records of `evaluation.retrieval.retrieval_records`)."""
    _say(f"query {query_name} (id {_fmt_id(qid)})")
    _say(f"  {'rank':>4}  {'distance':>8}  {'id':>5}  match  path")
    for item in results:
        match = "?" if item["match"] is None else ("yes" if item["match"] else "no")
        _say(f"  {item['rank']:>4}  {item['distance']:>8.4f}  {_fmt_id(item['id']):>5}  {match:>5}  {item['path']}")


# -- list ----------------------------------------------------------------------------------
def cmd_list(args):
    from keras_reid.models.registry import architecture_info, list_architectures
    from keras_reid.presets import registry

    presets = registry.builtin_presets()
    _say("Built-in presets (keras_reid.load(NAME)):")
    if not presets:
        _say("  (none registered: no zoo/ folder or zoo index in this install)")
    for name in sorted(presets):
        entry = presets[name]
        status = entry.get("status", "?")
        if status == "embedded" and registry.embedded_preset_dir(name) is None:
            status = "embedded (files missing)"
        _say(f"  {name:<28} {status:<12} {entry.get('architecture', ''):<18} {entry.get('description', '')}")
    _say("")
    _say("Architectures (keras_reid.build(NAME), random weights):")
    for name in list_architectures():
        _say(f"  {name:<28} {architecture_info(name)['description']}")
    return 0


# -- embed ---------------------------------------------------------------------------------
def cmd_embed(args):
    from keras_reid.evaluation.saved_gallery import save_gallery

    _require_folder(args.folder)
    model = _load_model(args.preset)
    extractor = _extractor(model, args)
    if args.skip_errors:
        embeddings, kept = extractor(args.folder, on_error="skip")
        if not kept:
            raise CLIError(f"no image of {args.folder} could be read (all were skipped); nothing written")
    else:
        from keras_reid.feature_extractor import ImageReadError

        try:
            embeddings = extractor(args.folder)
        except ImageReadError as e:
            raise CLIError(f"{e} (pass --skip-errors to embed the other images)") from None
        kept = extractor.last_paths
    out, index_path = save_gallery(args.output, embeddings, kept, args.folder, args.preset, flip=args.flip)
    _say(f"Embedded {embeddings.shape[0]} image(s) into {embeddings.shape[1]}-D L2-normalised vectors.")
    _say(f"Embeddings: {out}")
    _say(f"Paths (row order): {index_path}")
    return 0


# -- search --------------------------------------------------------------------------------
def _load_saved_gallery(path, preset):
    from keras_reid.evaluation.saved_gallery import SavedGalleryError, load_gallery

    try:
        return load_gallery(path, preset)
    except SavedGalleryError as e:
        raise CLIError(str(e)) from None


def cmd_search(args):
    from keras_reid.evaluation.gallery_search import search_gallery
    from keras_reid.evaluation.retrieval import retrieval_records, write_records_csv, write_records_json
    from keras_reid.feature_extractor import list_images
    from keras_reid.visualization import draw_retrieval_grid

    for q in args.query:
        if not os.path.isfile(q):
            raise CLIError(f"no such query image: {q}")
    saved = args.gallery.endswith(".npy")
    if saved:
        gallery_emb, gallery_paths, info = _load_saved_gallery(args.gallery, args.preset)
        if bool(info.get("flip")) != bool(args.flip):
            _say(f"Queries are embedded with flip={bool(info.get('flip'))}, as the saved gallery was.")
            args.flip = bool(info.get("flip"))
    else:
        _require_folder(args.gallery, "gallery folder")
        gallery_paths, _ = list_images(args.gallery)
        if not gallery_paths:
            raise CLIError(f"no image files in gallery folder {args.gallery}")
    model = _load_model(args.preset)
    extractor = _extractor(model, args)
    query_emb = extractor(list(args.query))
    if not saved:
        gallery_emb, gallery_paths = extractor(gallery_paths, on_error="skip")
        if not gallery_paths:
            raise CLIError(f"no image of the gallery folder {args.gallery} could be read")
    if gallery_emb.shape[1] != query_emb.shape[1]:
        raise CLIError(f"the gallery holds {gallery_emb.shape[1]}-D embeddings, the preset makes {query_emb.shape[1]}-D ones")
    where = {os.path.abspath(p): j for j, p in enumerate(gallery_paths)}
    exclude = [[where[os.path.abspath(q)]] if os.path.abspath(q) in where else [] for q in args.query]
    dist, idx = search_gallery(query_emb, gallery_emb, k=args.top_k, metric=args.metric, exclude=exclude, index=args.index)
    records = retrieval_records(list(args.query), gallery_paths, dist, idx)
    for r in records:
        _print_ranking(r["query"], r["query_id"], r["results"])
    if args.json:
        write_records_json(args.json, records, preset=args.preset, metric=args.metric, gallery=args.gallery,
                           num_gallery=len(gallery_paths))
        _say(f"Results JSON: {os.path.abspath(args.json)}")
    if args.csv:
        write_records_csv(args.csv, records)
        _say(f"Results CSV: {os.path.abspath(args.csv)}")
    if args.output:
        title = f"{args.preset}: top-{args.top_k} ({args.metric} distance)"
        rows = [r["results"] for r in records]
        draw_retrieval_grid(list(args.query), rows, query_id=[r["query_id"] for r in records], path=args.output,
                            title=title)
        _say(f"Retrieval picture: {os.path.abspath(args.output)}")
    return 0


# -- eval ----------------------------------------------------------------------------------
def _metrics_table(metrics, ranks=(1, 5, 10)):
    cmc = metrics["cmc"]
    lines = ["| metric | value |", "|---|---|", f"| mAP | {100 * metrics['mAP']:.2f} |"]
    for r in ranks:
        if r <= len(cmc):
            lines.append(f"| rank-{r} | {100 * cmc[r - 1]:.2f} |")
    if "mINP" in metrics:
        lines.append(f"| mINP | {100 * metrics['mINP']:.2f} |")
    return "\n".join(lines)


def _dg_table(results):
    lines = ["| benchmark | splits | rank-1 | rank-5 | rank-10 | mAP |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        mean, std = r["mean"], r["std"]
        cells = " | ".join(f"{mean[k]:.1f} ± {std[k]:.1f}" for k in ("rank1", "rank5", "rank10", "mAP"))
        lines.append(f"| {name} | {len(r['splits'])} | {cells} |")
    return "\n".join(lines)


def cmd_eval_dg(args, names):
    """`keras-reid eval PRESET -d viper|prid|grid|ilids|dg`: mean ± std over random splits."""
    from keras_reid.data import dg_splits
    from keras_reid.evaluation import evaluate_splits
    from keras_reid.visualization import plot_cmc

    if args.rerank:
        raise CLIError("--rerank is not used by the DG benchmark protocols (single-shot, plain ranking)")
    if args.splits < 1:
        raise CLIError("--splits must be >= 1")
    _require_folder(args.root, "dataset root")
    splits = {name: dg_splits(name, args.root, num_splits=args.splits, seed=args.split_seed) for name in names}
    model = _load_model(args.preset)
    extractor = _extractor(model, args)
    results = {}
    for name, parts in splits.items():
        _say(f"{name}: {args.splits} split(s) of {len(parts[0].query)} query, {len(parts[0].gallery)} gallery images")
        results[name] = evaluate_splits(parts, extractor, metric=args.metric, max_rank=args.max_rank)
    _say(f"\n{args.preset} on the DG benchmarks (mean ± std over {args.splits} split(s), {args.metric} distance"
         f"{', flip' if args.flip else ''}; never trained on):")
    _say(_dg_table(results))
    if args.cmc_plot:
        plot_cmc({name: r["cmc"] for name, r in results.items()}, args.cmc_plot, title=f"CMC: {args.preset} (DG)")
        _say(f"CMC curve: {os.path.abspath(args.cmc_plot)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "preset": args.preset,
                    "protocol": "dg",
                    "num_splits": args.splits,
                    "split_seed": args.split_seed,
                    "metric": args.metric,
                    "flip": bool(args.flip),
                    "benchmarks": results,
                },
                f,
                indent=2,
            )
        _say(f"Metrics JSON: {os.path.abspath(args.json)}")
    return 0


def cmd_eval(args):
    from keras_reid.visualization import plot_cmc

    try:
        from keras_reid.data import DG_BENCHMARKS, get_dataset, list_datasets
    except ImportError:
        raise CLIError("keras_reid.data (dataset parsers) is not available in this install") from None
    if args.dataset == "dg" or args.dataset in DG_BENCHMARKS:
        return cmd_eval_dg(args, DG_BENCHMARKS if args.dataset == "dg" else (args.dataset,))
    if args.dataset not in list_datasets():
        import difflib

        close = difflib.get_close_matches(args.dataset, list_datasets(), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise CLIError(f"unknown dataset {args.dataset!r}.{hint} Known: {', '.join(list_datasets())}")
    _require_folder(args.root, "dataset root")
    # Evaluation needs no training split: parsers that can, accept a copy without one.
    dataset = get_dataset(args.dataset, args.root, require_train=False)
    if not dataset.query or not dataset.gallery:
        raise CLIError(f"dataset {args.dataset} under {args.root} has no query or no gallery images")
    from keras_reid.evaluation import evaluate_model

    model = _load_model(args.preset)
    _say(f"{dataset.name}: {len(dataset.query)} query, {len(dataset.gallery)} gallery images")
    metrics = evaluate_model(
        model, dataset, metric=args.metric, rerank=args.rerank, max_rank=args.max_rank, extractor=_extractor(model, args)
    )
    valid = int(metrics.get("num_valid_queries", len(dataset.query)))
    _say(f"\n{args.preset} on {dataset.name} ({args.metric} distance{', re-ranked' if args.rerank else ''}"
         f"{', flip' if args.flip else ''}):")
    _say(f"{valid} of {len(dataset.query)} queries evaluated; {len(dataset.query) - valid} skipped (no true match "
         "in the gallery from another camera)")
    _say(_metrics_table(metrics))
    cmc = [float(v) for v in metrics["cmc"]]
    if args.cmc_plot:
        plot_cmc({args.preset: cmc}, args.cmc_plot, title=f"CMC: {args.preset} on {dataset.name}")
        _say(f"CMC curve: {os.path.abspath(args.cmc_plot)}")
    if args.json:
        result = {
            "preset": args.preset,
            "dataset": dataset.name,
            "num_query": len(dataset.query),
            "num_valid_queries": valid,
            "num_skipped_queries": len(dataset.query) - valid,
            "num_gallery": len(dataset.gallery),
            "metric": args.metric,
            "flip": bool(args.flip),
            "rerank": bool(args.rerank),
            "mAP": float(metrics["mAP"]),
            "mINP": float(metrics["mINP"]) if "mINP" in metrics else None,
            "cmc": cmc,
        }
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        _say(f"Metrics JSON: {os.path.abspath(args.json)}")
    return 0


# -- visualize -------------------------------------------------------------------------------
def cmd_visualize_attention(args):
    import numpy as np

    from keras_reid.feature_extractor import read_image
    from keras_reid.visualization import (
        activation_map,
        attention_maps,
        draw_attention_grid,
        draw_region_grid,
        hacnn_region_boxes,
        stack_pictures,
    )

    for path in args.images:
        if not os.path.isfile(path):
            raise CLIError(f"no such image: {path}")
    model = _load_model(args.preset)
    from keras_reid.feature_extractor import FeatureExtractor

    preprocessor = FeatureExtractor(model).preprocessor
    pictures = []
    for path in args.images:
        image = read_image(path)
        batch = np.asarray(preprocessor(image[None]), "float32")
        results = attention_maps(model, batch)
        if not results:
            # No attention layer: where the model looks instead (torchreid's activation map).
            name, maps = activation_map(model, batch)
            pictures.append(draw_attention_grid(image, maps[0], titles=["activation"]))
            _say(f"{path}: {args.preset} has no attention layer; activation map of {name} "
                 f"({maps.shape[1]}x{maps.shape[2]}, sum of squared activations)")
            continue
        shown = results if args.layer is None else [r for r in results if args.layer in r["layer"]]
        if not shown:
            raise CLIError(f"no attention layer matches --layer {args.layer!r}; layers: "
                           + ", ".join(sorted({r['layer'] for r in results})))
        regions = [r for r in shown if r["kind"] == "hacnn_regions"]
        maps_results = [r for r in shown if r["kind"] != "hacnn_regions"]
        if args.layer is None and len(maps_results) > 1:
            maps_results = [maps_results[-1]]  # the deepest attention-map layer by default
        if regions:  # every HA-CNN block's 4 regions, side by side
            boxes = [hacnn_region_boxes(r["maps"][0], image.shape[:2]) for r in regions]
            titles = [r["layer"].split("/")[0] for r in regions]
            pictures.append(draw_region_grid(image, boxes, titles=titles))
            for r in regions:
                t = ", ".join(f"({tx:+.2f}, {ty:+.2f})" for tx, ty in r["maps"][0])
                _say(f"{path}: {r['layer']} (HA-CNN regions, t_x/t_y) {t}")
        for res in maps_results:
            maps = res["maps"][0][..., : args.max_maps]
            label = "head" if res["kind"] == "stra_mode" else "map"
            titles = [f"{label} {k}" for k in range(maps.shape[-1])]
            pictures.append(draw_attention_grid(image, maps, titles=titles))
            _say(f"{path}: {res['layer']} ({res['kind']}, {res['maps'].shape[-1]} maps at "
                 f"{res['maps'].shape[1]}x{res['maps'].shape[2]})")
    stack_pictures(pictures, path=args.output)
    _say(f"Attention picture: {os.path.abspath(args.output)}")
    return 0


def cmd_visualize_retrieval(args):
    from keras_reid.evaluation.retrieval import retrieval_records, top_k
    from keras_reid.visualization import draw_retrieval_grid

    embeddings, paths, _ = _load_saved_gallery(args.embeddings, None)
    queries = []
    for q in args.query:
        if q.isdigit():
            i = int(q)
            if i >= len(paths):
                raise CLIError(f"query index {i} out of range (0..{len(paths) - 1})")
            queries.append(i)
        else:
            match = [i for i, p in enumerate(paths) if os.path.basename(p) == os.path.basename(q) or p == q]
            if not match:
                raise CLIError(f"query {q!r} is not among the images of {args.embeddings}")
            queries.append(match[0])
    dist = _distances(embeddings[queries], embeddings, args.metric)
    ranked = [top_k(dist[row], args.top_k, exclude=[qi]) for row, qi in enumerate(queries)]
    records = retrieval_records([paths[i] for i in queries], paths,
                                [dist[row, r] for row, r in enumerate(ranked)], ranked)
    for r in records:
        _print_ranking(r["query"], r["query_id"], r["results"])
    rows = [r["results"] for r in records]
    draw_retrieval_grid([paths[i] for i in queries], rows, query_id=[r["query_id"] for r in records],
                        path=args.output, title=f"top-{args.top_k} ({args.metric} distance)")
    _say(f"Retrieval picture: {os.path.abspath(args.output)}")
    return 0


# -- demo ----------------------------------------------------------------------------------
def _demo_model(preset):
    """The demo's model and a sentence saying what it is."""
    from keras_reid.presets import registry

    if preset is not None:
        return _load_model(preset), f"preset {preset}"
    name = registry.first_embedded(DEMO_PRESETS)
    if name is not None:
        description = registry.builtin_presets()[name].get("description", "")
        return _load_model(name), f"preset {name} (embedded, no download): {description}"
    import keras

    from keras_reid.models.registry import build

    keras.utils.set_random_seed(0)
    model = build(DEFAULT_DEMO_ARCHITECTURE)
    return model, (
        f"NOTE: no embedded preset ({', '.join(DEMO_PRESETS)}) is available in this install, so this demo "
        f"uses a RANDOMLY INITIALISED {DEFAULT_DEMO_ARCHITECTURE!r} model: its rankings reflect untrained "
        "features (mostly colours), not a trained ReID model. Pass --preset NAME for trained weights "
        "(keras-reid list)."
    )


def cmd_demo(args):
    from keras_reid.evaluation.retrieval import leave_one_out, retrieval_records
    from keras_reid.feature_extractor import list_images
    from keras_reid.visualization import draw_retrieval_grid, parse_identity

    folder = args.images or samples_dir()
    _require_folder(folder, "image folder")
    paths, _ = list_images(folder, log=bool(args.images))
    ids = [parse_identity(p) for p in paths]
    if len(paths) < 2 or any(pid is None for pid, _ in ids):
        raise CLIError(f"{folder}: need >= 2 images named [id]PPPP_cC_*.jpg (identity, camera) for the demo")
    model, what = _demo_model(args.preset)
    _say(f"Model: {what}")
    _say(f"Images: {len(paths)} from {folder}" + (" (synthetic samples, see NOTICE)" if not args.images else ""))
    embeddings = _extractor(model, args)(paths)
    # Leave-one-out: each image queries all the others from other cameras (Market protocol).
    dist = _distances(embeddings, embeddings, "cosine")
    result = leave_one_out(dist, [p for p, _ in ids], [c for _, c in ids], top_k_per_query=args.top_k)
    metrics = result["metrics"]
    _say(f"Leave-one-out retrieval over {result['num_valid_queries']} queries (other cameras only):")
    _say(f"  rank-1 {100 * metrics['cmc'][0]:.1f}%   mAP {100 * metrics['mAP']:.1f}%"
         + (f"   mINP {100 * metrics['mINP']:.1f}%" if "mINP" in metrics else ""))
    # The picture: one row per identity (its first image as the query).
    queries = [paths[i] for i, _ in result["examples"]]
    ranked = [r for _, r in result["examples"]]
    records = retrieval_records(queries, paths, [dist[i, r] for i, r in result["examples"]], ranked)
    rows = [r["results"] for r in records]
    if what.startswith("NOTE"):
        title = f"keras-reid demo: RANDOMLY INITIALISED {DEFAULT_DEMO_ARCHITECTURE} (untrained)"
    else:
        title = f"keras-reid demo: {what.split(' (')[0]}"  # the long description stays in the printed line
    title += f"  |  rank-1 {100 * metrics['cmc'][0]:.0f}%  mAP {100 * metrics['mAP']:.0f}%"
    draw_retrieval_grid(queries, rows, query_id=[r["query_id"] for r in records], path=args.output, title=title)
    _say(f"Retrieval picture: {os.path.abspath(args.output)}")
    return 0


# -- train ---------------------------------------------------------------------------------
def cmd_train(args, extra):
    try:
        from keras_reid.training import cli_train
    except ImportError as e:
        raise CLIError(
            f"training is not available in this install: keras_reid.training.cli_train cannot be imported ({e})"
        ) from None
    return cli_train(extra) or 0


# -- export --------------------------------------------------------------------------------
EXPORT_FORMATS = ("tf_saved_model", "onnx", "tflite")


def cmd_export(args):
    """`keras-reid export PRESET OUT --format tf_saved_model|onnx|tflite`: the end-to-end model as a deployable file."""
    import importlib.util

    import keras

    backend = keras.backend.backend()
    if args.format == "tflite" and backend != "tensorflow":
        raise CLIError("--format tflite needs the TensorFlow backend: run with KERAS_BACKEND=tensorflow")
    if args.format == "tf_saved_model" and backend == "torch":
        raise CLIError("--format tf_saved_model needs the TensorFlow or JAX backend: run with KERAS_BACKEND=tensorflow")
    converter = ("onnxscript" if backend == "torch" else "tf2onnx") if args.format == "onnx" else None
    if converter and importlib.util.find_spec(converter) is None:
        raise CLIError(f"--format onnx on the {backend} backend needs {converter}: pip install \"keras-reid[export]\"")
    if os.path.exists(args.output) and not args.overwrite:
        raise CLIError(f"{args.output} exists: choose another path or pass --overwrite")
    model = _load_model(args.preset)
    try:
        model.export(args.output, format=args.format, verbose=False)
    except Exception as e:  # the exporters' own errors (unsupported backend, converter failure)
        reason = " ".join(str(e).split())[:300]
        raise CLIError(f"export to {args.format} failed ({type(e).__name__}: {reason})") from None
    _say(f"Exported {args.preset} ({args.format}): {os.path.abspath(args.output)}")
    if getattr(model, "preprocessing", None) is not None:
        _say("Input: float32 RGB images, 0-255 values, any size (N, H, W, 3); output: L2-normalised "
             f"{model.embedding_dim}-D embeddings.")
    else:
        _say(f"Input: float32 images already preprocessed, shape (N, {', '.join(map(str, model.image_shape))}); "
             f"output: {model.embedding_dim}-D embeddings (a bare model: no preprocessing inside).")
    return 0


# -- parser --------------------------------------------------------------------------------
def _add_extractor_options(p):
    p.add_argument("--batch-size", type=int, default=32, help="images per forward pass (default: 32)")
    p.add_argument("--flip", action="store_true", help="flip test-time augmentation (average with the mirrored image)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Person re-identification with Keras 3: embed, search, evaluate and visualise with keras_reid presets.",
        epilog="PRESET is a built-in name (keras-reid list), hf://ORG/REPO[@REV], a preset folder or a .keras file. "
        "Set KERAS_BACKEND=jax|torch|tensorflow to choose the backend.",
    )
    from keras_reid.version import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="show the backend's start-up log lines and library warnings (hidden by default)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list the built-in presets and architectures")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("embed", help="embed every image of a folder into a .npy file")
    p.add_argument("preset", metavar="PRESET")
    p.add_argument("folder", metavar="FOLDER", help="images (searched recursively)")
    p.add_argument("--output", "-o", required=True, help="OUT.npy; the paths go to OUT.paths.json")
    p.add_argument("--skip-errors", action="store_true", help="skip unreadable images instead of failing")
    _add_extractor_options(p)
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("search", help="rank a gallery folder against query images")
    p.add_argument("preset", metavar="PRESET")
    p.add_argument("--query", "-q", nargs="+", required=True, metavar="IMG")
    p.add_argument("--gallery", "-g", required=True, metavar="FOLDER|EMB.npy",
                   help="a folder of images, or a saved gallery written by `keras-reid embed` (OUT.npy + OUT.paths.json, "
                        "embedded once, searched many times)")
    p.add_argument("--index", choices=("auto", "exact", "faiss"), default="auto",
                   help="exact NumPy search (auto: measured fastest per call), or a FAISS flat index (needs faiss-cpu)")
    p.add_argument("--json", help="write the rankings as JSON")
    p.add_argument("--csv", help="write the rankings as CSV (query, rank, path, distance, id, match)")
    p.add_argument("--top-k", "-k", type=int, default=10)
    p.add_argument("--metric", choices=("cosine", "euclidean"), default="cosine")
    p.add_argument("--output", "-o", default=None, help="write the retrieval picture (PNG) here (default: none)")
    _add_extractor_options(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("eval", help="evaluate a preset on a ReID dataset (mAP, CMC, mINP)")
    p.add_argument("preset", metavar="PRESET")
    p.add_argument("--dataset", "-d", required=True,
                   help="dataset parser name (e.g. market1501, image_folder), a DG benchmark (viper, prid, grid, "
                        "ilids: mean over random splits) or 'dg' for all four (--root: the folder holding them)")
    p.add_argument("--root", "-r", required=True, help="dataset folder")
    p.add_argument("--metric", choices=("cosine", "euclidean"), default="cosine")
    p.add_argument("--max-rank", type=int, default=50)
    p.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking")
    p.add_argument("--json", help="write the metrics as JSON")
    p.add_argument("--splits", type=int, default=10, help="DG benchmarks: random splits to average (default: 10)")
    p.add_argument("--split-seed", type=int, default=0, help="DG benchmarks: seed of the splits (default: 0)")
    p.add_argument("--cmc-plot", default=None, help="write the CMC curve (PNG) here (default: none)")
    _add_extractor_options(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("visualize", help="attention maps or retrieval grids as pictures")
    vsub = p.add_subparsers(dest="what", metavar="WHAT")
    v = vsub.add_parser("attention", help="attention maps (StRA heads, CSA base maps, HA-CNN regions)")
    v.add_argument("preset", metavar="PRESET")
    v.add_argument("images", metavar="IMG", nargs="+")
    v.add_argument("--layer", help="substring of the attention layer's name (default: the deepest)")
    v.add_argument("--max-maps", type=int, default=8, help="maps shown per layer (default: 8)")
    v.add_argument("--output", "-o", default="attention.png")
    v.set_defaults(func=cmd_visualize_attention)
    v = vsub.add_parser("retrieval", help="retrieval grid from `keras-reid embed` output (no model needed)")
    v.add_argument("embeddings", metavar="OUT.npy")
    v.add_argument("--query", "-q", nargs="+", required=True, help="row indices or file names of the queries")
    v.add_argument("--top-k", "-k", type=int, default=8)
    v.add_argument("--metric", choices=("cosine", "euclidean"), default="cosine")
    v.add_argument("--output", "-o", default="retrieval.png")
    v.set_defaults(func=cmd_visualize_retrieval)
    p.set_defaults(func=None, _visualize_parser=p)

    p = sub.add_parser("export", help="write a preset as a SavedModel, ONNX or TFLite file (preprocessing inside)")
    p.add_argument("preset", metavar="PRESET")
    p.add_argument("output", metavar="OUT", help="a folder (tf_saved_model) or a file path (onnx, tflite)")
    p.add_argument("--format", "-f", choices=EXPORT_FORMATS, default="tf_saved_model")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo", help="embed and rank the bundled sample images; writes retrieval.png")
    p.add_argument("--preset", help=f"preset to use (default: the first embedded of {', '.join(DEMO_PRESETS)}, else a random model)")
    p.add_argument("--images", help="folder of [id]PPPP_cC_*.jpg images (default: the bundled synthetic samples)")
    p.add_argument("--top-k", "-k", type=int, default=5)
    p.add_argument("--output", "-o", default="retrieval.png")
    _add_extractor_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "train",
        help="train a model (delegates to keras_reid.training)",
        description="Training is implemented by keras_reid.training.cli_train; its options are passed through.",
        add_help=False,
    )
    p.set_defaults(func=None, _train=True)
    return parser


def _import_backend_quietly():
    """Imports Keras (and TensorFlow, when it is the backend) with the native stderr muted.

    TensorFlow's C++ start-up lines (absl, cpu_feature_guard, oneDNN) are written before
    any log level applies; they say nothing a user can act on. `--verbose` keeps them.
    """
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    verbose = bool(argv) and argv[0] in ("--verbose", "-v")
    if verbose:
        argv = argv[1:]
    if argv and argv[0] == "train":
        args, extra = argparse.Namespace(command="train", verbose=verbose), argv[1:]
    else:
        args, extra = parser.parse_args(argv), None
        verbose = verbose or args.verbose
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.WARNING, format="keras-reid: %(message)s")
    if not verbose:
        import warnings

        # Library warnings (Keras, TensorFlow, NumPy) are for developers; keras_reid's own
        # messages use logging and stay visible.
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        _import_backend_quietly()
    debug = os.environ.get("KERAS_REID_DEBUG")
    try:
        if args.command == "train":
            return cmd_train(args, extra)
        if args.func is None:
            args._visualize_parser.print_help()
            return 0
        if getattr(args, "top_k", 1) < 1:
            raise CLIError("--top-k must be >= 1")
        if getattr(args, "batch_size", 1) < 1:
            raise CLIError("--batch-size must be >= 1")
        return args.func(args)
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return 130
    except Exception as e:  # user errors → one line; bugs too unless KERAS_REID_DEBUG is set
        if debug:
            raise
        from keras_reid.feature_extractor import ImageReadError
        from keras_reid.presets.errors import PresetError

        from keras_reid.training.trainer import TrainingConfigError

        user_errors = (CLIError, PresetError, ImageReadError, OSError, TrainingConfigError)
        try:
            from keras_reid.data import DatasetParseError

            user_errors += (DatasetParseError,)
        except ImportError:
            pass
        if not isinstance(e, user_errors):
            # The whole message on one line: library errors name the file or argument late.
            message = " ".join(f"{type(e).__name__}: {e}".split())
            sys.stderr.write(f"{PROG}: error: {message} (unexpected; rerun with KERAS_REID_DEBUG=1 for a traceback)\n")
            return 1
        message = " ".join(str(e).split()) or type(e).__name__
        sys.stderr.write(f"{PROG}: error: {message}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
