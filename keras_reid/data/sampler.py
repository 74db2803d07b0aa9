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

    With `domains` (one source index per image, e.g. `ReIDDataset.train_domains`), every
    batch draws its P identities from a single source: the source is picked with
    probability proportional to its identities that still have chunks, among the sources
    with at least P of them (an identity belongs to the source of its first image).

    Args:
        pids: sequence of the training pids (one per image).
        num_instances: K, images per identity in a batch.
        num_identities: P, identities per batch (batch size = P × K).
        seed: integer seed (None: a random one).
        domains: optional source index of every image (one-source batches, see above).

    Example:
    >>> s = RandomIdentitySampler([0, 0, 1, 1, 2, 2, 3], num_instances=2, num_identities=2, seed=0)
    >>> len(s.epoch_indices(0)) % 4
    0
    """

    def __init__(self, pids, num_instances=4, num_identities=16, seed=None, domains=None):
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
        self.domain_of = None
        if domains is not None:
            domains = np.asarray(domains)
            if domains.shape != self.pids.shape:
                raise ValueError(f"domains has {domains.size} entries for {self.pids.size} images.")
            self.domain_of = {pid: int(domains[idxs[0]]) for pid, idxs in self.index_of.items()}
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
        if self.domain_of is not None:
            return self._one_source_batches(rng, chunks, available)
        while len(available) >= self.num_identities:
            picked = rng.choice(len(available), size=self.num_identities, replace=False)
            for j in picked.tolist():
                out.append(chunks[available[j]].pop(0))
            available = [pid for pid in available if chunks[pid]]
        if not out:
            return np.zeros((0,), np.int64)
        return np.concatenate(out).astype(np.int64)

    def _one_source_batches(self, rng, chunks, available):
        p = self.num_identities
        pools = {}
        for pid in available:
            pools.setdefault(self.domain_of[pid], []).append(pid)
        out = []
        while True:
            ready = sorted(d for d, pool in pools.items() if len(pool) >= p)
            if not ready:
                break
            sizes = np.asarray([len(pools[d]) for d in ready], np.float64)
            domain = ready[int(rng.choice(len(ready), p=sizes / sizes.sum()))]
            pool = pools[domain]
            picked = rng.choice(len(pool), size=p, replace=False)
            for j in picked.tolist():
                out.append(chunks[pool[j]].pop(0))
            pools[domain] = [pid for pid in pool if chunks[pid]]
        if not out:
            return np.zeros((0,), np.int64)
        return np.concatenate(out).astype(np.int64)

    def __len__(self):
        """Upper bound of the images per epoch (torchreid's `__len__`)."""
        return self.length
