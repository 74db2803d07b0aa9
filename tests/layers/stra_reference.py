"""An independent NumPy reference of StRA's LocalAttn and MoE, written from
shared/specs/upstream_stra_hacnn.md §1.3–1.4 in PyTorch's NCHW layout (test-only code).

Weights are given in PyTorch layouts (conv [out, in/groups, 1, 1], BN tuples) so the
tests also check our Keras weight layout against PyTorch's.
"""

import numpy as np

EPS = 1e-5


def bn(x, params):
    """Eval-mode BatchNorm2d over axis 1 of NCHW. params = (gamma, beta, mean, var)."""
    g, b, m, v = params
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - m.reshape(shape)) / np.sqrt(v.reshape(shape) + EPS) * g.reshape(shape) + b.reshape(shape)


def grouped_conv1x1(x, weight, bias, groups):
    """PyTorch Conv2d(kernel 1, groups) on NCHW: weight [out, in/groups, 1, 1]."""
    n, cin, h, w = x.shape
    cout = weight.shape[0]
    out = np.zeros((n, cout, h, w), x.dtype)
    gi, go = cin // groups, cout // groups
    for g in range(groups):
        xs = x[:, g * gi : (g + 1) * gi]
        ws = weight[g * go : (g + 1) * go, :, 0, 0]
        out[:, g * go : (g + 1) * go] = np.einsum("nihw,oi->nohw", xs, ws)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


