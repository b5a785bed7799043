"""Gradient concentration: what share of the total gradient the top 5, 10, 20 % of weights hold.

The paper's abstract claims that after gradient redistribution "only 5-10% of the weights have
dominantly large gradients". Two states are measured, per matrix kind and overall:

* dense (before): every weight is one unit with value |dL/dW| (accumulated over the calibration
  set, ``dense_grads.pt``);
* redistributed (after): every rank component i of an SVD matrix (M x N) is one unit that stores
  M + N weights (column i of U and row i of sigma V^T) and has value |dL/dsigma_i|
  (``importance.pt``). Its gradient is spread evenly over its M + N weights.

Units are sorted by gradient per weight, largest first; the Lorenz curve is the cumulative share
of the gradient against the cumulative share of weights, and the top-p share is that curve at p
(linear inside a unit, so a unit that straddles p counts in part).
"""

from __future__ import annotations

from pathlib import Path

import torch

TOP_FRACTIONS = (0.05, 0.10, 0.20)
KINDS = ("q", "k", "v", "attn_out", "ffn1", "ffn2")


#: Knots of a Lorenz curve of one-weight units (exact cumulative sums at each knot; 5/10/20 % are knots).
MAX_KNOTS = 100_001


def lorenz(values: torch.Tensor, weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y): cumulative weight share and gradient share, from (0, 0), largest density first.

    ``weights`` None: every value is one weight. Then only a sorted copy of the values is made
    (no index or weight arrays: the dense state of a 110 M-parameter model needs about 2x its
    gradient's size), and above :data:`MAX_KNOTS` values the curve is given at evenly spaced
    knots, each with the exact cumulative share (a straight line between knots).
    """
    import numpy as np

    if weights is None:
        v = np.sort(values.detach().flatten().float().numpy())[::-1]  # a sorted copy, largest first
        n = v.size
        knots = np.arange(n + 1) if n + 1 <= MAX_KNOTS else \
            np.unique(np.round(np.linspace(0, n, MAX_KNOTS)).astype(np.int64))
        sums = np.add.reduceat(v, knots[:-1], dtype=np.float64) if n else np.zeros(0)
        x = torch.from_numpy(knots / max(1, n))
        y = torch.from_numpy(np.concatenate([[0.0], np.cumsum(sums)]))
    else:
        v = values.detach().flatten().float()
        w = weights.detach().flatten().double()
        order = torch.argsort(v.double() / w, descending=True, stable=True)
        x = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(w[order], 0)])
        x = x / x[-1]
        y = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(v[order].double(), 0)])
    return x, y / y[-1] if float(y[-1]) > 0 else y


def top_share(values: torch.Tensor, weights: torch.Tensor | None, fraction: float) -> float:
    """Share of the total held by the top ``fraction`` of weights (Lorenz curve at ``fraction``)."""
    return _curve_at(*lorenz(values, weights), fraction)


def _curve_at(x: torch.Tensor, y: torch.Tensor, fraction: float) -> float:
    k = int(torch.searchsorted(x, torch.tensor(fraction, dtype=torch.float64)).item())
    k = min(max(k, 1), len(x) - 1)
    x0, x1, y0, y1 = float(x[k - 1]), float(x[k]), float(y[k - 1]), float(y[k])
    return y0 + (y1 - y0) * (fraction - x0) / (x1 - x0) if x1 > x0 else y1


def _kind_of(path: str) -> str | None:
    from hyflex_plugin.redistribution.svd import _LAYER_RE, _SUFFIX_TO_MATRIX

    m = _LAYER_RE.search(path)
    if not m:
        return None
    rest = m.group(2)
    if ".parts." in rest:
        return ("q", "k", "v")[int(rest.rsplit(".", 1)[-1])]
    return next((n for s, n in _SUFFIX_TO_MATRIX if rest == s), None)


def units(dense_grads: dict[str, torch.Tensor], importance: dict[str, torch.Tensor],
          shapes: dict[str, tuple[int, int]]) -> dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]]:
    """{state: {kind: (values, weights)}} with state 'dense' and 'redistributed', kind as in
    :data:`KINDS` plus 'all' (weights None: one weight per value). ``shapes`` gives (M, N) of
    each SVD matrix path.
    """
    out: dict[str, dict[str, list]] = {"dense": {}, "redistributed": {}}
    for path, g in dense_grads.items():
        kind = _kind_of(path)
        if kind is not None:
            out["dense"].setdefault(kind, []).append((g.flatten(), None))
    for path, g in importance.items():
        kind = _kind_of(path)
        if kind is not None:
            m, n = shapes[path]
            out["redistributed"].setdefault(kind, []).append((g.flatten(), torch.full((g.numel(),), float(m + n))))
    def _cat(parts):
        vals = torch.cat([p[0].float() for p in parts])
        return vals, None if parts[0][1] is None else torch.cat([p[1] for p in parts])

    res: dict[str, dict[str, tuple[torch.Tensor, torch.Tensor | None]]] = {}
    for state, by_kind in out.items():
        res[state] = {kind: _cat(parts) for kind, parts in by_kind.items()}
        res[state]["all"] = _cat([p for parts in by_kind.values() for p in parts])
    return res


def concentration_rows(u: dict, fractions=TOP_FRACTIONS) -> list[dict]:
    """One row per (state, kind): the top-p shares and the number of weights."""
    rows = []
    for state, by_kind in u.items():
        for kind in [*KINDS, "all"]:
            if kind not in by_kind:
                continue
            v, w = by_kind[kind]
            n_w = int(v.numel()) if w is None else int(w.sum())
            row = {"state": state, "kind": kind, "n_units": int(v.numel()), "n_weights": n_w}
            x, y = lorenz(v, w)  # one sort per curve
            for f in fractions:
                row[f"top{round(f * 100)}_share"] = round(_curve_at(x, y, f), 6)
            rows.append(row)
    return rows


def plot_lorenz(u: dict, path: str | Path, title: str = "") -> Path:
    """Lorenz curves (dense vs redistributed) per matrix kind and overall, as a PNG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hyflex_plugin.io import atomic_write_bytes

    kinds = [k for k in [*KINDS, "all"] if any(k in by for by in u.values())]
    fig, axes = plt.subplots(2, 4, figsize=(13, 6.4), sharex=True, sharey=True)
    for ax, kind in zip(axes.flat, kinds):
        for state, style in (("dense", "-"), ("redistributed", "--")):
            if kind in u.get(state, {}):
                x, y = lorenz(*u[state][kind])
                step = max(1, len(x) // 2000)
                ax.plot(x[::step].numpy(), y[::step].numpy(), style, label=state)
        ax.plot([0, 1], [0, 1], ":", color="grey", lw=0.8)
        for f in (0.05, 0.10):
            ax.axvline(f, color="grey", lw=0.5)
        ax.set_title(kind)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(kinds):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.supxlabel("fraction of weights (largest gradient per weight first)")
    fig.supylabel("cumulative share of |gradient|")
    fig.suptitle(title or "gradient concentration")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


__all__ = ["KINDS", "TOP_FRACTIONS", "concentration_rows", "lorenz", "plot_lorenz", "top_share", "units"]
