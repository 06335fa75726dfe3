"""The learner key rule of the README's "What lands in DuckDB" (identity): the receiver keys
Kafka messages by it, so a learner's events stay ordered, and the consumer stores it as
`learner_key`. One rule, here; the consumer imports it (ingest never imports the consumer).
"""

from __future__ import annotations

Id = str | int  # ids arrive as strings or numbers; both mean the same id


def key(platform: str, value: Id | None) -> str | None:
    """`<platform>:<id>`, the course/module/lesson/school key; None when there is no id."""
    # An f-string formats 123 and "123" alike, with one call less on the consumer's hot path.
    return None if value is None or value == "" else f"{platform}:{value}"


def email(value: str | None) -> str | None:
    """`lower(trim(email))`, or None when absent or blank."""
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def learner_key(platform: str, email_norm: str | None, learner_id: Id | None) -> str | None:
    """The e-mail when there is one (one person across platforms), else `<platform>:<id>`."""
    return email_norm if email_norm is not None else key(platform, learner_id)
