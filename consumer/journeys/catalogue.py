"""The simulated catalogue: courses on AlpaClass, Nutror and Toolzz, with modules and lessons.

Ids have each platform's real form: AlpaClass 32-hex, Nutror a 40-hex course `hash` and
numeric-string lesson and module ids, Toolzz JSON numbers (kept here as digit strings).
"""

from __future__ import annotations

from random import Random

import msgspec

PLATFORMS = ("alpaclass", "nutror", "toolzz")
TITLES = {
    "alpaclass": ["Day trade para iniciantes", "Excel do zero ao avançado",
                  "Princípios da Programação Orientada a Objetos"],
    "nutror": ["Marketing digital na prática", "Fotografia com celular",
               "Finanças pessoais descomplicadas"],
    "toolzz": ["Inglês para viagens", "Confeitaria artesanal", "Violão popular"],
}
SCHOOLS = {"alpaclass": "Escola de Teste", "nutror": "fulano@eduzz.com",
           "toolzz": "Instituto Toolzz"}


class Lesson(msgspec.Struct, frozen=True):
    """A lesson: its platform id and name."""
    id: str
    name: str


class Module(msgspec.Struct, frozen=True):
    """A module and its lessons, in order."""
    id: str
    name: str
    lessons: tuple[Lesson, ...]


class Course(msgspec.Struct, frozen=True):
    """One course; `school_id` is the AlpaClass team, the Nutror producer e-mail or the
    Toolzz institution."""

    platform: str
    id: str
    name: str
    school_id: str
    school_name: str
    modules: tuple[Module, ...]

    @property
    def lessons(self) -> tuple[Lesson, ...]:
        """Every lesson, in the course's order."""
        return tuple(lesson for m in self.modules for lesson in m.lessons)

    def module_of(self, lesson: Lesson) -> Module:
        """The module holding `lesson`."""
        return next(m for m in self.modules if lesson in m.lessons)


def _hex(rng: Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def _number(rng: Random, digits: int) -> str:
    return str(rng.randrange(10 ** (digits - 1), 10**digits))


def catalogue(rng: Random) -> tuple[Course, ...]:
    """Three courses per platform, 2-4 modules of 2-5 lessons each (Toolzz: 6-14 lessons in
    one module, since its events never name a module)."""
    courses: list[Course] = []
    for platform in PLATFORMS:
        school = _hex(rng, 32) if platform == "alpaclass" else _number(rng, 5)
        for title in TITLES[platform]:
            if platform == "toolzz":
                shape = [rng.randint(6, 14)]
            else:
                shape = [rng.randint(2, 5) for _ in range(rng.randint(2, 4))]
            modules = []
            for m, size in enumerate(shape, 1):
                lessons = tuple(Lesson(_lesson_id(rng, platform), f"Aula {m}.{i} - {title}")
                                for i in range(1, size + 1))
                module_id = _hex(rng, 32) if platform == "alpaclass" else _number(rng, 4)
                modules.append(Module(module_id, f"Módulo {m}", lessons))
            course_id = {"alpaclass": _hex(rng, 32), "nutror": _hex(rng, 40),
                         "toolzz": _number(rng, 6)}[platform]
            school_id = SCHOOLS["nutror"] if platform == "nutror" else school
            courses.append(Course(platform, course_id, title, school_id, SCHOOLS[platform],
                                  tuple(modules)))
    return tuple(courses)


def _lesson_id(rng: Random, platform: str) -> str:
    return _hex(rng, 32) if platform == "alpaclass" else _number(rng, 5)
