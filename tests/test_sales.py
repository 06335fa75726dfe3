"""Sales to learning (issue 18): the sales views against the journey simulator's independent
oracle, the invoice current-state rule and DECIMAL money by hand, and product_courses.

The oracle (consumer.journeys.purchases) derives each view from the logical invoice and
learning events; here the real pipeline (small run) and the real store (large run, shuffled
arrival orders, folded or not, with a full and a partial mapping) must agree row for row.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from consumer.journeys import identity, journeys, product_mapping, shuffled
from consumer.ops import products
from consumer.rows import Batch, CommerceRow, Decoded, LearningRow, RawRow
from consumer.snapshot import publish
from consumer.store import ReadOnly, Store
from tests.conftest import FIXTURES
from tests.support.oracle import expected
from tests.support.simulated import assert_views, key_paths, load, post_lanes, rows_of

SALES = ("purchase_funnel", "purchase_funnel_between", "buyers_not_started",
         "refunds_by_progress", "time_to_first_lesson", "revenue_per_completion")
SMALL = (30, 5)
LARGE = (2400, 11)


def sales_answers(answers):
    return [a for a in answers if a.relation.split("(")[0] in SALES]


def mapped(store: Store, mapping) -> None:
    """Load a mapping as `learnstream products load` does."""
    products.add(store, [(p, c, s) for s, p, c in mapping])


@pytest.fixture(scope="module")
def small():
    return journeys(*SMALL, sales=True)


def test_learning_deliveries_are_the_same_with_or_without_sales(small):
    alone = journeys(*SMALL)
    assert [d for d in small if d.event.sale is None] == alone
    assert len(small) > len(alone)


def test_every_sales_answer_of_the_small_run_has_rows(small):
    answers = sales_answers(expected(small, mapping=product_mapping(SMALL[1])))
    assert [a.relation.split("(")[0] for a in answers] == list(SALES)
    assert all(a.rows for a in answers), [a.relation for a in answers if not a.rows]


def test_simulated_sales_cover_what_the_views_must_handle():
    ds = journeys(300, 9, sales=True)
    sales = [d.event for d in ds if d.event.sale is not None]
    assert {e.action for e in sales} >= {"open", "waiting_payment", "paid", "waiting_refund",
                                         "refunded", "canceled", "expired"}
    assert {e.sale.currency for e in sales} == {"BRL", "USD"}
    assert any(e.sale.installments > 1 for e in sales)
    assert any(len(e.sale.items) == 2 for e in sales)
    assert any(len(p.courses) == 2 for e in sales for p, _ in e.sale.items)  # a combo
    assert any(not p.courses for e in sales for p, _ in e.sale.items)  # never mapped
    buyers = {e.learner.n for e in sales}
    learners = {d.event.learner.n for d in ds if d.event.sale is None}
    assert buyers - learners and buyers & learners  # some never start, some learn
    # A shuffle is meaningful: some refund arrives before the payment it undoes.
    other = shuffled(ds, 1)
    arrival = {identity(d): i for i, d in reversed(list(enumerate(other)))}
    paid = {d.event.sale.invoice: arrival[identity(d)] for d in ds
            if d.event.sale is not None and d.event.action == "paid"}
    assert any(arrival[identity(d)] < paid[d.event.sale.invoice] for d in ds
               if d.event.sale is not None and d.event.action == "refunded")
    # Redelivered: the same invoice event id more than once.
    uids = [identity(d) for d in ds if d.event.sale is not None]
    assert len(uids) > len(set(uids))


def test_sales_bodies_have_the_published_examples_shape(small):
    fixtures = {json.loads(p.read_bytes())["event"]: key_paths(json.loads(p.read_bytes()))
                for p in (FIXTURES / "myeduzz").glob("invoice_*.json")}
    seen = set()
    for d in small:
        if d.event.sale is None:
            continue
        body = json.loads(d.body)
        seen.add(body["event"])
        assert key_paths(body) == fixtures[body["event"]], body["event"]
        assert isinstance(body["data"]["price"]["value"], float | int)  # a JSON number
    assert len(seen) >= 6, seen


def cli(*argv: str) -> None:
    """`learnstream ARGV` in this process (a SystemExit carries the exit status)."""
    from consumer.cli import main

    main(list(argv))


@pytest.mark.slow
async def test_small_sales_run_through_the_real_pipeline_equals_the_oracle(small, receiver,
                                                                           consumer, tmp_path,
                                                                           capsys):
    mapping = product_mapping(SMALL[1])
    csv_file = tmp_path / "products.csv"
    csv_file.write_text("school_key,product_id,course_key\n"
                        + "".join(f"{s},{p},{c}\n" for s, p, c in mapping))
    half = len(small) // 2
    assert await post_lanes(receiver, small[:half]) == [200] * half
    # Mapped mid-run while the consumer owns the file: the command's request is applied by
    # the consumer between batches, and its snapshot shows it before the command returns.
    await asyncio.to_thread(cli, "products", "load", str(csv_file),
                            "--data-dir", consumer.settings.data_dir)
    assert capsys.readouterr().out.startswith(f"mapped {len(mapping)} product-course pairs")
    snapshot = consumer.settings.snapshot_path
    with ReadOnly(snapshot) as db:
        assert db.query("select count(*) from product_courses")[1] == [(len(mapping),)]
    rest = small[half:]
    assert await post_lanes(receiver, rest) == [200] * len(rest)
    await consumer.caught_up(len(small))
    await consumer.stop()
    assert_views(consumer.rows, expected(small, received=False, mapping=mapping))
    assert consumer.rows("select count(*) from dead_letters") == [(0,)]


def partial(seed: int):
    """The mapping without the toolzz seller's first product and without any of one Nutror
    course's products: more fallback rows, on a seller that still has mappings."""
    full = product_mapping(seed)
    nutror = next(c for _, _, c in full if c.startswith("nutror:"))
    toolzz = next(p for s, p, _ in full if s == "myeduzz:654321")
    return [m for m in full if m[2] != nutror and m[1] != toolzz]


