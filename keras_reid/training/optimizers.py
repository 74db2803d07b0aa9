"""PyTorch-faithful optimizers and the epoch-based step schedule of the training recipes.

The upstream recipes (torchreid, the PCB/SA-PCB code) use `torch.optim.SGD`/`Adam` with
**coupled** L2 weight decay (`grad += wd · w`, applied to every parameter), per-parameter
Adam step counters (a parameter that was frozen starts its bias correction when it first
receives a gradient) and, for the PCB family, a smaller learning rate for the ImageNet
backbone (`lr_mult` 0.1). Keras' built-in `SGD`/`Adam` differ on all three points (decoupled
`weight_decay`, one global step, one learning rate), so `TorchSGD` and `TorchAdam` implement
the PyTorch update rules exactly:

* SGD: `g ← g + wd·w`; `buf ← μ·buf + g`; `w ← w − lr·m·(g + μ·buf if nesterov else buf)`.
* Adam: `g ← g + wd·w`; `t ← t + 1`; `m ← β1·m + (1−β1)·g`; `v ← β2·v + (1−β2)·g²`;
  `w ← w − lr·m / (1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + ε)`.

where `m` is the variable's learning-rate multiplier (`lr_multipliers`: regex on
`variable.path` → factor; the first matching pattern wins).
"""

import re

import keras
from keras import ops


def _multipliers_for(variables, lr_multipliers):
    out = []
    patterns = [(re.compile(p), float(f)) for p, f in (lr_multipliers or {}).items()]
    for v in variables:
        factor = 1.0
        for pattern, f in patterns:
            if pattern.search(v.path):
                factor = f
                break
        out.append(factor)
    return out


