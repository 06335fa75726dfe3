"""What the simulator says happened: learners and their logical events, before any payload.

A logical event is stated in the data model's terms (canonical action, the course, module
and lesson the platform names); `payloads` renders it as the platform's real body, and
`expected` derives every view from these events and the contract alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from consumer.journeys.catalogue import Course, Lesson, Module
from consumer.journeys.products import Sale

ZONE = ZoneInfo("America/Sao_Paulo")  # the reporting zone, and the platforms' local time
START = datetime(2024, 3, 4, tzinfo=ZONE)  # a Monday, local midnight
WEEKS = 12
END = START + timedelta(weeks=WEEKS)  # nothing happens after this


class Learner(msgspec.Struct, frozen=True):
    """One person. `email` is None for a few single-platform learners, who are then known by
    their platform id (README, What lands in DuckDB: learner_key)."""

    n: int
    name: str
    email: str | None
    alpaclass_id: str
    toolzz_id: int

    def sent_email(self, platform: str) -> str | None:
        """The e-mail as `platform` sends it: Nutror pads and capitalises some, Toolzz and
        MyEduzz upper-case some (one person, one learner_key, whatever the spelling)."""
        e = self.email
        if e is not None and platform == "nutror" and self.n % 4 == 1:
            return f" {e.capitalize()} "
        if e is not None and platform == "toolzz" and self.n % 3 == 2:
            return e.upper()
        if e is not None and platform == "myeduzz" and self.n % 5 == 3:
            return f" {e.upper()}"
        return e


class Event(msgspec.Struct, frozen=True):
    """One thing a platform reports. `action` is the canonical action, or for an event type no
    decoder knows (`known` False) the event type as sent. `also` holds the further courses of a
    Nutror enrolment that names several. A MyEduzz invoice event has `platform` myeduzz,
    the invoice status as `action`, the buyer as `learner`, and its `sale`."""

    platform: str
    action: str
    at: datetime  # UTC, whole seconds
    learner: Learner
    course: Course | None = None
    module: Module | None = None
    lesson: Lesson | None = None
    also: tuple[Course, ...] = ()
    progress: float | None = None
    rating: int | None = None
    comment: str | None = None
    known: bool = True
    sale: Sale | None = None  # a MyEduzz invoice event: `action` is the invoice status

    @property
    def courses(self) -> tuple[Course, ...]:
        """Every course the event names (one learning row each)."""
        return ((self.course,) if self.course is not None else ()) + self.also


def utc(t: int) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(t, UTC)