@pytest.mark.parametrize("which", ["full", "partial"])
def test_sales_views_do_not_depend_on_arrival_order(which):
    ds = journeys(300, 9, sales=True)
    mapping = product_mapping(9) if which == "full" else partial(9)
    answers = expected(ds, mapping=mapping)
    fallback = [r for a in sales_answers(answers) if a.relation == "purchase_funnel"
                for r in a.rows if not r[3]]
    assert fallback  # the unmapped products' rows are compared too
    for order, fold_at in ((ds, 1), (shuffled(ds, 1), 10**9), (shuffled(ds, 2), 2500)):
        store = Store(":memory:", fold_at=fold_at)
        mapped(store, mapping)
        load(store, order, batch_size=997)
        assert_views(rows_of(store), answers)
        store.close()


@pytest.mark.slow
def test_large_sales_run_straight_into_duckdb_equals_the_oracle(tmp_path: Path):
    ds = shuffled(journeys(*LARGE, sales=True), 5)
    mapping = partial(LARGE[1])
    answers = expected(ds, mapping=mapping)
    store = Store(tmp_path / "large.duckdb")
    mapped(store, mapping)
    load(store, ds)
    assert all(a.rows for a in sales_answers(answers))
    assert_views(rows_of(store), answers)
    invoices = store.query("select count(distinct invoice_id) from commerce_events")[1][0][0]
    store.close()
    print(f"\nsales large: learners={LARGE[0]} deliveries={len(ds)} invoices={invoices}")