def unfold3x3(x, k=3):
    """nn.Unfold(k, padding=k//2) reshaped to (N, C, k*k, H, W): slot j = offset (j//k-1, j%k-1)."""
    n, c, h, w = x.shape
    p = k // 2
    padded = np.zeros((n, c, h + 2 * p, w + 2 * p), x.dtype)
    padded[:, :, p : p + h, p : p + w] = x
    out = np.zeros((n, c, k * k, h, w), x.dtype)
    for j in range(k * k):
        dy, dx = j // k, j % k
        out[:, :, j] = padded[:, :, dy : dy + h, dx : dx + w]
    return out


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def local_attn(x, p, heads=8, k=3):
    """LocalAttn without its MoE: x NCHW → aggregated value NCHW."""
    n, c, h, w = x.shape
    m = grouped_conv1x1(x, p["mask0_w"], p["mask0_b"], heads)
    m = np.tanh(bn(m, p["mask1"]))
    m = bn(grouped_conv1x1(m, p["mask3_w"], p["mask3_b"], heads), p["mask4"])
    nu = m[:, :heads]  # (N, G, H, W)
    omega = m[:, heads:].reshape(n, heads, k * k, h, w)  # channel heads + k²·g + j
    logits = omega + unfold3x3(nu, k)  # (N, G, J, H, W)
    a = softmax(logits, axis=2)
    u = grouped_conv1x1(x, p["value_w"], None, heads)
    cout = u.shape[1]
    uu = unfold3x3(u, k).reshape(n, heads, cout // heads, k * k, h, w)
    out = np.einsum("ngjhw,ngcjhw->ngchw", a, uu)
    return out.reshape(n, cout, h, w)


def moe(z, p, heads=8, gating="sigmoid"):
    """MoE on NCHW z; returns (output NCHW, diversity (N,))."""
    n, c, h, w = z.shape
    ch = c // heads
    logits = grouped_conv1x1(z, p["gap0_w"], p["gap0_b"], heads)
    logits = np.tanh(bn(logits, p["gap1"]))
    logits = bn(grouped_conv1x1(logits, p["gap3_w"], p["gap3_b"], heads), p["gap4"])  # (N, G, H, W)
    alpha = softmax(logits.reshape(n, heads, h * w), axis=-1)  # over positions
    zg = z.reshape(n, heads, ch, h * w)
    s = np.einsum("ngp,ngcp->ngc", alpha, zg)

    def gate(d):
        if gating == "sigmoid":
            return 1.0 / (1.0 + np.exp(-d))
        return softmax(d.reshape(n, heads, h * w), axis=-1).reshape(d.shape)

    d1 = np.einsum("ngc,ngcp->ngp", s, zg).reshape(n, heads, h, w)
    m1 = gate(bn(d1, p["bn"])).reshape(n, heads, 1, h * w)
    y = zg + m1 * s[..., None]
    r = np.einsum("ngc,nhc->ngh", s, s)
    r = r / np.maximum(np.linalg.norm(r, axis=-1, keepdims=True), 1e-12)
    route = softmax(np.sqrt(heads) * r, axis=-1)
    s2 = np.einsum("ngh,nhc->ngc", route, s)
    d2 = np.einsum("ngc,ngcp->ngp", s2, y).reshape(n, heads, h, w)
    m2 = gate(bn(d2, p["bn2"])).reshape(n, heads, 1, h * w)
    out = y + m2 * s2[..., None]
    diversity = heads - alpha.max(axis=1).sum(axis=-1)
    return out.reshape(n, c, h, w), diversity


def random_bn(rng, c):
    return (
        rng.uniform(0.5, 1.5, c).astype("float32"),
        rng.normal(0, 0.2, c).astype("float32"),
        rng.normal(0, 0.2, c).astype("float32"),
        rng.uniform(0.5, 2.0, c).astype("float32"),
    )


def random_local_attn_params(rng, cin, cout, heads=8, k=3, reduction=4):
    hidden = cin // reduction
    mk = heads * (1 + k * k)
    return {
        "mask0_w": rng.normal(0, 0.3, (hidden, cin // heads, 1, 1)).astype("float32"),
        "mask0_b": rng.normal(0, 0.1, hidden).astype("float32"),
        "mask1": random_bn(rng, hidden),
        "mask3_w": rng.normal(0, 0.5, (mk, hidden // heads, 1, 1)).astype("float32"),
        "mask3_b": rng.normal(0, 0.1, mk).astype("float32"),
        "mask4": random_bn(rng, mk),
        "value_w": rng.normal(0, 0.3, (cout, cin // heads, 1, 1)).astype("float32"),
    }


def random_moe_params(rng, c, heads=8, reduction=8):
    hidden = c // reduction
    return {
        "gap0_w": rng.normal(0, 0.3, (hidden, c // heads, 1, 1)).astype("float32"),
        "gap0_b": rng.normal(0, 0.1, hidden).astype("float32"),
        "gap1": random_bn(rng, hidden),
        "gap3_w": rng.normal(0, 0.5, (heads, hidden // heads, 1, 1)).astype("float32"),
        "gap3_b": rng.normal(0, 0.1, heads).astype("float32"),
        "gap4": random_bn(rng, heads),
        "bn": random_bn(rng, heads),
        "bn2": random_bn(rng, heads),
    }


# -- copying the PyTorch-layout weights into our Keras layers ---------------------------
def hwio(w):
    return np.transpose(w, (2, 3, 1, 0))


def set_bn(layer, params):
    g, b, m, v = params
    layer.set_weights([g, b, m, v])


def set_local_attention(layer, p):
    layer.mask_conv1.set_weights([hwio(p["mask0_w"]), p["mask0_b"]])
    set_bn(layer.mask_bn1, p["mask1"])
    layer.mask_conv2.set_weights([hwio(p["mask3_w"]), p["mask3_b"]])
    set_bn(layer.mask_bn2, p["mask4"])
    layer.value_conv.set_weights([hwio(p["value_w"])])


def set_mode_attention(layer, p):
    layer.pool_conv1.set_weights([hwio(p["gap0_w"]), p["gap0_b"]])
    set_bn(layer.pool_bn1, p["gap1"])
    layer.pool_conv2.set_weights([hwio(p["gap3_w"]), p["gap3_b"]])
    set_bn(layer.pool_bn2, p["gap4"])
    set_bn(layer.gate_bn1, p["bn"])
    set_bn(layer.gate_bn2, p["bn2"])
