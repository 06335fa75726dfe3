"""The page's filter state, as it travels in the URL: typed, bounded, and refused with a
one-line reason when wrong. No SQL comes from the browser; only these values do, always as
query parameters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

import msgspec

# Keys come from webhooks (`<platform>:<id>`): any text, so only bounded and printable here.
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$")]
Platform = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{1,20}$")]
Days = Annotated[int, msgspec.Meta(ge=1, le=365)]
# What each parameter expects, in words (msgspec would show a regex).
EXPECTED = {
    "course": "a course_key (1-300 printable characters)",
    "school": "a school_key (1-300 printable characters)",
    "platform": "a platform name such as alpaclass, nutror or toolzz",
    "from": "a date YYYY-MM-DD",
    "to": "a date YYYY-MM-DD",
    "window_days": "a whole number of days from 1 to 365",
    "min_days": "a whole number of days from 1 to 365",
}
MAX_RANGE_DAYS = 3660  # ten years: a wider range is a typo, and a costly query


class BadParameter(ValueError):
    """A parameter the page cannot use; str() is the one-line reason."""


class Filters(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the page shows: which courses (one, a school's, a platform's, or all), which
    days (`from`..`to`, calendar days in America/Sao_Paulo, both included; default the 90
    days up to the newest event), the ordered funnel's window and the at-risk threshold."""

    course: Key | None = None
    school: Key | None = None
    platform: Platform | None = None
    start: date | None = msgspec.field(default=None, name="from")
    end: date | None = msgspec.field(default=None, name="to")
    window_days: Days = 14
    min_days: Days = 7

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise BadParameter(f"bad parameter from: {self.start} is after to ({self.end})")
        if self.start and self.end and (self.end - self.start).days > MAX_RANGE_DAYS:
            raise BadParameter(f"bad parameter from: more than {MAX_RANGE_DAYS} days before to")

    def query(self) -> dict[str, str]:
        """The URL parameters that differ from the defaults (what a link carries)."""
        default = Filters()
        out = {}
        for field in msgspec.structs.fields(self):
            value = getattr(self, field.name)
            if value != getattr(default, field.name):
                out[field.encode_name] = str(value)
        return out

    def key(self, uses: Iterable[str]) -> tuple[tuple[str, Any], ...]:
        """The part of the filters a panel depends on: its cache key, so a course click does
        not recompute the panels that ignore courses."""
        return tuple((name, getattr(self, name)) for name in sorted(uses))


PARAMETERS = {f.encode_name for f in msgspec.structs.fields(Filters)}


def parse(items: Iterable[tuple[str, str]], ignore: frozenset[str] = frozenset()) -> Filters:
    """Filters from URL query items; BadParameter names the first wrong one. An empty value
    is the default (a cleared form field); a repeated or unknown name is an error."""
    values: dict[str, str] = {}
    for name, value in items:
        if name in ignore:
            continue
        if name not in PARAMETERS:
            raise BadParameter(f"unknown parameter {name[:40]!r}; expected one of "
                               f"{', '.join(sorted(PARAMETERS))}")
        if name in values:
            raise BadParameter(f"parameter {name} given twice")
        if value != "":
            values[name] = value
    try:
        return msgspec.convert(values, Filters, strict=False)
    except (msgspec.ValidationError, ValueError) as exc:
        if str(exc).startswith("bad parameter "):  # from __post_init__, wrapped by msgspec
            raise BadParameter(str(exc)) from None
        field = str(exc).rpartition(" - at `$.")[2].rstrip("`")
        if field not in EXPECTED:
            raise BadParameter(f"bad parameters: {exc}") from None
        got = values.get(field, "")
        raise BadParameter(f"bad parameter {field}: expected {EXPECTED[field]}, "
                           f"got {got[:60]!r}") from None
