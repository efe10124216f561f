"""Result values as the JSON files store them, and the text a table prints for each.

The JSON files hold plain dicts, so that anything can read them; here they become typed values,
each printing its own table cell:

    Rate              {"value", "k", "n", "ci95"}              0.42 [0.29, 0.56] 20/48       Wilson 95%
    Estimate          {"value", "n", "ci95"}                   0.31 [0.12, 0.50] n=12        bootstrap, propagated
    PairedDifference  {"value", "n", "b", "c", "mcnemar_p"}    +0.25 (McNemar p=0.031, b=6, c=0)
    Difference        {"value", "ci95"}                        +0.25 [+0.02, +0.45]          Newcombe, MOVER

`read_value` is the one place that tells a stored dict's kind by its keys; `at` the one walk down
a result tree; `cell` any stored value's text. A value is undefined (value None) when its n is 0.
"""

from __future__ import annotations

from dataclasses import dataclass


def _pair(ci: list | tuple | None) -> tuple | None:
    return None if ci is None else tuple(ci)


def _bound(x: float | None, signed: bool = False) -> str:
    if x is None:  # an interval unbounded below (alpha when p's lower bound is 0)
        return "-inf"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def _interval(ci: tuple | None, signed: bool = False) -> str:
    return "" if ci is None else f" [{_bound(ci[0], signed)}, {_bound(ci[1], signed)}]"


def _p(p: float | None) -> str:
    return "n/a" if p is None else f"{p:.2g}"


@dataclass(frozen=True)
class Rate:
    """k of n with its Wilson 95% interval."""

    k: int
    n: int
    value: float | None = None
    ci95: tuple[float, float] | None = None

    def to_json(self) -> dict:
        return {"value": self.value, "k": self.k, "n": self.n, "ci95": None if self.ci95 is None else list(self.ci95)}

    @classmethod
    def from_json(cls, obj: dict) -> Rate:
        return cls(obj["k"], obj["n"], obj["value"], _pair(obj["ci95"]))

    def cell(self, interval: bool = True) -> str:
        """'0.42 [0.29, 0.56] 20/48', or '0.42 20/48' without the interval; 'undef (n=0)'."""
        if self.value is None:
            return f"undef (n={self.n})"
        return f"{self.value:.2f}{_interval(self.ci95) if interval else ''} {self.k}/{self.n}"


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a 95% interval that is no rate of counts: a bootstrap AOC, alpha or F_norm
    propagated from Wilson bounds, a bootstrap logit shift. `n`: what it is over, where it says."""

    value: float | None
    ci95: tuple[float | None, float | None] | None = None
    n: int | None = None

    def to_json(self) -> dict:
        return {"value": self.value, "n": self.n, "ci95": None if self.ci95 is None else list(self.ci95)}

    @classmethod
    def from_json(cls, obj: dict) -> Estimate:
        return cls(obj.get("value"), _pair(obj.get("ci95")), obj.get("n"))

    def cell(self, counts: bool = True) -> str:
        """'0.31 [0.12, 0.50] n=12' (a bound of None prints -inf), without ' n=12' when `counts` is False."""
        if self.value is None:
            return f"undef (n={0 if self.n is None else self.n})"
        text = f"{self.value:.2f}{_interval(self.ci95)}"
        return text + (f" n={self.n}" if counts and self.n is not None else "")


@dataclass(frozen=True)
class PairedDifference:
    """P(x) - P(y) on paired observations, with the exact McNemar p of the discordant pairs
    b = #(x, not y) and c = #(y, not x); `holm` when it is one of a table's Holm-corrected tests."""

    value: float | None
    n: int | None  # the pairs (None where a hand-built dict leaves it out)
    b: int
    c: int
    mcnemar_p: float | None
    holm: bool = False
    holm_p: float | None = None  # with `holm`: the Holm-adjusted p (None where mcnemar_p is None)

    def to_json(self) -> dict:
        out = {"value": self.value, "n": self.n, "b": self.b, "c": self.c, "mcnemar_p": self.mcnemar_p}
        return {**out, "holm_p": self.holm_p} if self.holm else out

    @classmethod
    def from_json(cls, obj: dict) -> PairedDifference:
        fields = (obj["value"], obj.get("n"), obj["b"], obj["c"], obj["mcnemar_p"])
        return cls(*fields, holm="holm_p" in obj, holm_p=obj.get("holm_p"))

    def cell(self) -> str:
        """'+0.25 (McNemar p=0.031, b=6, c=0)', with ', Holm p=0.12' after the p of a Holm-corrected test."""
        if self.value is None:
            return f"undef (n={0 if self.n is None else self.n})"
        p = _p(self.mcnemar_p) + (f", Holm p={_p(self.holm_p)}" if self.holm else "")
        return f"{self.value:+.2f} (McNemar p={p}, b={self.b}, c={self.c})"


@dataclass(frozen=True)
class Difference:
    """a - b of two independent estimates with a 95% interval: Newcombe's for two rates, MOVER for
    two estimates with intervals, or a bootstrap of the difference."""

    value: float | None
    ci95: tuple[float, float] | None = None

    def to_json(self) -> dict:
        return {"value": self.value, "ci95": None if self.ci95 is None else list(self.ci95)}

    @classmethod
    def from_json(cls, obj: dict) -> Difference:
        return cls(obj.get("value"), _pair(obj.get("ci95")))

    def cell(self, signed_bounds: bool = True) -> str:
        """'+0.25 [+0.02, +0.45]' ('+0.25 [0.02, 0.45]' with unsigned bounds, as the audit ladder prints them)."""
        if self.value is None:
            return "undef"
        return f"{self.value:+.2f}{_interval(self.ci95, signed_bounds)}"


Value = Rate | Estimate | PairedDifference | Difference


def read_value(obj: object) -> object:
    """The typed value of a stored result dict, told by its keys: `mcnemar_p` a paired difference, `k` a
    rate, else an estimate (a dict without either). Anything else (a number, None, a string) as it is."""
    if not isinstance(obj, dict):
        return obj
    if "mcnemar_p" in obj:
        return PairedDifference.from_json(obj)
    if "k" in obj:
        return Rate.from_json(obj)
    return Estimate.from_json(obj)


def cell(obj: object) -> str:
    """A table cell for any stored result: a value's own text, 'undef' for None, a string as it is
    (an 'n/a: why'), a plain number to two decimals."""
    value = read_value(obj)
    if value is None:
        return "undef"
    if isinstance(value, str):
        return value
    if isinstance(value, Value):
        return value.cell()
    return f"{value:.2f}"


class _Missing:
    """Nothing at this path (no such suite, model or metric): falsy, and never a value."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


def at(tree: object, *path: str) -> object:
    """The value at `path` in a result tree, MISSING where a key is absent. An 'n/a: why' string met on
    the way (a suite that could not run here) is the value of everything below it."""
    for key in path:
        if isinstance(tree, str) and tree.startswith("n/a"):
            return tree
        if not isinstance(tree, dict) or key not in tree:
            return MISSING
        tree = tree[key]
    return tree


def model_tree(result: dict, label: str) -> dict:
    """One model's part of an evals.json, as table rows read it: {"hinted": models[label] (the hinted
    suite's metrics), "suites": suite_metrics[label] (every other suite's)}."""
    return {"hinted": at(result, "models", label), "suites": at(result, "suite_metrics", label)}
