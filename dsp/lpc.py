"""Linear prediction: Levinson-Durbin, line spectral frequencies, envelopes.

Everything is vectorised across frames: the leading axes of every argument
are batch axes.  LSFs are found without per-frame `np.roots`: each of the
symmetric polynomials P and Q is written as a cosine series on the unit
circle, its sign changes are located on a fine frequency grid for all
frames at once, and Newton steps (Chebyshev/Clenshaw recurrence) polish the
roots to machine precision.
"""
import functools

import numpy as np

_GRID = 256  # coarse grid on (0, pi) bracketing the LSFs (finer pass if needed)


def levinson(r, order):
    """Solve the Toeplitz normal equations by the Levinson-Durbin recursion.

    Args:
        r: autocorrelation [..., >= order+1] (r[..., 0] > 0).
        order: int, predictor order p.
    Returns:
        a: [..., p+1] with a[..., 0] = 1, the inverse filter A(z) = sum a_k z^-k.
        err: [...] final prediction error power.
    """
    r = np.asarray(r, dtype=np.float64)
    batch = r.shape[:-1]
    a = np.zeros(batch + (order + 1,))
    a[..., 0] = 1.0
    err = r[..., 0].copy()
    # a zero-energy frame has no spectral shape: keep A(z) = 1 there
    err = np.where(err > 0, err, 1.0)
    for i in range(1, order + 1):
        acc = r[..., i] + np.einsum("...k,...k->...", a[..., 1:i], r[..., i - 1:0:-1])
        k = -acc / err
        k = np.clip(k, -0.999999, 0.999999)  # keeps A(z) minimum phase numerically
        a[..., 1:i] = a[..., 1:i] + k[..., None] * a[..., i - 1:0:-1]
        a[..., i] = k
        err = err * (1.0 - k * k)
    return a, err


@functools.lru_cache(maxsize=16)
def _autocorrelation_matrix(n_bins, order):
    """[n_bins, order+1] matrix M with power @ M == irfft(power)[..., :order+1]."""
    n_fft = 2 * (n_bins - 1)
    weight = np.full(n_bins, 2.0)
    weight[0] = weight[-1] = 1.0
    k = np.arange(n_bins)[:, None]
    lag = np.arange(order + 1)[None, :]
    return weight[:, None] * np.cos(2 * np.pi * k * lag / n_fft) / n_fft


def lpc_from_power(power, order):
    """All-pole fit to a one-sided power spectrum [..., bins].

    The autocorrelation is the real inverse FFT of the power spectrum
    (two-sided, even), then Levinson-Durbin.  Only the first order+1 lags
    are needed, so they are computed as one matrix product (cheaper than a
    full inverse FFT per frame).
    """
    power = np.asarray(power, dtype=np.float64)
    r = power @ _autocorrelation_matrix(power.shape[-1], order)
    return levinson(r, order)


def _sum_difference_polys(a):
    """P' and Q' (trivial roots at z = -1 / z = +1 removed), both symmetric.

    Returns the half cosine-series coefficients c[..., 0..m] of
    G(w) = e^{jwm'} P'(e^{jw}) = c0 + 2 sum_k c_k cos(k w) (and likewise Q'),
    for even order p = 2m.
    """
    p = a.shape[-1] - 1
    ext = np.concatenate([a, np.zeros(a.shape[:-1] + (1,))], axis=-1)
    rev = ext[..., ::-1]
    P = ext + rev  # degree p+1, symmetric, root at z=-1 (p even)
    Q = ext - rev  # antisymmetric, root at z=+1
    # deflate: P = (1 + z^-1) P', Q = (1 - z^-1) Q'
    Pd = np.empty(a.shape[:-1] + (p + 1,))
    Qd = np.empty_like(Pd)
    Pd[..., 0] = P[..., 0]
    Qd[..., 0] = Q[..., 0]
    for k in range(1, p + 1):
        Pd[..., k] = P[..., k] - Pd[..., k - 1]
        Qd[..., k] = Q[..., k] + Qd[..., k - 1]
    m = p // 2
    # symmetric degree-p polynomial d_0..d_p: e^{jw m} D(e^{jw}) = d_m + 2 sum d_{m-k} cos kw
    cP = Pd[..., m::-1].copy()
    cQ = Qd[..., m::-1].copy()
    return cP, cQ