def test_forget_and_refold_keep_the_folded_sales_state_equal_to_the_oracle(tmp_path):
    """Folded at every batch: a buyer with a refund request and learning is forgotten, with
    another buyer's refund event and a third's lesson completion that also name her (in their
    body): that invoice and that buyer's refund progress are refolded from what is left. Every
    sales view then equals the oracle without those events, the folded state equals a refold
    from every row (`rebuild`), and so do the views after it."""
    import msgspec

    from consumer import control
    from consumer.store.suppression import use_key

    ds = journeys(300, 9, sales=True)
    mapping = product_mapping(9)
    sales = [d for d in ds if d.event.sale is not None]
    asked = {d.event.learner: d.event.at for d in sales if d.event.action == "waiting_refund"}
    # The buyer with the most lessons completed before her refund request.
    her = max(asked, key=lambda who: (sum(
        1 for d in ds if d.event.learner == who and d.event.action == "lesson_completed"
        and d.event.at < asked[who]), who.email))
    other = next(d for d in sales if d.event.learner != her and d.event.action == "refunded")
    # And a lesson another refund-asking buyer completed before asking: their progress then.
    lesson = next(d for d in ds if d.event.learner not in (her, other.event.learner)
                  and d.event.learner in asked and d.event.action == "lesson_completed"
                  and d.event.at < asked[d.event.learner])
    uids = {identity(other), identity(lesson)}
    mentioning = [msgspec.structs.replace(d, body=d.body[:-1] + b', "note": "' +
                                          her.email.encode() + b'"}')
                  if identity(d) in uids else d for d in ds]
    store = Store(tmp_path / "learnstream.duckdb", fold_at=50)
    use_key(store, "test-pseudonym-key-0123456789")
    mapped(store, mapping)
    # Batches of 1000 (each folded, as fold_at is 50): the state is folded when she is
    # forgotten; batches of 200 only made five times the folds (~0.3 s each, fixed).
    load(store, mentioning, batch_size=1000)
    folded = "select count(*) from refund_progress_folded where buyer_key = $1"
    assert store.query(folded, [her.email])[1] != [(0,)]
    control.apply(store, "forget", {"people": [[f"email:{her.email}"]]})
    assert store.query(folded, [her.email])[1] == [(0,)]
    assert store.query("select count(*) from invoice_state_folded where buyer_key = $1",
                       [her.email])[1] == [(0,)]
    kept = [d for d in ds if d.event.learner != her and identity(d) not in uids]
    answers = sales_answers(expected(kept, mapping=mapping))
    assert_views(rows_of(store), answers)
    store.fold()
    state = ("select * from invoice_state_folded order by all",
             # a refold also keeps lessons with no completion before the request: no answer
             "select * from refund_progress_folded where completed is not null order by all",
             "select * from purchase_state_folded order by all")
    after_forget = [store.query(sql)[1] for sql in state]
    with store.transaction():
        store.refold()
    assert [store.query(sql)[1] for sql in state] == after_forget  # as if never stored
    assert_views(rows_of(store), answers)
    store.close()


SCRATCH = -2**63  # a `since` before every row: the state macros compute from scratch


def assert_purchase_state_folded(store: Store) -> None:
    """The folded purchase x course rows (sql/state/81) equal a computation from every row,
    and so do the rows the views read with nothing pending."""
    folded = store.query("select * from purchase_state_folded order by all")[1]
    assert folded
    scratch = store.query("select * exclude (unfolded) from purchase_state($1) order by all",
                          [SCRATCH])[1]
    assert folded == scratch
    assert store.query("select * exclude (changed) from purchase_rows(commerce_fold_since()) "
                       "order by all")[1] == scratch


