"""The trainer's input: a seeded, resumable stream of augmented P×K (or random) batches.

Stateless in `(seed, epoch)`: the images, order and augmentation of epoch `e` depend only
on them (sampler epochs from `np.random.default_rng([seed, e, k])`, augmentation seeded by
`[seed, global sample index]`), so a run resumed at epoch `e` sees exactly the batches the
straight run would have seen. `recipe` is a `keras_reid.training.Recipe` (its sampler,
batch and augmentation fields are read).

`train_dataset` is the `tf.data` stream (TensorFlow imported when it is called);
`keras_reid.data.numpy_stream.numpy_train_dataset` yields the same images in the same order
without TensorFlow (`keras_reid.training.train(input_pipeline=...)` picks one).
"""

import numpy as np


def epoch_indices(pids, recipe, seed, epoch, steps_per_epoch, domains=None):
    """Image indices of training epoch `epoch`: exactly `steps_per_epoch × batch_size` of them.

    Depends only on `(seed, epoch)`. Sampler epochs (`k = 0, 1, ...`) are concatenated until
    the epoch is full (P×K epochs vary in length) and the surplus is dropped. `domains`
    (one source index per image) is used when `recipe.domain_batches` is set.
    """
    from keras_reid.data.sampler import RandomIdentitySampler

    need = steps_per_epoch * recipe.batch_size
    out, k = [], 0
    if recipe.sampler == "identity":
        sampler = RandomIdentitySampler(
            pids,
            recipe.num_instances,
            recipe.batch_size // recipe.num_instances,
            seed=seed,
            domains=domains if recipe.domain_batches else None,
        )
    while sum(len(o) for o in out) < need:
        if recipe.sampler == "identity":
            idx = sampler.epoch_indices(int(epoch) * 1000 + k)
        else:
            rng = np.random.default_rng([int(seed), int(epoch), k])
            n = len(pids) // recipe.batch_size * recipe.batch_size
            idx = rng.permutation(len(pids))[: n or len(pids)]
        if len(idx) == 0:
            raise ValueError("The training split is too small for one batch of this recipe.")
        out.append(idx)
        k += 1
    return np.concatenate(out)[:need].astype(np.int64)


def compute_steps_per_epoch(records, recipe, max_steps=None):
    if recipe.sampler == "identity":
        from keras_reid.data.pipeline import steps_per_epoch

        steps = steps_per_epoch(records, recipe.batch_size // recipe.num_instances, recipe.num_instances)
    else:
        steps = max(1, len(records) // recipe.batch_size)
    return min(steps, int(max_steps)) if max_steps else steps


def train_dataset(records, recipe, preprocessor, seed, steps_per_epoch, first_epoch, last_epoch, domains=None):
    """Batches of epochs `[first_epoch, last_epoch)`, stateless in `(seed, epoch)`."""
    import tensorflow as tf

    from keras_reid.data.augmentation import color_jitter, torchreid_random_erasing
    from keras_reid.data.pipeline import load_image

    paths = tf.constant([r.path for r in records])
    labels = tf.constant([r.pid for r in records], tf.int32)
    pids = [r.pid for r in records]
    per_epoch = steps_per_epoch * recipe.batch_size
    height, width = preprocessor.image_size
    mean = tf.constant(preprocessor.mean, tf.float32)
    std = tf.constant(preprocessor.std, tf.float32)

    def indices(epoch):
        return epoch_indices(pids, recipe, seed, int(epoch), steps_per_epoch, domains)

    def epoch_ds(epoch):
        idx = tf.numpy_function(indices, [epoch], tf.int64, stateful=False)
        idx.set_shape([per_epoch])
        sample = epoch * per_epoch + tf.range(per_epoch, dtype=tf.int64)
        return tf.data.Dataset.from_tensor_slices((idx, sample))

    def load(index, sample):
        image = tf.numpy_function(load_image, [tf.gather(paths, index)], tf.uint8, stateful=False)
        image.set_shape([None, None, 3])
        image = tf.image.resize(tf.cast(image, tf.float32), (height, width), method=preprocessor.interpolation, antialias=False)
        seeds = tf.random.experimental.stateless_split(tf.stack([tf.constant(int(seed), tf.int64), sample]), 3)
        if recipe.flip:
            flip = tf.random.stateless_uniform([], seeds[0]) < 0.5
            image = tf.where(flip, tf.reverse(image, axis=[1]), image)
        if recipe.crop_pad:
            p = recipe.crop_pad
            image = tf.pad(image, [[p, p], [p, p], [0, 0]])
            image = tf.image.stateless_random_crop(image, [height, width, 3], seeds[1])
        if recipe.color_jitter or recipe.random_grayscale:
            # Its own seed stream, so recipes without it keep their exact augmentation.
            image = color_jitter(image, tf.random.experimental.stateless_fold_in(seeds[0], 7), recipe.color_jitter, recipe.random_grayscale)
        image = (image / 255.0 - mean) / std
        if recipe.random_erasing:
            image = torchreid_random_erasing(image, seeds[2], 0.5, tuple(recipe.erase_area), 0.3, fill=preprocessor.mean)
        return image, tf.gather(labels, index)

    ds = tf.data.Dataset.range(int(first_epoch), int(last_epoch)).flat_map(epoch_ds)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(recipe.batch_size, drop_remainder=True).prefetch(2)