def _cos_series(c, w):
    """G(w) = c0 + 2 sum_{k>=1} c_k cos(k w) and dG/dw, by Clenshaw in x=cos w.

    c: [B, m+1]; w: [B, r]. Returns (G, dG) shaped like w.
    """
    x = np.cos(w)
    x2 = 2.0 * x
    m = c.shape[-1] - 1
    # sum_k b_k T_k(x) with b_0 = c0, b_k = 2 c_k; derivative via U_{k-1}
    b = 2.0 * c
    b[..., 0] = c[..., 0]
    # Clenshaw for the value, and the recurrence of its derivative, in place:
    # y0 = b_k + 2x y1 - y2, d0 = 2 y1 + 2x d1 - d2 (buffers rotate)
    y1, y2, y0 = np.zeros_like(w), np.zeros_like(w), np.empty_like(w)
    d1, d2, d0 = np.zeros_like(w), np.zeros_like(w), np.empty_like(w)
    for k in range(m, 0, -1):
        np.multiply(x2, y1, out=y0)
        y0 -= y2
        y0 += b[..., k:k + 1]
        np.multiply(x2, d1, out=d0)
        d0 -= d2
        d0 += y1
        d0 += y1
        y2, y1, y0 = y1, y0, y2
        d2, d1, d0 = d1, d0, d2
    value = b[..., 0:1] + x * y1 - y2
    dvalue_dx = y1 + x * d1 - d2
    return value, -np.sin(w) * dvalue_dx


@functools.lru_cache(maxsize=8)
def _grid_basis(n_coefs, grid_size):
    grid = np.linspace(0.0, np.pi, grid_size + 1)
    basis = np.cos(np.outer(np.arange(n_coefs), grid))
    basis[1:] *= 2.0
    return grid, basis


def _bracket_and_polish(c, n_roots, grid_size):
    """Roots of rows of c whose grid shows exactly n_roots sign changes.

    Returns (roots [B, n_roots], ok [B] bool); rows with ok False (two roots
    in one grid cell, or a root on the grid's ends) are left for a finer pass.
    """
    grid, basis = _grid_basis(c.shape[-1], grid_size)
    g = c @ basis  # [B, grid]
    s = np.signbit(g)
    change = s[:, 1:] != s[:, :-1]
    ok = change.sum(axis=1) == n_roots
    roots = np.zeros((c.shape[0], n_roots))
    if not np.any(ok):
        return roots, ok
    if not np.all(ok):
        c, g, change = c[ok], g[ok], change[ok]
    idx = (np.flatnonzero(change) % change.shape[1]).reshape(-1, n_roots)
    g0 = np.take_along_axis(g, idx, axis=1)
    g1 = np.take_along_axis(g, idx + 1, axis=1)
    w0, w1 = grid[idx], grid[idx + 1]
    w = w0 - g0 * (w1 - w0) / (g1 - g0)  # secant start inside the bracket
    rows = np.arange(len(w))  # rows still moving
    for _ in range(4):  # Newton, kept inside the bracket; quadratic convergence
        val, der = _cos_series(c[rows], w[rows]) if len(rows) < len(w) else _cos_series(c, w)
        safe = np.where(der != 0, der, 1.0)
        step = np.where(der != 0, val / safe, 0.0)
        w[rows] = np.clip(w[rows] - step, w0[rows], w1[rows])
        # after a step of size d the error is ~ d^2 * f''/2f' (< 1e-10 here):
        # a row whose steps are all below 1e-6 is done
        rows = rows[np.max(np.abs(step), axis=1) >= 1e-6]
        if not len(rows):
            break
    roots[ok] = w
    return roots, ok


def _roots_on_circle(c, n_roots):
    """The n_roots zeros in (0, pi) of the cosine series with coefficients c.

    A coarse grid brackets the zeros of most frames (all-pole envelopes of
    MFCCs are smooth); frames where two zeros share a grid cell are redone
    on a finer grid, and the rare rest by Chebyshev eigenvalues.
    """
    batch = c.shape[:-1]
    flat = c.reshape(-1, c.shape[-1])
    roots = np.empty((flat.shape[0], n_roots))
    todo = np.arange(flat.shape[0])
    for grid_size in (_GRID, 16 * _GRID):
        found, ok = _bracket_and_polish(flat[todo], n_roots, grid_size)
        roots[todo[ok]] = found[ok]
        todo = todo[~ok]
        if todo.size == 0:
            break
    for b in todo:
        roots[b] = _roots_by_eig(flat[b], n_roots)
    return roots.reshape(batch + (n_roots,))