def assert_invoice_changes(store: Store) -> None:
    """invoice_changes (sql/state/60), what purchase_rows and refund_progress tell a moved
    invoice by: each invoice with invoice events pending, as a computation from every row has
    it now, beside its folded row's seller, buyer, products, payment and refund request."""
    pending = ("select distinct invoice_id from commerce_events where stored_seq >= "
               "commerce_fold_since() and event_type like 'myeduzz.invoice_%'")
    changes = store.query("select * from invoice_changes(commerce_fold_since()) order by all")
    assert changes[1]
    now = [c for c in changes[0] if not c.startswith("was_")]
    assert [r[:len(now)] for r in changes[1]] == store.query(
        f"select {', '.join(now)} from invoice_state($1) "
        f"where invoice_id in ({pending}) order by all", [SCRATCH])[1]
    assert [(r[0], *r[len(now):]) for r in changes[1]] == store.query(
        "select invoice_id, f.school_key, f.buyer_key, f.product_ids, f.paid_at, "
        f"f.refund_asked_at from ({pending}) left join invoice_state_folded f "
        "using (invoice_id) order by all")[1]


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_the_folded_purchase_state_equals_a_recomputation_in_any_order(seed):
    """Folded every 700 rows while the events arrive (in order, or shuffled: refunds before
    payments, lessons before purchases), with half the products mapped, then the rest mapped
    while rows are pending (`products map` on a running consumer): the views equal the oracle
    of the full mapping before and after the next fold, and the folded purchase state equals
    one computed from scratch, as after `rebuild`."""
    ds = journeys(300, 9, sales=True)
    order = ds if seed is None else shuffled(ds, seed)
    full, part = product_mapping(9), partial(9)
    store = Store(":memory:", fold_at=700)
    mapped(store, part)
    load(store, order[:len(order) * 2 // 3], batch_size=499)
    store.fold()
    assert_purchase_state_folded(store)
    assert_views(rows_of(store), sales_answers(expected(order[:len(order) * 2 // 3],
                                                       mapping=part)))
    load(store, order[len(order) * 2 // 3:], batch_size=499)
    mapped(store, [m for m in full if m not in part])
    answers = sales_answers(expected(ds, mapping=full))
    assert store.query("select count(*) from mapping_state(0) where unfolded")[1] != [(0,)]
    assert_invoice_changes(store)
    assert_views(rows_of(store), answers)  # the new mapping, merged at read time
    store.fold()
    assert store.query("select count(*) from mapping_state(0) where unfolded")[1] == [(0,)]
    assert_purchase_state_folded(store)
    assert_views(rows_of(store), answers)
    with store.transaction():
        store.refold()
    assert_purchase_state_folded(store)
    assert_views(rows_of(store), answers)
    store.close()


def _hand_batch(first: int, rows: list[LearningRow | CommerceRow]) -> Batch:
    """`rows` as one batch of a source's messages at offsets from `first` on."""
    batch = Batch()
    for i, row in enumerate(rows, first):
        learning = isinstance(row, LearningRow)
        raw = RawRow(f"eduzz:hand{i}", "eduzz", row.event_type, row.occurred_at, None, "{}",
                     0, i)
        batch.add(0, i, Decoded(raw, [row] if learning else [],
                                [] if learning else [row], None))
    return batch


def test_a_fold_writes_back_every_row_of_a_changed_invoice_and_no_vanished_one():
    """The fold reads purchase_state_touched (sql/state/81), not every purchase row, and
    replaces an invoice's rows together: an invoice of two products where only one course's
    learning moves is written back with its unchanged sibling row (else the fold's delete by
    invoice drops it), and one whose products change loses the row of the product it no
    longer names."""
    t = datetime(2024, 5, 1, tzinfo=UTC)

    def paid(invoice: str, buyer: str, ids: list[str], at: datetime) -> CommerceRow:
        return CommerceRow(f"eduzz:{invoice}:{len(ids)}", "myeduzz", "myeduzz.invoice_paid",
                           at, buyer_key=buyer, invoice_id=invoice, status="paid",
                           product_ids=ids, amount=Decimal("10.00"), currency="BRL",
                           school_key="myeduzz:9")

    def learned(buyer: str, course: str, action: str, at: datetime) -> LearningRow:
        lesson = f"{course}:l1" if action.startswith("lesson") else None
        return LearningRow(f"{buyer}:{course}:{action}", "alpaclass", "alpaclass.x", action,
                           at, at, learner_key=buyer, course_key=course,
                           module_key=lesson and f"{course}:m1", lesson_key=lesson)

    store = Store(":memory:", fold_at=10**9)
    mapped(store, [("myeduzz:9", "P1", "alpaclass:c1"), ("myeduzz:9", "P2", "alpaclass:c2")])
    store.write(_hand_batch(1, [
        paid("i1", "b@x.com", ["P1", "P2"], t), paid("i2", "c@x.com", ["P1", "P2"], t),
        *(learned(b, c, "enrolled", t + timedelta(hours=1))
          for b in ("b@x.com", "c@x.com") for c in ("alpaclass:c1", "alpaclass:c2"))]), "hand")
    store.fold()
    assert store.query("select invoice_id, count(*) from purchase_state_folded "
                       "group by all order by all")[1] == [("i1", 2), ("i2", 2)]
    store.write(_hand_batch(100, [  # b learns on c1 only; i2 now names P1 alone
        learned("b@x.com", "alpaclass:c1", "lesson_completed", t + timedelta(hours=2)),
        paid("i2", "c@x.com", ["P1"], t + timedelta(minutes=5))]), "hand")
    since = "commerce_fold_since()"
    whole = store.query(f"select * from purchase_state({since}) where unfolded "
                        "order by all")[1]
    assert [(r[0], r[3]) for r in whole] == [
        ("i1", "alpaclass:c1"), ("i1", "alpaclass:c2"), ("i2", "alpaclass:c1")]
    assert store.query(f"select * from purchase_state_touched({since}) where unfolded "
                       "order by all")[1] == whole
    store.fold()
    assert store.query("select invoice_id, course_key, lessons_completed "
                       "from purchase_state_folded order by all")[1] == [
        ("i1", "alpaclass:c1", 1), ("i1", "alpaclass:c2", 0), ("i2", "alpaclass:c1", 0)]
    assert_purchase_state_folded(store)
    store.close()


def test_a_fold_takes_a_refund_request_s_progress_from_the_folded_lessons_only_when_exact():
    """refund_progress (sql/state/70) reads the folded lesson state of a buyer whose request
    moved, instead of all their events, only when course_state_folded says all their folded
    learning came before the request (in a fold: its scoped copy, which holds the buyer
    through refund_progress_learners even with no learning row pending and no payment). A
    buyer who uncompleted the lesson after asking is recomputed from the events (completed
    when asked); one whose request follows all their folded learning gets the folded lesson
    merged with the pending ones (before the request: counted; after: a row all null). Both
    equal a recomputation from scratch."""
    t = datetime(2024, 5, 1, tzinfo=UTC)

    def asked(invoice: str, buyer: str, at: datetime) -> CommerceRow:
        return CommerceRow(f"eduzz:{invoice}:r", "myeduzz", "myeduzz.invoice_waiting_refund",
                           at, buyer_key=buyer, invoice_id=invoice, status="waiting_refund",
                           product_ids=["P1"], amount=Decimal("10.00"), currency="BRL",
                           school_key="myeduzz:9")

    def learned(buyer: str, lesson: str, action: str, at: datetime) -> LearningRow:
        return LearningRow(f"{buyer}:{lesson}:{action}", "alpaclass", "alpaclass.x", action,
                           at, at, learner_key=buyer, course_key="alpaclass:c1",
                           module_key="alpaclass:c1:m1", lesson_key=f"alpaclass:c1:{lesson}")

    h = timedelta(hours=1)
    store = Store(":memory:", fold_at=10**9)
    store.write(_hand_batch(1, [
        learned("b@x.com", "l1", "lesson_completed", t + h),
        learned("b@x.com", "l1", "lesson_uncompleted", t + 3 * h),  # after her request
        learned("c@x.com", "l1", "lesson_completed", t + h)]), "hand")
    store.fold()
    store.write(_hand_batch(100, [
        asked("i1", "b@x.com", t + 2 * h), asked("i2", "c@x.com", t + 2 * h),
        learned("c@x.com", "l2", "lesson_completed", t + 1.5 * h),
        learned("c@x.com", "l3", "lesson_completed", t + 4 * h)]), "hand")
    read = ("select invoice_id, lesson_key, completed from refund_progress_folded "
            "order by all")
    want = [("i1", "alpaclass:c1:l1", True), ("i2", "alpaclass:c1:l1", True),
            ("i2", "alpaclass:c1:l2", True), ("i2", "alpaclass:c1:l3", None)]
    assert store.query("select invoice_id, lesson_key, completed from "
                       "refund_progress(commerce_fold_since()) order by all")[1] == want
    store.fold()
    assert store.query(read)[1] == want
    folded = store.query("select * from refund_progress_folded order by all")[1]
    with store.transaction():
        store.refold()
    assert store.query("select * from refund_progress_folded order by all")[1] == folded
    store.close()


def stored_sales_run(tmp_path: Path) -> tuple[Path, list]:
    """A closed store holding a small mapped sales run, and the oracle's answers for it: the
    starting point of the tests that turn it into a store an older version left."""
    ds = journeys(120, 9, sales=True)
    mapping = product_mapping(9)
    path = tmp_path / "learnstream.duckdb"
    store = Store(path)
    mapped(store, mapping)
    load(store, ds)
    store.close()
    return path, sales_answers(expected(ds, mapping=mapping))


def test_a_store_from_before_the_purchase_state_fills_it_on_open(tmp_path):
    """A store made before sql/state/80-81 (main at 5429369: everything folded, no
    mapping_state or purchase_state table): both are filled from every row when the consumer
    opens it, and the sales views answer as before."""
    path, answers = stored_sales_run(tmp_path)
    with duckdb.connect(str(path)) as con:  # as the code before them left it
        for view in ("purchase_courses", "purchase_steps", "buyers_not_started",
                     "refunds_by_progress", "time_to_first_lesson", "revenue_per_completion",
                     "purchase_funnel"):
            con.execute(f"drop view {view} cascade")
        con.execute("drop macro table purchase_funnel_between")
        for table in ("mapping_state_folded", "purchase_state_folded"):
            con.execute(f"drop table {table}")
    store = Store(path, fold_at=10**9)
    assert store.query("select (select count(*) from mapping_state_folded), "
                       "(select count(*) from mapping_state(0) where unfolded)")[1] == [
        (len(product_mapping(9)), 0)]
    assert_purchase_state_folded(store)
    assert_views(rows_of(store), answers)
    store.close()


def test_a_store_from_before_the_invoice_state_builds_it(tmp_path):
    """A store made before invoice_state and refund_progress (no commerce stored_seq, no
    commerce mark, learning state folded): its commerce rows are pending on open, the sales
    state tables are filled from every row on open (state.fill_new), the views merge the
    pending rows at read time all the same, and the next fold moves the mark past them."""
    path, answers = stored_sales_run(tmp_path)
    with duckdb.connect(str(path)) as con:  # as the code before them left it
        con.execute("alter table commerce_events drop column stored_seq")
        con.execute("alter table fold_mark drop column commerce_next_seq")
        for state in ("invoice_state", "refund_progress"):
            con.execute(f"drop table {state}_folded")
    store = Store(path, fold_at=10**9)
    pending = ("select (select count(*) from commerce_events "
               "where stored_seq >= commerce_fold_since()), "
               "(select count(*) from invoice_state_folded), "
               "(select count(*) from refund_progress_folded)")
    commerce = store.query("select count(*) from commerce_events")[1][0][0]
    invoices = store.query("select count(distinct invoice_id) from commerce_events "
                           "where event_type like 'myeduzz.invoice_%'")[1][0][0]
    assert store.query(pending)[1][0][:2] == (commerce, invoices) and invoices > 0
    assert_views(rows_of(store), answers)
    store.fold()
    assert store.query(pending)[1][0][0] == 0
    assert all(n > 0 for n in store.query(pending)[1][0][1:])
    assert_views(rows_of(store), answers)
    store.close()


def test_products_commands_without_a_consumer(tmp_path, capsys):
    store = Store(tmp_path / "learnstream.duckdb")
    store.write(_invoice_batch(), "t")
    store.close()
    data = ["--data-dir", str(tmp_path)]
    cli("products", "map", "P1", "nutror:abc", *data)  # the seller from its invoices
    assert "mapped 1 product-course pairs (0 already mapped)" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("product_id,course_key\nP1,toolzz:9\nP2,toolzz\n")
    with pytest.raises(SystemExit) as exit_:
        cli("products", "load", str(bad), *data)
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err == (f"learnstream products: {bad} line 3: course_key 'toolzz' is not "
                   "<platform>:<course id> with platform one of alpaclass, nutror, toolzz\n")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("product_id,course_key\nP1,toolzz:9\nP9,toolzz:9\n")
    with pytest.raises(SystemExit):
        cli("products", "load", str(unknown), *data)
    assert "no invoice names product 'P9' yet" in capsys.readouterr().err
    cli("products", "list", *data)
    out = capsys.readouterr().out
    assert "nutror:abc" in out and "toolzz:9" not in out  # the refused load left nothing
    with ReadOnly(tmp_path / "learnstream.duckdb") as db:
        assert db.query("select school_key, product_id, course_key from product_courses"
                        )[1] == [("myeduzz:9", "P1", "nutror:abc")]


def _invoice_batch():
    t = datetime(2024, 5, 1, tzinfo=UTC)
    row = CommerceRow("eduzz:i1", "myeduzz", "myeduzz.invoice_paid", t, buyer_key="a@x.com",
                      invoice_id="i1", status="paid", product_ids=["P1"],
                      amount=Decimal("10.00"), currency="BRL", school_key="myeduzz:9")
    batch = Batch()
    batch.add(0, 0, Decoded(RawRow("eduzz:i1", "eduzz", "myeduzz.invoice_paid", t, None, "{}",
                                   0, 0), [], [row], None))
    return batch


def test_report_sales_reads_the_snapshot(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    store = Store(tmp_path / "learnstream.duckdb")
    mapped(store, product_mapping(9))
    load(store, journeys(120, 9, sales=True))
    publish(store, tmp_path / "analytics.duckdb")
    funnel = store.query("""select product_id, course_key, reached from purchase_funnel
                            where step_number = 1 order by reached desc, product_id,
                            course_key limit 1""")[1][0]
    course = funnel[1]
    store.close()
    cli("report", "--sales", "--data-dir", str(tmp_path), "--limit", "50")
    out = capsys.readouterr().out
    for title in ("Purchase funnel", "Buyers not started", "Refunds by progress",
                  "Time from payment", "Net revenue"):
        assert title in out, title
    top = next(line for line in out.splitlines() if funnel[0] in line and course in line)
    assert top.split()[:3] == [funnel[0], course, str(funnel[2])]
    cli("report", "--sales", "--course", course, "--data-dir", str(tmp_path))
    one = capsys.readouterr().out
    section = one[one.index("Purchase funnel"):one.index("Buyers not started")]
    assert course in section and "(unmapped)" not in section
