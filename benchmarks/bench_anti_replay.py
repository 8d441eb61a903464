"""Anti-replay decisions per second: the vectorized window against the packet-by-packet reference.

Traffic: batches of 10,000 packets in order with 1% loss and 0.1% reordering, window
1024, ESN on, starting just below the low-32-bit wrap so that the batches cross it. Both paths see
the same packets and must agree outcome for outcome (checked on the reference's share). Prints
``bench anti-replay path=vectorized decisions_per_s=... ratio=...`` (ratio = vectorized / reference),
``bench anti-replay path=reference decisions_per_s=...``, and, as ``bench anti-replay-detail``,
other window sizes, batch sizes and the many-SA bank for context. Target: >= 25 million decisions
per second on one core.
"""

from __future__ import annotations

import time

import numpy as np

from hasim.sim.dataplane import WindowBank, WindowState, check_bank, check_batch, check_batch_reference

BATCH = 10_000
BATCHES = 300
WINDOW = 1024
LOSS = 0.01
REORDER = 0.001
START = 2**32 - 1_000_000
DETAIL = "bench anti-replay-detail path=vectorized"


def traffic(rng: np.random.Generator, n: int, start: int = START) -> np.ndarray:
    """``n`` sequence numbers from ``start``: 1% lost, 0.1% swapped with the packet two places on."""
    seqs = np.arange(start, start + int(n * (1 + 3 * LOSS)) + 100, dtype=np.uint64)
    seqs = seqs[rng.random(seqs.size) >= LOSS][:n]
    swap = np.flatnonzero(rng.random(n - 2) < REORDER)
    swap = swap[np.diff(swap, prepend=-3) > 2]  # non-overlapping swaps
    seqs[swap], seqs[swap + 2] = seqs[swap + 2], seqs[swap].copy()
    return seqs


def _state(window: int, top: int) -> WindowState:
    return WindowState(window, True, top, np.zeros(WindowState.initial(window).words.size, dtype=np.uint64))


def vectorized_rate(batches: list[np.ndarray], window: int, repeats: int = 3) -> float:
    """Best-of-``repeats`` decisions per second of ``check_batch`` over the batches in order."""
    best = 0.0
    total = sum(b.size for b in batches)
    for _ in range(repeats):
        state = _state(window, int(batches[0][0]) - 1)
        t0 = time.perf_counter()
        for b in batches:
            _, state = check_batch(state, b)
        best = max(best, total / (time.perf_counter() - t0))
    return best


def reference_rate(batches: list[np.ndarray], window: int) -> tuple[float, bool]:
    """Decisions per second of the per-packet reference, and whether it agreed with the fast path."""
    state = vec = _state(window, int(batches[0][0]) - 1)
    agree = True
    total = 0
    elapsed = 0.0
    for b in batches:
        t0 = time.perf_counter()
        ref_out, state = check_batch_reference(state, b)
        elapsed += time.perf_counter() - t0
        total += b.size
        vec_out, vec = check_batch(vec, b)
        agree = agree and bool(np.array_equal(ref_out, vec_out)) and vec == state
    return total / elapsed, agree


def main() -> None:
    """Print the machine-readable figures (see DESIGN.md, Benchmarks)."""
    rng = np.random.default_rng(2026)
    stream = traffic(rng, BATCH * BATCHES)
    batches = np.split(stream, BATCHES)
    vec = vectorized_rate(batches, WINDOW)
    ref, agree = reference_rate(batches[:6], WINDOW)
    print(
        f"bench anti-replay path=vectorized decisions_per_s={vec:.0f} ratio={vec / ref:.1f} "
        f"window={WINDOW} batch={BATCH} esn=1 target_per_s=25000000 meets_target={int(vec >= 25e6)}",
        flush=True,
    )
    print(
        f"bench anti-replay path=reference decisions_per_s={ref:.0f} window={WINDOW} esn=1 "
        f"agrees={int(agree)}",
        flush=True,
    )
    for window in (32, 65536):
        rate = vectorized_rate(batches[:100], window, repeats=2)
        print(f"{DETAIL} window={window} batch={BATCH} decisions_per_s={rate:.0f}")
    for batch in (100, 1000, 100_000):
        parts = np.split(stream[: (BATCH * 100 // batch) * batch], BATCH * 100 // batch)
        rate = vectorized_rate(parts, WINDOW, repeats=2)
        print(f"{DETAIL} window={WINDOW} batch={batch} decisions_per_s={rate:.0f}")
    for n_sa, per_sa, grouped in ((10_000, 10, False), (10_000, 100, False), (10_000, 100, True)):
        rate = bank_rate(n_sa, per_sa, grouped=grouped)
        print(
            f"bench anti-replay-detail path=bank sas={n_sa} packets_per_sa={per_sa} grouped={int(grouped)} "
            f"window={WINDOW} esn=1 decisions_per_s={rate:.0f}"
        )


def bank_rate(n_sa: int, per_sa: int, repeats: int = 3, grouped: bool = False) -> float:
    """Decisions per second of ``check_bank``: ``per_sa`` packets of each of ``n_sa`` SAs.

    Interleaved in time across SAs, or ``grouped`` (per-SA arrays concatenated).
    """
    rng = np.random.default_rng(7)
    streams = [traffic(rng, per_sa * 4, start=int(rng.integers(1, 2**40))) for _ in range(n_sa)]
    sa = np.repeat(np.arange(n_sa), per_sa)
    times = np.concatenate([np.sort(rng.random(per_sa)) for _ in range(n_sa)])
    order = np.arange(sa.size) if grouped else np.argsort(times, kind="stable")
    best = 0.0
    for _ in range(repeats):
        bank = WindowBank(
            WINDOW,
            True,
            np.array([int(x[0]) - 1 for x in streams], dtype=np.uint64),
            np.zeros((n_sa, WindowState.initial(WINDOW).words.size), dtype=np.uint64),
        )
        t0 = time.perf_counter()
        for k in range(4):
            seqs = np.concatenate([x[k * per_sa : (k + 1) * per_sa] for x in streams])
            _, bank = check_bank(bank, sa[order], seqs[order])
        best = max(best, 4 * n_sa * per_sa / (time.perf_counter() - t0))
    return best


if __name__ == "__main__":
    main()
