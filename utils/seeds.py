"""Results over several seeds: mean ± standard error, and comparisons that call noise noise.

    runs = over_seeds("with BN", [0.861, 0.874, 0.868])
    print(runs)                      # with BN: 0.868 ± 0.004 (3 seeds)
    print(difference(runs, other))   # with BN - without BN: +0.010 ± 0.006 -> within the noise

A difference counts as real only when it is at least twice its standard error; anything smaller
is reported as noise. With the same seeds on both sides (``paired=True``) the noise is that of the
per-seed differences, which removes what the two runs of one seed share.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NOISE_FACTOR = 2.0  # a difference below NOISE_FACTOR standard errors is called noise


@dataclass(frozen=True)
class Runs:
    """One setting measured once per seed."""

    name: str
    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def sem(self) -> float:
        """Standard error of the mean (sample standard deviation / sqrt(n)); nan for one seed."""
        if self.n < 2:
            return math.nan
        return float(np.std(self.values, ddof=1) / math.sqrt(self.n))

    def __str__(self) -> str:
        return f"{self.name}: {self.mean:.3f} ± {self.sem:.3f} ({self.n} seeds)"


@dataclass(frozen=True)
class Difference:
    """``a - b`` with its standard error, and whether it stands out of the noise."""

    a: Runs
    b: Runs
    value: float
    sem: float
    paired: bool

    @property
    def real(self) -> bool:
        """At least two standard errors away from 0 (an exact tie is never real)."""
        return not math.isnan(self.sem) and self.value != 0 and \
            abs(self.value) >= NOISE_FACTOR * self.sem

    def __str__(self) -> str:
        # "higher", not "better": for a loss the lower side is the better one
        verdict = (f"{self.a.name if self.value > 0 else self.b.name} is higher" if self.real
                   else "within the noise")
        how = "paired by seed" if self.paired else "independent runs"
        return (f"{self.a.name} - {self.b.name}: {self.value:+.3f} ± {self.sem:.3f} "
                f"({how}) -> {verdict}")


def over_seeds(name: str, values) -> Runs:
    """The runs of one setting; ``values`` holds one number per seed."""
    values = tuple(float(v) for v in np.ravel(values))
    if not values:
        raise ValueError(f"{name}: no values")
    return Runs(name, values)


def difference(a: Runs, b: Runs, paired: bool = False) -> Difference:
    """``a.mean - b.mean`` and its standard error; ``paired`` when seed k ran on both sides."""
    if paired:
        if a.n != b.n:
            raise ValueError("paired runs need the same number of seeds on both sides")
        diffs = over_seeds("difference", np.subtract(a.values, b.values))
        return Difference(a, b, diffs.mean, diffs.sem, True)
    return Difference(a, b, a.mean - b.mean, math.hypot(a.sem, b.sem), False)


def table(runs, higher_is_better: bool = True) -> str:
    """A text table of several settings, best first, each with mean ± standard error."""
    ordered = sorted(runs, key=lambda r: r.mean, reverse=higher_is_better)
    width = max(len(r.name) for r in ordered)
    lines = [f"{'setting':<{width}}  {'mean ± s.e.':<13}  seeds"]
    for r in ordered:
        lines.append(f"{r.name:<{width}}  {r.mean:.3f} ± {r.sem:.3f}  {r.n}")
    return "\n".join(lines)
