"""A journey simulator: learners on AlpaClass, Nutror and Toolzz courses, their webhooks as
each platform really sends them, and the answer every view should give (`expected`).

Used by the tests (through the real pipeline, and straight into DuckDB) and by
`learnstream demo`.
"""

from __future__ import annotations

from consumer.journeys.behaviour import simulate
from consumer.journeys.deliveries import Delivery, deliveries, identity, messages, shuffled
from consumer.journeys.expected import expected
from consumer.journeys.facts import Answer

__all__ = ["Answer", "Delivery", "expected", "identity", "journeys", "messages", "shuffled",
           "simulate"]


def journeys(learners: int, seed: int) -> list[Delivery]:
    """The deliveries of `learners` simulated learners, in arrival order; same seed, same
    bytes."""
    courses, events = simulate(learners, seed)
    return deliveries(courses, events, seed)
