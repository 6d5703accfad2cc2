"""Phase-gradient heap integration (PGHI): phase from STFT magnitude, no iterations.

For a Gaussian window ``g(t) = exp(-pi t^2 / lam)`` (t in samples) the STFT
phase and log-magnitude are linked (the STFT is an analytic function up to a
known factor).  For frames centred at ``t = n a`` (hop a), FFT size N, bin m,
and the phase measured relative to the frame centre ("time-invariant"
convention):

    d phi / d n  ~  (a N / lam) * d logS / d m  +  2 pi a m / N
    d phi / d m  ~  -(lam / (a N)) * d logS / d n

(derivatives by centred differences of the natural-log magnitude).  A Hann
window of length L is approximated by the Gaussian with ``lam = 0.25645 L^2``
(lam in samples^2, from the window length, not the FFT size: zero-padding
the 1024-sample window to N = 2048 only refines the bin spacing to 1/N
cycles per sample, which the factors a N / lam and lam / (a N) carry).
Clipped spectrograms get their flat tops re-grown first (:func:`declip`).
The FFT frames of ``dsp.spectral.stft`` start half a frame before the centre,
which multiplies bin m by (-1)^m: the frequency derivative gains +pi.

Heap integration: coefficients more than ``tol_db`` below the maximum are
treated as silence (random phase).  The largest remaining coefficient gets
phase 0; a max-heap on log-magnitude then repeatedly pops the largest
coefficient whose phase is known and spreads it to its four undone
neighbours by trapezoidal integration of the derivatives.  When the heap
empties (an island was finished), the largest undone coefficient starts a
new island.  The loop runs in numba (compiled once, cached).
"""
import functools

import numpy as np

from dsp.spectral import hann_window, istft, stft

try:
    import numba
except ImportError:  # pragma: no cover - numba comes with librosa
    numba = None

HANN_LAMBDA = 0.25645  # lam = HANN_LAMBDA * win_length**2 for a Hann window


