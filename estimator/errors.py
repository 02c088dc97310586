"""Typed errors of the estimator. The command line maps them to exit codes:
ScenarioError (bad input) -> 2, InfeasibleError (no answer exists) -> 1, MissingExtraError
(an optional dependency not installed) -> 3."""

from __future__ import annotations

from collections.abc import Sequence

from pricing.errors import SHOWN_PROBLEMS, CatalogError, SplitcomputeError, UnknownIdError

__all__ = [
    "CatalogError",
    "CurrencyMismatchError",
    "InfeasibleError",
    "MissingExtraError",
    "NoPlacementError",
    "ScenarioError",
    "SplitcomputeError",
    "UnknownIdError",
]


class ScenarioError(SplitcomputeError):
    """Bad input: a scenario file or an argument. `location` is 'file: field.path' or a flag.

    `problems` lists every problem found, each a ScenarioError of one (`location`, `message`);
    the error itself is the first, its message counting the others ("(and 2 more problems)";
    the command line's `--all-errors` prints them all, one line each)."""

    def __init__(
        self,
        message: str,
        location: str | None = None,
        problems: Sequence[ScenarioError] = (),
    ) -> None:
        self.location = location
        self.problems: list[ScenarioError] = list(problems) or [self]
        more = len(self.problems) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        self.message = message
        super().__init__(f"{location}: {message}" if location else message)

    def lines(self, limit: int | None = SHOWN_PROBLEMS) -> list[str]:
        more = len(self.problems) - 1
        if not more:
            return [str(self)]
        if limit is None:  # --all-errors
            return [f"{more + 1} problems:", *map(str, self.problems)]
        them = "it" if more == 1 else "them"
        return [f"{str(self).removesuffix(')')}: --all-errors lists {them})"]


class InfeasibleError(SplitcomputeError):
    """The input is well-formed but no answer exists (does not fit, target unreachable)."""

    def __init__(self, message: str, location: str | None = None) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}" if location else message)


class CurrencyMismatchError(SplitcomputeError, TypeError):
    """Two amounts in different currencies were added, subtracted or compared: convert one
    first (quote the scenario again with `currency=`)."""


class MissingExtraError(SplitcomputeError, ImportError):
    """An optional dependency is not installed (`extra`: charts for charts and HTML, yaml for
    YAML scenarios): the environment lacks it, the input is fine (rev16b #10: it exited 2, "bad
    input"). Also an `ImportError`, which is what it is."""

    def __init__(self, message: str, extra: str, location: str | None = None) -> None:
        self.location = location
        self.message = message
        self.extra = extra
        super().__init__(f"{location}: {message}" if location else message)

    def __reduce__(self) -> tuple[type[MissingExtraError], tuple[str, str, str | None]]:
        # rev16c R3: `extra` is not in `args`, so unpickling (a process pool, joblib) called
        # __init__ without it and raised TypeError in place of this error.
        return type(self), (self.message, self.extra, self.location)


class NoPlacementError(InfeasibleError):
    """No option of phase `phase` is allowed (a shock re-placing phases keeps such a phase
    where it was, blocked, and places the rest). `closest` is the site (region, pricing,
    provider, instance) of the option the message describes, `reason` the planner's category
    of what blocks it (`findings.REASONS`); None and "" when no option matched at all.
    `detail`, when given, follows the message after "; " and is printed on a line of its own
    (a second fact, read apart from the first)."""

    def __init__(
        self,
        message: str,
        location: str | None = None,
        phase: str = "",
        closest: dict[str, str] | None = None,
        reason: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(f"{message}; {detail}" if detail else message, location)
        self.phase = phase
        self.closest = closest
        self.reason = reason
        self.head, self.detail = message, detail

    def lines(self, limit: int | None = None) -> list[str]:
        if not self.detail:
            return [str(self)]
        head = f"{self.location}: {self.head}" if self.location else self.head
        return [head, self.detail]
