"""Glottal source for the synthetic corpus: the Liljencrants-Fant (LF) model.

The LF model describes one period of the glottal *flow derivative* (which
already includes the +6 dB/oct lip radiation, so no extra differentiation is
needed):

* open phase ``0 <= t <= Te``: ``E(t) = E0 * exp(alpha t) * sin(pi t / Tp)``,
  growing oscillation that ends in the main negative peak ``E(Te) = -Ee``;
* return phase ``Te < t <= Tc``: exponential recovery towards zero with time
  constant ``Ta`` (this sets the spectral tilt).

The glottal closure instant (GCI) is ``Te``, the instant of the main negative
peak, where the excitation of the vocal tract is strongest.

The shape of the pulse in time normalised by the period ``T0`` depends on one
parameter, Fant's ``Rd`` (about 0.3 = tense/pressed ... 2.7 = breathy/lax), so
the synthesizer pre-computes a small table of normalised pulses for a grid of
``Rd`` values and samples them at each period's phase (vectorised, no per-period
Python work).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["lf_timing", "lf_pulse", "LFTable"]


def lf_timing(rd: float) -> tuple[float, float, float]:
    """Normalised LF timing parameters ``(tp, te, ta)`` (fractions of T0) for ``Rd``.

    Fant's (1995) regression from the shape parameter Rd:
    ``Ra = (-1 + 4.8 Rd)/100``, ``Rk = (22.4 + 11.8 Rd)/100`` and
    ``Rg = Rk / (4 (0.11 Rd / (0.5 + 1.2 Rk) - Ra))``; then ``tp = 1/(2 Rg)``,
    ``te = tp (1 + Rk)``, ``ta = Ra``.
    """
    if not 0.3 <= rd <= 2.7:
        raise ValueError(f"Rd={rd} outside the LF model's range [0.3, 2.7]")
    ra = (-1.0 + 4.8 * rd) / 100.0
    rk = (22.4 + 11.8 * rd) / 100.0
    rg = rk / (4.0 * (0.11 * rd / (0.5 + 1.2 * rk) - ra))
    tp = 1.0 / (2.0 * rg)
    te = tp * (1.0 + rk)
    ta = ra
    # Keep a closed phase / return phase that fits in the period.
    te = min(te, 0.95)
    ta = min(ta, 0.5 * (1.0 - te))
    return tp, te, ta


def _open_phase_integral(alpha: float, wg: float, te: float) -> float:
    """Integral of exp(alpha t) sin(wg t) over [0, te]."""
    return (np.exp(alpha * te) * (alpha * np.sin(wg * te) - wg * np.cos(wg * te)) + wg) / (
        alpha**2 + wg**2
    )


def _bisect(fn, lo: float, hi: float, tol: float = 1e-12) -> float:
    """Root of a continuous ``fn`` with a sign change in [lo, hi] (bisection; avoids
    importing scipy.optimize, which costs seconds of CLI start-up)."""
    f_lo = fn(lo)
    if f_lo * fn(hi) > 0:
        raise ValueError("no sign change in the bracket")
    while hi - lo > tol * max(1.0, abs(lo)):
        mid = 0.5 * (lo + hi)
        f_mid = fn(mid)
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@functools.lru_cache(maxsize=64)
def _lf_constants(rd: float) -> tuple[float, float, float, float, float, float]:
    """Solve the LF constraints for T0 = 1, Ee = 1: returns (tp, te, ta, e0, alpha, eps)."""
    tp, te, ta = lf_timing(rd)
    tc = 1.0
    # Return phase: eps * ta = 1 - exp(-eps (tc - te)) (fixed point, converges fast).
    eps = 1.0 / ta
    for _ in range(100):
        eps = (1.0 - np.exp(-eps * (tc - te))) / ta
    wg = np.pi / tp
    # Flow returns to zero at tc: open-phase area equals minus the return-phase area.
    ret_area = -(1.0 / (eps * ta)) * (
        (1.0 - np.exp(-eps * (tc - te))) / eps - (tc - te) * np.exp(-eps * (tc - te))
    )

    def net_area(alpha: float) -> float:
        e0 = -1.0 / (np.exp(alpha * te) * np.sin(wg * te))
        return e0 * _open_phase_integral(alpha, wg, te) + ret_area

    alpha = _bisect(net_area, -50.0, 200.0)
    e0 = -1.0 / (np.exp(alpha * te) * np.sin(wg * te))
    return tp, te, ta, e0, alpha, eps


def lf_pulse(phase: np.ndarray, rd: float) -> np.ndarray:
    """LF glottal flow derivative at normalised times ``phase`` in [0, 1) for shape ``rd``.

    Args:
        phase: array of normalised times t/T0 (any shape), 0 = glottal opening.
        rd: LF shape parameter in [0.3, 2.7].

    Returns:
        Array like ``phase``; the negative peak is -1 at ``te`` (see
        :func:`lf_timing`), the net flow over one period is zero.
    """
    _, te, ta, e0, alpha, eps = _lf_constants(float(rd))
    t = np.asarray(phase, dtype=np.float64)
    wg = np.pi / lf_timing(rd)[0]
    with np.errstate(over="ignore", invalid="ignore"):
        open_ = e0 * np.exp(alpha * t) * np.sin(wg * t)
        ret = -(1.0 / (eps * ta)) * (np.exp(-eps * (t - te)) - np.exp(-eps * (1.0 - te)))
    return np.where(t <= te, open_, ret)


class LFTable:
    """Normalised LF pulses tabulated on a grid of ``Rd`` values.

    Args:
        rd_grid: Rd values (ascending), default 0.5 ... 2.0 in 16 steps.
        resolution: samples per normalised period in the table (default 4096).

    Example:
        >>> table = LFTable()
        >>> x = table.sample(np.array([0.1, 0.5]), np.array([3, 3]))
    """

    def __init__(self, rd_grid=None, resolution: int = 4096):
        self.rd_grid = np.asarray(
            rd_grid if rd_grid is not None else np.linspace(0.5, 2.0, 16), dtype=np.float64
        )
        self.resolution = int(resolution)
        grid = np.arange(self.resolution + 1) / self.resolution
        self.table = np.stack([lf_pulse(grid, rd) for rd in self.rd_grid])  # [n_rd, res+1]
        self.te = np.array([lf_timing(rd)[1] for rd in self.rd_grid])  # [n_rd]

    def nearest(self, rd: np.ndarray) -> np.ndarray:
        """Index of the tabulated Rd nearest to each value of ``rd``."""
        idx = np.searchsorted(self.rd_grid, rd)
        idx = np.clip(idx, 1, len(self.rd_grid) - 1)
        left = self.rd_grid[idx - 1]
        right = self.rd_grid[idx]
        return np.where(np.abs(rd - left) <= np.abs(rd - right), idx - 1, idx)

    def sample(self, phase: np.ndarray, rd_index: np.ndarray) -> np.ndarray:
        """Linear interpolation of the table at normalised ``phase`` for pulse ``rd_index``."""
        pos = np.clip(phase, 0.0, 1.0) * self.resolution
        i0 = np.minimum(pos.astype(np.int64), self.resolution - 1)
        frac = pos - i0
        return self.table[rd_index, i0] * (1.0 - frac) + self.table[rd_index, i0 + 1] * frac
