"""product_courses: which courses a MyEduzz product gives access to (no payload says it).

`learnstream products map|load` send the rows as one `products` request through the route to
the store's owner (consumer/control.py): the running consumer applies it between batches, or
the command itself when none runs. Bad input is one line naming the row; a load is one
transaction: all rows or none.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any, NamedTuple

from consumer.control import BadRequest, Counts, Kind
from consumer.control import apply as apply_request
from consumer.store import Store

PLATFORMS = ("alpaclass", "nutror", "toolzz")  # where courses live (README "What lands in DuckDB")
SELLERS = ("myeduzz",)  # where products are sold
COLUMNS = ("product_id", "course_key", "school_key")  # school_key optional in a CSV


class Mapped(NamedTuple):
    """One product_courses row: the seller's product gives access to the course."""

    school_key: str
    product_id: str
    course_key: str


def check_course(course_key: str) -> str | None:
    """Why `course_key` is not a course key (`<platform>:<id>`), or None."""
    platform, _, course_id = course_key.partition(":")
    if platform not in PLATFORMS or not course_id.strip():
        return (f"course_key {course_key!r} is not <platform>:<course id> with platform one "
                f"of {', '.join(PLATFORMS)}")
    return None


def check_school(school_key: str) -> str | None:
    """Why `school_key` is not a seller key (`myeduzz:<producer id>`), or None."""
    platform, _, seller = school_key.partition(":")
    if platform not in SELLERS or not seller.strip():
        return f"school_key {school_key!r} is not myeduzz:<producer id>"
    return None


def parse_csv(text: str, name: str) -> list[tuple[str, str, str | None]]:
    """(product_id, course_key, school_key or None) per data row of a CSV with a header
    naming product_id and course_key (school_key optional); ValueError naming the line."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in COLUMNS[:2] if c not in header]
    if missing or set(header) - set(COLUMNS):
        raise ValueError(f"{name} line 1: the header must name product_id and course_key "
                         f"(and optionally school_key), got {','.join(header) or 'nothing'}")
    out = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise ValueError(f"{name} line {line}: {len(values)} fields, the header has "
                             f"{len(header)}")
        row = dict(zip(header, (v.strip() for v in values), strict=True))
        product, course, school = row["product_id"], row["course_key"], row.get("school_key")
        problem = ("product_id is empty" if not product else check_course(course)
                   or (check_school(school) if school else None))
        if problem:
            raise ValueError(f"{name} line {line}: {problem}")
        out.append((product, course, school or None))
    return out


def seller_of(store: Store, product_id: str) -> str:
    """The one seller whose invoices name `product_id`; BadRequest when none or several."""
    sellers = sorted(s for (s,) in store.query(
        "select distinct school_key from commerce_events where school_key is not null "
        "and list_contains(product_ids, $1)", [product_id])[1])
    if len(sellers) == 1:
        return str(sellers[0])
    if not sellers:
        raise BadRequest(f"no invoice names product {product_id!r} yet: say whose it is "
                         "with --school myeduzz:<producer id> (or a school_key column)")
    raise BadRequest(f"product {product_id!r} is sold by {', '.join(sellers)}: "
                     "say which with --school (or a school_key column)")


def apply(store: Store, payload: dict[str, Any]) -> Counts:
    """The `products` request: map each of `payload["rows"]`, [product, course, seller or
    null: the product's one seller]; a mapping already there stays as it was. Runs inside
    the request's transaction, so a refused row leaves nothing mapped."""
    rows = payload.get("rows")
    if not isinstance(rows, list) or not all(
            isinstance(r, list) and len(r) == 3 and all(isinstance(v, str) for v in r[:2])
            and (r[2] is None or isinstance(r[2], str)) for r in rows):
        raise BadRequest("rows: expected a list of [product_id, course_key, school_key|null]")
    for n, (product, course, school) in enumerate(rows, 1):
        problem = ("product_id is empty" if not product else check_course(course)
                   or (check_school(school) if school else None))
        if problem:
            raise BadRequest(f"row {n}: {problem}")
    mapped = [Mapped(school or seller_of(store, product), product, course)
              for product, course, school in rows]
    before = store.query("select count(*) from product_courses")[1][0][0]
    if mapped:
        store.query(
            "insert or ignore into product_courses select unnest($1::varchar[]), "
            "unnest($2::varchar[]), unnest($3::varchar[]), $4",
            [[m.school_key for m in mapped], [m.product_id for m in mapped],
             [m.course_key for m in mapped], datetime.now(UTC)])
    added = store.query("select count(*) from product_courses")[1][0][0] - before
    return {"mapped": int(added), "already_mapped": len(mapped) - int(added)}


KIND = Kind("products", apply)


def add(store: Store, rows: list[tuple[str, str, str | None]]) -> Counts:
    """Map `rows` on a store this process owns (tests, tools): the request, applied here."""
    return apply_request(store, KIND.name, {"rows": [list(r) for r in rows]})


LIST = """select m.school_key, m.product_id, m.course_key, c.course_name, m.mapped_at
          from product_courses m left join courses c using (course_key)
          order by m.school_key, m.product_id, m.course_key"""
