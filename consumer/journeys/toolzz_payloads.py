"""Toolzz LMS bodies, `{event: {name, slug, send_at}, data}`, shaped as the published
examples (tests/fixtures/toolzz/*) and, where none is published, the field lists of
Toolzz's webhook documentation. Ids are JSON numbers; `send_at` is local time without a zone."""

from __future__ import annotations

from datetime import datetime
from random import Random
from typing import Any

from consumer.journeys.events import ZONE, Event

Body = dict[str, Any]
SLUGS = {  # canonical action -> (slug, event.name)
    "enrolled": ("activities.course.enrollment", "Atividades - Nova matrícula"),
    "course_completed": ("activities.course.completed", "Atividades - Curso concluído"),
    "lesson_completed": ("activities.content.completed", "Atividades - Conteúdo"),
    "activity_answered": ("activities.answered.activity", "Atividades - Atividade respondida"),
    "certificate_issued": ("activities.certificate.issued", "Atividades - Certificado emitido"),
    "learner_registered": ("members.created", "Membros - Novo cadastro"),
    "members.disabled": ("members.disabled", "Inativação De Usuário"),  # not a known slug
}


def local(at: datetime, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A Toolzz time: local wall-clock time, no zone."""
    return at.astimezone(ZONE).strftime(fmt)


def toolzz(e: Event, rng: Random, institution: str) -> Body:
    """A Toolzz body; the event time is `event.send_at`."""
    slug, name = SLUGS[e.action]
    send_at = local(e.at)
    head: Body = {"name": name, "slug": slug, "send_at": send_at}
    learner = e.learner
    user: Body = {"id": learner.toolzz_id, "name": learner.name,
                  "email": learner.sent_email("toolzz")}
    person = user | {"cpf": "123.456.789-99", "nickname": None, "uuid": None}
    course: Body = {}
    if e.course is not None:
        institution = e.course.school_id
        course = {"id": int(e.course.id), "name": e.course.name}
    inst = {"id": int(institution)}
    data: Body
    if e.action in ("enrolled", "course_completed"):
        data = {"institution": inst, "course": course,
                "enrollment": {"id": rng.randrange(10**6), "date_expire": None,
                               "course_id": course["id"], "actived": 1, "status": 1},
                "user": person}
    elif e.action == "lesson_completed":
        assert e.lesson is not None, "a content completion names its lesson"
        data = {"user": user,
                "content": {"id": rng.randrange(10**6), "institution_id": inst["id"],
                            "school_id": rng.randrange(10**4), "course_id": course["id"],
                            "lesson_id": int(e.lesson.id), "content_id": None, "answer": None,
                            "correct": None, "explanation": None, "points": None,
                            "send_date": send_at, "delivered": 1, "current_time": None},
                "course": course | {"certificate_id": None, "progress": e.progress}}
    elif e.action == "activity_answered":
        data = {"institution": inst, "user": user | {"uuid": None}, "course": course,
                "content": {"id": rng.randrange(10**6), "type": 10,
                            "answer": f"uploads/answers/{rng.getrandbits(32):x}.pdf",
                            "correct": rng.choice([True, False]), "explanation": None,
                            "points": rng.randint(0, 10), "date_delivery": local(e.at, "%Y-%m-%d"),
                            "content_delivery": 1, "current_time": local(e.at, "%H:%M:%S")}}
    elif e.action == "certificate_issued":
        data = {"institution": inst, "user": person,
                "course": course | {"workload": "10h", "enrolled_at": None,
                                    "concluded_at": local(e.at, "%Y-%m-%d")},
                "school": {"id": rng.randrange(10**4), "name": "Escola Toolzz",
                           "managers": [{"manager_id": 1, "manager_name": "Gestor"}]},
                "certificate": {"certified_at": send_at, "type": "participation",
                                "approval_rate": 100}}
    elif e.action == "learner_registered":
        head["acao"] = "cadastro"
        schools = [{"id": rng.randrange(10**4), "role_id": 4,
                    "created_at": local(e.at, "%d/%m/%Y %H:%M:%S")}]
        data = {"user": person | {"date_of_birth": "1990-05-17",
                                  "institution": [{"id": inst["id"], "schools": schools}],
                                  "cnpj": None, "phone": "11999999999",
                                  "address": {"cep": "01001-000", "uf": "SP",
                                              "cidade": "São Paulo", "bairro": "Sé",
                                              "logradouro": "Praça da Sé", "numero": "1",
                                              "complemento": None}}}
    else:  # an unknown slug: just the user
        data = {"user": user}
    return {"event": head, "data": data}