def _roots_by_eig(c, n_roots):
    """Fallback: zeros of the cosine series via its Chebyshev polynomial in x."""
    b = 2.0 * c
    b[0] = c[0]
    x = np.polynomial.chebyshev.chebroots(b)
    x = np.real(x[np.abs(np.imag(x)) < 1e-6])
    w = np.sort(np.arccos(np.clip(x, -1.0, 1.0)))
    if w.size < n_roots:  # degenerate filter: fill evenly, keeps output valid
        w = np.sort(np.concatenate([w, np.linspace(0, np.pi, n_roots - w.size + 2)[1:-1]]))
    return w[:n_roots]


def poly_to_lsf(a):
    """Line spectral frequencies of minimum-phase inverse filters.

    Args:
        a: [..., p+1] with a[..., 0] = 1, p even.
    Returns:
        lsf: [..., p] radians, strictly increasing in (0, pi).
    """
    a = np.asarray(a, dtype=np.float64)
    p = a.shape[-1] - 1
    if p % 2:
        raise ValueError(f"LSF order must be even, got {p}")
    cP, cQ = _sum_difference_polys(a)
    wP = _roots_on_circle(cP, p // 2)
    wQ = _roots_on_circle(cQ, p // 2)
    lsf = np.empty(a.shape[:-1] + (p,))
    lsf[..., 0::2] = wP
    lsf[..., 1::2] = wQ
    lsf = np.sort(lsf, axis=-1)  # a no-op for minimum-phase A(z)
    # keep strictly increasing and inside (0, pi) for degenerate inputs
    eps = 1e-6
    lsf = np.clip(lsf, eps, np.pi - eps)
    lsf = np.maximum.accumulate(lsf + eps * np.arange(p), axis=-1) - eps * np.arange(p)
    return lsf


def _product_of_quadratics(w):
    """prod_k (1 - 2 cos(w_k) z^-1 + z^-2) for w [..., m] -> coeffs [..., 2m+1]."""
    m = w.shape[-1]
    out = np.zeros(w.shape[:-1] + (2 * m + 1,))
    out[..., 0] = 1.0
    for k in range(m):
        c = -2.0 * np.cos(w[..., k:k + 1])
        n = 2 * k + 1
        prev = out[..., :n].copy()
        out[..., 1:n + 1] += c * prev
        out[..., 2:n + 2] += prev
    return out


def lsf_to_poly(lsf):
    """Inverse filter A(z) from line spectral frequencies.

    Args:
        lsf: [..., p] increasing radians in (0, pi), p even.
    Returns:
        a: [..., p+1] with a[..., 0] = 1.
    """
    lsf = np.asarray(lsf, dtype=np.float64)
    p = lsf.shape[-1]
    # P's zeros come first in the interlacing (Q's trivial zero is w = 0,
    # P's is w = pi), so P takes LSFs 1, 3, 5, ... (0-based 0, 2, 4, ...)
    Pd = _product_of_quadratics(lsf[..., 0::2])
    Qd = _product_of_quadratics(lsf[..., 1::2])
    zero = np.zeros(lsf.shape[:-1] + (1,))
    P = np.concatenate([Pd, zero], -1) + np.concatenate([zero, Pd], -1)
    Q = np.concatenate([Qd, zero], -1) - np.concatenate([zero, Qd], -1)
    return (0.5 * (P + Q))[..., :p + 1]


def lpc_envelope(a, n_fft, gain=1.0):
    """All-pole magnitude response gain / |A(e^jw)|, [..., n_fft//2 + 1]."""
    A = np.fft.rfft(np.asarray(a, dtype=np.float64), n=n_fft, axis=-1)
    return np.asarray(gain)[..., None] / np.maximum(np.abs(A), 1e-12) \
        if np.ndim(gain) else gain / np.maximum(np.abs(A), 1e-12)


def is_minimum_phase(a, margin=0.0):
    """True where every zero of A(z) lies strictly inside the unit circle."""
    a = np.asarray(a, dtype=np.float64)
    flat = a.reshape(-1, a.shape[-1])
    ok = np.array([np.all(np.abs(np.roots(row)) < 1.0 - margin) for row in flat])
    return ok.reshape(a.shape[:-1])