class _TorchOptimizer(keras.optimizers.Optimizer):
    """Shared plumbing: coupled L2, learning-rate multipliers, state transfer between phases."""

    def __init__(self, learning_rate, l2_weight_decay=0.0, lr_multipliers=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.l2_weight_decay = float(l2_weight_decay)
        self.lr_multipliers = dict(lr_multipliers or {})

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._var_paths = [v.path for v in variables]
        self._multipliers = _multipliers_for(variables, self.lr_multipliers)
        self._slots = {name: [] for name in self._slot_names}
        for v in variables:
            for slot in self._slot_names:
                if slot == "step":
                    var = self.add_variable(shape=(), initializer="zeros", dtype="float32", name=f"{v.path.replace('/', '_')}_step")
                else:
                    var = self.add_variable_from_reference(v, slot)
                self._slots[slot].append(var)

    def _prepare(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        g = ops.cast(gradient, variable.dtype)
        if self.l2_weight_decay:
            g = g + ops.cast(self.l2_weight_decay, variable.dtype) * variable
        lr = ops.cast(learning_rate, variable.dtype)
        if self._multipliers[index] != 1.0:
            lr = lr * ops.cast(self._multipliers[index], variable.dtype)
        return index, g, lr

    def slot_values_by_path(self):
        """`{variable path: {slot: numpy value}}` of the optimizer state."""
        return {
            path: {slot: keras.ops.convert_to_numpy(self._slots[slot][i]) for slot in self._slot_names}
            for i, path in enumerate(self._var_paths)
        }

    def transfer_state_from(self, other):
        """Copies the slots of the variables both optimizers know (by path) and the step count.

        Used when the set of trainable variables changes (fixbase → full training): the
        new optimizer keeps the moments of the layers that were already training, and the
        newly unfrozen ones start from zero state, as in PyTorch.
        """
        other = getattr(other, "inner_optimizer", other)
        values = other.slot_values_by_path()
        for i, path in enumerate(self._var_paths):
            if path in values:
                for slot in self._slot_names:
                    self._slots[slot][i].assign(values[path][slot])
        self.iterations.assign(other.iterations)

    def get_config(self):
        config = super().get_config()
        config.update(l2_weight_decay=self.l2_weight_decay, lr_multipliers=self.lr_multipliers)
        return config


@keras.saving.register_keras_serializable(package="keras_reid")
class TorchSGD(_TorchOptimizer):
    """`torch.optim.SGD` (dampening 0) with coupled L2 decay and per-variable lr multipliers.

    Args:
        learning_rate: float or schedule.
        momentum: μ (0 disables the buffer).
        nesterov: Nesterov momentum as PyTorch.
        l2_weight_decay: coupled L2 (`weight_decay` of `torch.optim.SGD`).
        lr_multipliers: `{regex on variable.path: factor}`.

    Example:
    >>> opt = TorchSGD(0.1, momentum=0.9, nesterov=True, l2_weight_decay=5e-4,
    ...                lr_multipliers={r"^(conv1|bn1|layer[1-4]_)": 0.1})
    """

    _slot_names = ("momentum_buffer",)

    def __init__(self, learning_rate=0.01, momentum=0.9, nesterov=False, l2_weight_decay=0.0, lr_multipliers=None, name="torch_sgd", **kwargs):
        super().__init__(learning_rate, l2_weight_decay, lr_multipliers, name=name, **kwargs)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        if not self.momentum:
            self._slot_names = ()

    def update_step(self, gradient, variable, learning_rate):
        index, g, lr = self._prepare(gradient, variable, learning_rate)
        if self.momentum:
            buf = self._slots["momentum_buffer"][index]
            new_buf = ops.cast(self.momentum, variable.dtype) * buf + g
            self.assign(buf, new_buf)
            direction = g + ops.cast(self.momentum, variable.dtype) * new_buf if self.nesterov else new_buf
        else:
            direction = g
        self.assign_sub(variable, lr * direction)

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, nesterov=self.nesterov)
        return config


@keras.saving.register_keras_serializable(package="keras_reid")
class TorchAdam(_TorchOptimizer):
    """`torch.optim.Adam` (coupled L2, per-variable step counters) with lr multipliers.

    Args:
        learning_rate: float or schedule.
        beta_1, beta_2, epsilon: as `torch.optim.Adam` (torchreid ≤ 1.0: betas (0.9, 0.99)).
        l2_weight_decay: coupled L2 (`weight_decay` of `torch.optim.Adam`, not AdamW).
        lr_multipliers: `{regex on variable.path: factor}`.

    Example:
    >>> opt = TorchAdam(3e-4, beta_2=0.99, l2_weight_decay=5e-4)
    """

    _slot_names = ("exp_avg", "exp_avg_sq", "step")

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8, l2_weight_decay=0.0, lr_multipliers=None, name="torch_adam", **kwargs):
        super().__init__(learning_rate, l2_weight_decay, lr_multipliers, name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def update_step(self, gradient, variable, learning_rate):
        index, g, lr = self._prepare(gradient, variable, learning_rate)
        m, v, step = (self._slots[s][index] for s in self._slot_names)
        dtype = variable.dtype
        new_step = step + 1.0
        self.assign(step, new_step)
        b1, b2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        new_m = b1 * m + (1.0 - b1) * g
        new_v = b2 * v + (1.0 - b2) * ops.square(g)
        self.assign(m, new_m)
        self.assign(v, new_v)
        t = ops.cast(new_step, dtype)
        bc1 = 1.0 - ops.power(b1, t)
        bc2 = 1.0 - ops.power(b2, t)
        denom = ops.sqrt(new_v) / ops.sqrt(bc2) + ops.cast(self.epsilon, dtype)
        self.assign_sub(variable, (lr / bc1) * new_m / denom)

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config


@keras.saving.register_keras_serializable(package="keras_reid")
class EpochStepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Epoch-granular multi-step decay with optional linear warmup (torchreid / fast-reid style).

    `lr(epoch) = base · γ^(number of milestones ≤ epoch) · warmup(epoch)` where
    `warmup(e) = warmup_factor + (1 − warmup_factor) · e / warmup_epochs` for
    `e < warmup_epochs` (else 1) and `epoch = floor(step / steps_per_epoch)`. torchreid's
    `single_step` (stepsize s) is `milestones = s, 2s, 3s, ...`; `multi_step` is the list.

    Example:
    >>> s = EpochStepSchedule(3e-4, steps_per_epoch=10, milestones=[20, 40], gamma=0.1)
    >>> round(s.lr_at_epoch(25), 8)
    3e-05
    """

    def __init__(self, base_lr, steps_per_epoch, milestones=(), gamma=0.1, warmup_epochs=0, warmup_factor=0.1):
        self.base_lr = float(base_lr)
        self.steps_per_epoch = int(steps_per_epoch)
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = float(gamma)
        self.warmup_epochs = int(warmup_epochs)
        self.warmup_factor = float(warmup_factor)

    def lr_at_epoch(self, epoch):
        """The learning rate of (0-based) `epoch`, in Python floats."""
        decays = sum(1 for m in self.milestones if epoch >= m)
        lr = self.base_lr * self.gamma**decays
        if epoch < self.warmup_epochs:
            lr *= self.warmup_factor + (1.0 - self.warmup_factor) * epoch / self.warmup_epochs
        return lr

    def __call__(self, step):
        epoch = ops.floor(ops.cast(step, "float32") / float(self.steps_per_epoch))
        decays = ops.zeros((), "float32")
        for m in self.milestones:
            decays = decays + ops.cast(ops.greater_equal(epoch, float(m)), "float32")
        lr = self.base_lr * ops.power(ops.cast(self.gamma, "float32"), decays)
        if self.warmup_epochs:
            ramp = self.warmup_factor + (1.0 - self.warmup_factor) * epoch / float(self.warmup_epochs)
            lr = lr * ops.where(ops.less(epoch, float(self.warmup_epochs)), ramp, 1.0)
        return lr

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "steps_per_epoch": self.steps_per_epoch,
            "milestones": list(self.milestones),
            "gamma": self.gamma,
            "warmup_epochs": self.warmup_epochs,
            "warmup_factor": self.warmup_factor,
        }


def single_step_milestones(stepsize, epochs):
    """torchreid's `single_step` scheduler as milestones: every `stepsize` epochs."""
    return list(range(int(stepsize), int(epochs), int(stepsize))) if stepsize else []


__all__ = ["TorchSGD", "TorchAdam", "EpochStepSchedule", "single_step_milestones"]
