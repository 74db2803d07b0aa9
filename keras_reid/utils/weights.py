"""The one by-name weight transfer between keras_reid models (fine-tuning heads, init presets, PCB-RPP stages)."""


def transfer_weights(source, target, skip_prefix=None, strict=False):
    """Copies weights layer by layer, by layer name, from `source.network` to `target.network`.

    Args:
        source, target: `keras_reid.ReIDModel`s (anything with a functional `network`).
        skip_prefix: layers of `target` whose names start with it are left as they are
            (e.g. "classifier" when the number of identities changes).
        strict: raise `ValueError` naming the first weighted layer of `target` that has no
            counterpart of the same weight shapes in `source` (nothing dropped silently);
            otherwise such layers keep their own weights and are reported.

    Returns:
        `(copied, skipped)`: the names of the weighted layers copied and of those left as
        they were (`skip_prefix` matches included).
    """
    theirs = {layer.name: layer for layer in source.network.layers}
    copied, skipped = [], []
    for layer in target.network.layers:
        if not layer.weights:
            continue
        if skip_prefix and layer.name.startswith(skip_prefix):
            skipped.append(layer.name)
            continue
        other = theirs.get(layer.name)
        if other is None or [tuple(w.shape) for w in other.weights] != [tuple(w.shape) for w in layer.weights]:
            if strict:
                problem = "no counterpart" if other is None else "a counterpart with other weight shapes"
                raise ValueError(f"Layer {layer.name!r} has {problem} in the source model.")
            skipped.append(layer.name)
            continue
        layer.set_weights(other.get_weights())
        copied.append(layer.name)
    return copied, skipped
