"""Learner behaviour: seeded journeys through the catalogue over several weeks.

Each learner starts in the first six weeks, takes one to three courses (the same person on
several platforms), and works through lessons roughly in order, in sessions hours or days
apart, until done or dropping off. Along the way: last-seen heartbeats, favourites (some
taken back), ratings, comments, downloads, un-completed lessons, modules and courses (some
completed again), certificates, Nutror inactivity flags, and a few event types no decoder
knows (see `journey` for one course).
"""

from __future__ import annotations

from datetime import UTC, timedelta
from random import Random

from consumer.journeys.catalogue import Course, catalogue
from consumer.journeys.events import END, START, Event, Learner, utc
from consumer.journeys.journey import DAY, HOUR, Journey

FIRST = ["Ana", "Bruno", "Carla", "Diego", "Elisa", "Fabio", "Gabriela", "Hugo", "Iara",
         "Joao", "Karina", "Lucas", "Marina", "Nelson", "Olivia", "Paulo", "Renata", "Sergio"]
LAST = ["Silva", "Souza", "Costa", "Oliveira", "Pereira", "Lima", "Gomes", "Ribeiro"]


def simulate(learners: int, seed: int) -> tuple[tuple[Course, ...], list[Event]]:
    """The catalogue and every event of `learners` learners, in time order; same seed, same
    answer."""
    if learners < 1:
        raise ValueError(f"learners must be at least 1, got {learners}")
    rng = Random(seed)
    courses = catalogue(rng)
    events: list[Event] = []
    for n in range(learners):
        _learner(rng, n, courses, events)
    end = END.astimezone(UTC)
    return courses, sorted((e for e in events if e.at <= end), key=lambda e: e.at)


def _learner(rng: Random, n: int, courses: tuple[Course, ...], out: list[Event]) -> None:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = None if rng.random() < 0.04 else f"{first}.{last}{n}@exemplo.com.br".lower()
    learner = Learner(n, f"{first} {last}", email, f"{rng.getrandbits(128):032x}",
                      rng.randrange(10**8, 10**9))
    pool = courses
    if email is None:  # known by a platform id only: one platform
        platform = rng.choice(["alpaclass", "toolzz"])
        pool = tuple(c for c in courses if c.platform == platform)
    picked = rng.sample(pool, rng.choices([1, 2, 3], weights=[6, 3, 1])[0])
    t0 = int((START + timedelta(days=rng.randrange(42), hours=rng.uniform(7, 23))).timestamp())
    starts = sorted((t0 + (i and rng.randint(HOUR, 14 * DAY)), c) for i, c in enumerate(picked))
    nutror = [(t, c) for t, c in starts if c.platform == "nutror"]
    bundled = len(nutror) > 1 and rng.random() < 0.5  # one enrolment naming every course
    for platform, action in (("alpaclass", "learner_registered"),
                             ("toolzz", "learner_registered")):
        first_start = next((t for t, c in starts if c.platform == platform), None)
        if first_start is not None:
            out.append(Event(platform, action, utc(first_start - rng.randint(60, HOUR)),
                             learner))
    for t, course in starts:
        also: tuple[Course, ...] = ()
        enrol = course.platform != "alpaclass"
        if bundled and course is nutror[0][1]:
            also = tuple(c for _, c in nutror[1:])
        elif bundled and course.platform == "nutror":
            enrol, t = False, nutror[0][0] + rng.randint(60, 3 * DAY)
        Journey(rng, learner, course, t, out).run(enrol, also)
    if learner.email is None and picked[0].platform == "toolzz" and rng.random() < 0.3:
        out.append(Event("toolzz", "members.disabled", utc(t0 + 60 * DAY), learner,
                         known=False))