def _heap_integrate_py(log_s, tgrad, fgrad, done, phase):
    """Heap integration over a [frames, bins] grid (in place on phase/done)."""
    n_t, n_f = log_s.shape
    n = n_t * n_f
    flat = log_s.ravel()
    order = np.argsort(-flat)
    heap_key = np.empty(n, dtype=np.float64)
    heap_idx = np.empty(n, dtype=np.int64)
    ptr = 0
    while True:
        while ptr < n and done[order[ptr] // n_f, order[ptr] % n_f]:
            ptr += 1
        if ptr >= n:
            break
        start = order[ptr]
        t0, f0 = start // n_f, start % n_f
        done[t0, f0] = True
        phase[t0, f0] = 0.0
        size = 0
        # push start
        heap_key[0] = flat[start]
        heap_idx[0] = start
        size = 1
        while size > 0:
            # pop max
            top = heap_idx[0]
            size -= 1
            if size > 0:
                key, idx = heap_key[size], heap_idx[size]
                i = 0
                while True:
                    c = 2 * i + 1
                    if c >= size:
                        break
                    if c + 1 < size and heap_key[c + 1] > heap_key[c]:
                        c += 1
                    if heap_key[c] <= key:
                        break
                    heap_key[i], heap_idx[i] = heap_key[c], heap_idx[c]
                    i = c
                heap_key[i], heap_idx[i] = key, idx
            t, f = top // n_f, top % n_f
            for k in range(4):
                if k == 0:
                    tt, ff = t + 1, f
                elif k == 1:
                    tt, ff = t - 1, f
                elif k == 2:
                    tt, ff = t, f + 1
                else:
                    tt, ff = t, f - 1
                if tt < 0 or tt >= n_t or ff < 0 or ff >= n_f or done[tt, ff]:
                    continue
                if k == 0:
                    phase[tt, ff] = phase[t, f] + 0.5 * (tgrad[t, f] + tgrad[tt, ff])
                elif k == 1:
                    phase[tt, ff] = phase[t, f] - 0.5 * (tgrad[t, f] + tgrad[tt, ff])
                elif k == 2:
                    phase[tt, ff] = phase[t, f] + 0.5 * (fgrad[t, f] + fgrad[tt, ff])
                else:
                    phase[tt, ff] = phase[t, f] - 0.5 * (fgrad[t, f] + fgrad[tt, ff])
                done[tt, ff] = True
                # push (tt, ff)
                key = log_s[tt, ff]
                i = size
                size += 1
                while i > 0:
                    p = (i - 1) // 2
                    if heap_key[p] >= key:
                        break
                    heap_key[i], heap_idx[i] = heap_key[p], heap_idx[p]
                    i = p
                heap_key[i] = key
                heap_idx[i] = tt * n_f + ff
    return phase


_heap_integrate = (numba.njit(cache=True, nogil=True)(_heap_integrate_py)
                   if numba is not None else _heap_integrate_py)


def phase_gradients(magnitude, hop_length, n_fft, win_length=None, lam=None, floor=1e-10):
    """Time and frequency phase derivatives (radians per frame / per bin).

    Args:
        magnitude: [frames, bins] linear STFT magnitude (bins = n_fft//2+1).
        hop_length, n_fft, win_length: STFT geometry (win_length default n_fft).
        lam: Gaussian time-frequency parameter in samples^2; default
            ``0.25645 * win_length**2`` (Hann).
    Returns:
        (tgrad, fgrad), each [frames, bins], for the phase convention of
        ``dsp.spectral.stft`` (frames start half a frame before the centre).
    """
    win_length = n_fft if win_length is None else int(win_length)
    lam = HANN_LAMBDA * win_length ** 2 if lam is None else float(lam)
    a, N = float(hop_length), float(n_fft)
    log_s = np.log(np.maximum(magnitude, floor))
    n_t, n_f = log_s.shape
    dlog_dm = np.gradient(log_s, axis=1) if n_f > 1 else np.zeros_like(log_s)
    dlog_dn = np.gradient(log_s, axis=0) if n_t > 1 else np.zeros_like(log_s)
    m = np.arange(n_f)[None, :]
    tgrad = (a * N / lam) * dlog_dm + 2.0 * np.pi * a * m / N
    fgrad = -(lam / (a * N)) * dlog_dn + np.pi
    return tgrad, fgrad


@functools.lru_cache(maxsize=8)
def hann_log_kernel(win_length, n_fft, step=0.005):
    """Main lobe of a Hann window's spectrum: (d, log|W(d)/W(0)|).

    ``d`` in bins of the n_fft-point FFT (0 up to the first zero, 2 n_fft /
    win_length bins), the window periodic as ``dsp.spectral.stft`` uses it;
    the log-magnitude a stationary sinusoid leaves around its peak.
    """
    w = hann_window(int(win_length))
    d = np.arange(0.0, 2.0 * n_fft / win_length, step)
    n = np.arange(win_length) - win_length / 2.0
    mag = np.abs(np.exp(-2j * np.pi * np.outer(d, n) / n_fft) @ w)
    logk = np.log(np.maximum(mag / mag[0], 1e-30))
    rising = np.nonzero(np.diff(logk) >= 0)[0]
    stop = rising[0] if rising.size else len(d) - 1
    return d[:stop + 1], logk[:stop + 1]


def _plateau_runs(sat):
    """(frame, first bin, end bin exclusive) of each run of True along frequency."""
    padded = np.pad(sat, [(0, 0), (1, 1)])
    d = np.diff(padded.astype(np.int8), axis=1)
    t, left = np.nonzero(d == 1)
    _, right = np.nonzero(d == -1)  # same row-major order as the starts
    return t, left, right


def declip(magnitude, win_length, n_fft, lam=None, max_excess_db=10.0, fallback_db=5.0):
    """Re-grow the flat tops of a clipped magnitude along frequency.

    Spectrograms with a ceiling (the normalised dB mapping clips at 1, i.e.
    |X| = 10 for the repo's levels) have plateaus on loud harmonics where the
    magnitude gradients say nothing (so PGHI's instantaneous frequency falls
    back to each bin's centre) and the level is too low (so the re-synthesis
    leaks too little energy into the skirts).  Each run of bins at the
    global maximum, bins [l, r) of one frame, is taken as the top of one
    windowed sinusoid A |W(m - m0)|: the two unclipped neighbours l-1 and r
    fix the centre m0 (their log ratio is monotone in m0, solved by
    bisection for all runs at once) and the height A; the run is refilled
    with A |W(m - m0)| (never below the ceiling), the excess over the ceiling
    capped at ``max_excess_db``.  Runs that no single main lobe can span, or
    that touch the spectrum's edge (merged harmonics, formant tops), get the
    Gaussian main-lobe parabola ``c - pi lam (m - m0)^2 / N^2`` centred on
    the run instead, capped at ``fallback_db``.  Without clipping only the
    single peak bin is at the maximum and nothing changes.

    The caps: a single sinusoid's fit is exact, but on speech the neighbours
    carry leakage from other harmonics and the fit can overshoot; an
    overshooting top leaks into the unclipped neighbours on re-analysis,
    where ~80 % of the error sits (measured with the true phase).  The true
    excess on the 22.05 kHz held-out speech is 5-6 dB on average, up to
    ~20 dB.  The defaults (10 dB, 5 dB for unfittable runs) were chosen on
    4 synthetic and 4 LJSpeech clips (spectral convergence of PGHI 0.135 /
    0.139; 20 dB caps: 0.18 / 0.19).  ``cnnvocoder.inversion.invert`` uses
    8 dB / 5 dB instead, chosen by ``python -m cnnvocoder.tune_phase`` on the
    20 training clips of the fixed LJSpeech split (mean SC of PGHI 0.1394
    against 0.1433 for 10 / 5 and 0.2645 without declipping).

    Returns:
        (magnitude, n_clipped): a declipped copy and the number of clipped bins.
    """
    lam = HANN_LAMBDA * win_length ** 2 if lam is None else float(lam)
    curv = np.pi * lam / float(n_fft) ** 2  # nepers per bin^2 (Gaussian)
    peak = magnitude.max()
    sat = magnitude >= peak * (1 - 1e-6)
    n_clipped = int(sat.sum())
    if n_clipped <= 1:
        return magnitude, n_clipped
    d_grid, logk_grid = hann_log_kernel(int(win_length), int(n_fft))
    lobe = d_grid[-1]

    def logk(d):
        return np.interp(np.abs(d), d_grid, logk_grid)

    log_m = np.log(np.maximum(magnitude, 1e-300))
    ceiling = np.log(peak)
    cap = ceiling + max_excess_db * np.log(10.0) / 20.0
    n_f = magnitude.shape[1]
    t, left, right = _plateau_runs(sat)
    vl = log_m[t, np.maximum(left - 1, 0)]
    vr = log_m[t, np.minimum(right, n_f - 1)]
    # centre m0 in (l-1, r) with both neighbours inside the main lobe
    lo = np.maximum(left - 1.0, right - lobe)
    hi = np.minimum(right * 1.0, left - 1.0 + lobe)
    fit_ok = (left >= 1) & (right <= n_f - 1) & (lo < hi)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        # decreasing in m0: positive -> the centre lies further right
        f = logk(mid - (left - 1)) - logk(right - mid) - (vl - vr)
        lo, hi = np.where(f > 0, mid, lo), np.where(f > 0, hi, mid)
    m0 = 0.5 * (lo + hi)
    log_a = np.minimum(0.5 * (vl - logk(m0 - (left - 1)) + vr - logk(right - m0)), cap)
    # expand the runs to bins
    widths = right - left
    run = np.repeat(np.arange(len(left)), widths)
    m = left[run] + np.arange(run.size) - np.repeat(np.cumsum(widths) - widths, widths)
    fitted = np.maximum(log_a[run] + logk(m - m0[run]), ceiling)
    centre = 0.5 * (left[run] + right[run] - 1)
    w = widths[run]
    parabola = ceiling + np.minimum(curv * ((0.5 * (w + 1)) ** 2 - (m - centre) ** 2),
                                    fallback_db * np.log(10.0) / 20.0)
    out = magnitude.copy()
    out[t[run], m] = np.exp(np.where(fit_ok[run], fitted, parabola))
    return out, n_clipped


def pghi_phase(magnitude, hop_length, n_fft=None, win_length=None, lam=None, tol_db=100.0,
               seed=0):
    """Phase [frames, bins] for ``magnitude`` by phase-gradient heap integration.

    Args:
        magnitude: [frames, bins] linear magnitude, finite and non-negative.
        hop_length: hop in samples; n_fft: FFT size (default 2*(bins-1));
        win_length: Hann window length (default n_fft); lam: Gaussian
            parameter (default from the Hann window).
        tol_db: float, default 100. Coefficients more than tol_db below the
            maximum are silence and get a random phase.  On the repo's
            spectrogram (100 dB range) 100 keeps the noise floor: 60 gave the
            same spectral convergence but random phase on ~45 % of the bins
            lowered the re-analysed floor (LSD 9.8 dB instead of 3.3 on the
            synthetic held-out set) for no measurable time saving.
        seed: seed of that random phase.
    """
    magnitude = np.asarray(magnitude, dtype=np.float64)
    n_fft = 2 * (magnitude.shape[-1] - 1) if n_fft is None else int(n_fft)
    tgrad, fgrad = phase_gradients(magnitude, hop_length, n_fft, win_length, lam)
    peak = float(magnitude.max()) if magnitude.size else 0.0
    rng = np.random.default_rng(seed)
    phase = rng.uniform(-np.pi, np.pi, size=magnitude.shape)
    if peak <= 0.0:
        return phase
    log_s = np.log(np.maximum(magnitude, 1e-300))
    done = magnitude < peak * 10.0 ** (-tol_db / 20.0)
    return _heap_integrate(log_s, tgrad, fgrad, done, phase)


def fgla_steps(magnitude, phase, hop_length, n_fft, win_length=None, momentum=0.99):
    """Fast Griffin-Lim iterations started from a given phase, one at a time.

    Args:
        magnitude: [frames, bins] linear magnitude the iterations project onto.
        phase: [frames, bins] initial phase in radians (e.g. from :func:`pghi_phase`).
        hop_length, n_fft, win_length: STFT geometry of ``dsp.spectral.stft``.
        momentum: float, default 0.99 (the accelerated GL of Perraudin et al.).

    Yields:
        complex [frames, bins] unit phasors after each iteration (forever: the
        caller stops, e.g. ``itertools.islice``); a generator so that a tuner
        can score every iteration count in one run.
    """
    n_frames = magnitude.shape[0]
    length = (n_frames - 1) * hop_length
    angles = np.exp(1j * phase)
    tprev = np.zeros_like(angles)
    while True:
        y = istft(magnitude * angles, hop_length, win_length, n_fft, length=length)
        rebuilt = stft(y, n_fft, hop_length, win_length, n_frames=n_frames)
        angles = rebuilt - (momentum / (1.0 + momentum)) * tprev
        angles /= np.abs(angles) + 1e-16
        tprev = rebuilt
        yield angles


def fgla_refine(magnitude, phase, n_iter, hop_length, n_fft, win_length=None,
                momentum=0.99):
    """Phase after ``n_iter`` fast Griffin-Lim iterations started from ``phase``.

    Args:
        magnitude, phase: [frames, bins] (see :func:`fgla_steps`).
        n_iter: int >= 0; 0 returns ``phase`` unchanged.

    Returns:
        float [frames, bins] phase in radians.
    """
    if n_iter <= 0:
        return np.asarray(phase)
    steps = fgla_steps(magnitude, phase, hop_length, n_fft, win_length, momentum)
    for _, angles in zip(range(n_iter), steps):
        pass
    return np.angle(angles)


def consistency(y, magnitude, hop_length, n_fft, win_length=None, ceiling=None):
    """Spectral convergence of the re-analysis of ``y`` against the magnitude asked for.

    Args:
        y: [n] waveform; magnitude: [frames, bins] the magnitude it should have.
        ceiling: float or None; if given, the re-analysis is clipped at it first
            (a clipped input says only ">= ceiling" about its flat tops).

    Returns:
        float ||magnitude - |STFT(y)||| / ||magnitude||.
    """
    est = np.abs(stft(np.asarray(y, np.float64), n_fft, hop_length, win_length,
                      n_frames=magnitude.shape[0]))
    if ceiling is not None:
        est = np.minimum(est, ceiling)
    return float(np.linalg.norm(magnitude - est) / max(np.linalg.norm(magnitude), 1e-300))


def pghi(magnitude, hop_length=256, n_fft=None, win_length=None, length=None, lam=None,
         tol_db=100.0, seed=0, refine_iter=0, declip_plateaus=True, max_excess_db=10.0,
         fallback_db=5.0):
    """Waveform from a [frames, bins] magnitude by PGHI phase + inverse STFT.

    Args:
        magnitude: [frames, bins] linear magnitude (bins = n_fft//2+1).
        hop_length, n_fft, win_length, lam, tol_db, seed: see :func:`pghi_phase`.
        length: output samples (default (frames-1)*hop).
        refine_iter: int, default 0 (pure PGHI). Fast Griffin-Lim iterations
            started from the PGHI phase (PGHI as an initialiser).  The result
            is never less consistent with ``magnitude`` than the PGHI start:
            FGLA projects onto the declipped magnitude, whose re-grown tops
            can be wrong (a chirp's smeared peak), so the two outputs are
            compared (:func:`consistency`, clipped at the ceiling when the
            input was clipped) and the better one is returned.
        declip_plateaus: bool, default True. Re-grow clipped harmonic tops
            (see :func:`declip`) before integrating and synthesising.
        max_excess_db: float, default 10. Cap of the re-grown tops above the
            ceiling; fallback_db (default 5) the cap of runs no single main
            lobe fits (see :func:`declip`).
    Returns:
        float32 waveform [length]; ``length`` samples if given, else (frames-1)*hop.
    """
    given = magnitude = np.asarray(magnitude, dtype=np.float64)
    n_fft = 2 * (magnitude.shape[-1] - 1) if n_fft is None else int(n_fft)
    n_clipped = 0
    if declip_plateaus and magnitude.size:
        magnitude, n_clipped = declip(magnitude, n_fft if win_length is None else win_length,
                                      n_fft, lam, max_excess_db, fallback_db)
    phase = pghi_phase(magnitude, hop_length, n_fft, win_length, lam, tol_db, seed)
    y = istft(magnitude * np.exp(1j * phase), hop_length, win_length, n_fft, length=length)
    if refine_iter:
        refined = fgla_refine(magnitude, phase, refine_iter, hop_length, n_fft, win_length)
        y_ref = istft(magnitude * np.exp(1j * refined), hop_length, win_length, n_fft,
                      length=length)
        ceiling = given.max() if n_clipped > 1 else None
        if (consistency(y_ref, given, hop_length, n_fft, win_length, ceiling)
                <= consistency(y, given, hop_length, n_fft, win_length, ceiling)):
            y = y_ref
    return y.astype(np.float32)
