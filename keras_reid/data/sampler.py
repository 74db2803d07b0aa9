"""Identity-balanced P×K sampling (torchreid's / fast-reid's `RandomIdentitySampler`)."""

import collections

import numpy as np


class RandomIdentitySampler:
    """Orders training images into batches of P identities × K images.

    Per epoch (as torchreid): every identity's images are shuffled and cut into chunks of
    K (an identity with fewer than K images is sampled *with replacement* up to K; the
    last incomplete chunk of an identity is dropped); then, while at least P identities
    have chunks left, P of them are drawn at random and one chunk of each is emitted.
    One epoch therefore covers about every image once. The order depends only on
    `(seed, epoch)`.

    Args:
        pids: sequence of the training pids (one per image).
        num_instances: K, images per identity in a batch.
        num_identities: P, identities per batch (batch size = P × K).
        seed: integer seed (None: a random one).

    Example:
    >>> s = RandomIdentitySampler([0, 0, 1, 1, 2, 2, 3], num_instances=2, num_identities=2, seed=0)
    >>> len(s.epoch_indices(0)) % 4
    0
    """

    def __init__(self, pids, num_instances=4, num_identities=16, seed=None):
        if num_instances < 1 or num_identities < 1:
            raise ValueError("num_instances (K) and num_identities (P) must be positive.")
        self.pids = np.asarray(pids)
        self.num_instances = int(num_instances)
        self.num_identities = int(num_identities)
        self.seed = int(np.random.SeedSequence().entropy % (2**31)) if seed is None else int(seed)
        self.index_of = collections.defaultdict(list)
        for i, pid in enumerate(self.pids.tolist()):
            self.index_of[pid].append(i)
        self.unique_pids = sorted(self.index_of)
        if len(self.unique_pids) < self.num_identities:
            raise ValueError(
                f"P={self.num_identities} identities per batch but the training set has only "
                f"{len(self.unique_pids)}."
            )
        k = self.num_instances
        self.length = sum(max(len(v), k) // k * k for v in self.index_of.values())

    @property
    def batch_size(self):
        return self.num_identities * self.num_instances

    def epoch_indices(self, epoch=0):
        """The image indices of epoch `epoch`, a multiple of P×K long (int64 array)."""
        rng = np.random.default_rng([self.seed, int(epoch)])
        k = self.num_instances
        chunks = {}
        for pid in self.unique_pids:
            idxs = np.asarray(self.index_of[pid])
            if len(idxs) < k:
                idxs = rng.choice(idxs, size=k, replace=True)
            else:
                idxs = rng.permutation(idxs)
            n = len(idxs) // k
            chunks[pid] = [idxs[j * k : (j + 1) * k] for j in range(n)]
        available = [pid for pid in self.unique_pids if chunks[pid]]
        out = []
        while len(available) >= self.num_identities:
            picked = rng.choice(len(available), size=self.num_identities, replace=False)
            for j in picked.tolist():
                out.append(chunks[available[j]].pop(0))
            available = [pid for pid in available if chunks[pid]]
        if not out:
            return np.zeros((0,), np.int64)
        return np.concatenate(out).astype(np.int64)

    def __len__(self):
        """Upper bound of the images per epoch (torchreid's `__len__`)."""
        return self.length
