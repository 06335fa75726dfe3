"""One learner on one course: enrolment, lessons roughly in order in sessions, extras, and
completion or drop-off. Within a journey every event is at least a second after the
previous one (or scheduled ahead without moving the clock), so the current-state rule never
needs its arrival tie-break.
"""

from __future__ import annotations

from random import Random

from consumer.journeys.catalogue import Course, Lesson, Module
from consumer.journeys.events import Event, Learner, utc

HOUR, DAY = 3600, 86400
COMMENTS = ["Adorei a aula!", "Não entendi a parte final.", "Muito útil, obrigado."]


class Journey:
    """One learner on one course, from enrolment to completion or drop-off."""

    def __init__(self, rng: Random, learner: Learner, course: Course, t: int,
                 out: list[Event]) -> None:
        self.rng, self.learner, self.course, self.t, self.out = rng, learner, course, t, out
        self.platform = course.platform
        self.done: set[Lesson] = set()
        self.modules_done: set[Module] = set()

    def emit(self, action: str, gap: tuple[int, int] = (1, 60), *, later: int = 0,
             module: Module | None = None, lesson: Lesson | None = None,
             also: tuple[Course, ...] = (), progress: float | None = None,
             rating: int | None = None, comment: str | None = None, known: bool = True) -> None:
        """An event `gap` seconds after the previous one; or, with `later`, that many seconds
        ahead without moving the journey's clock (a return visit, a flag, a change of mind)."""
        if later:
            at = self.t + later
        else:
            self.t += self.rng.randint(*gap)
            at = self.t
        self.out.append(Event(self.platform, action, utc(at), self.learner, self.course,
                              module, lesson, also, progress, rating, comment, known))

    def run(self, enrol: bool, also: tuple[Course, ...]) -> None:
        """The whole journey."""
        if enrol:
            self.emit("enrolled", (0, 0), also=also)
        if self.rng.random() < 0.12:  # enrolled, never came back
            self.flag_inactive()
            return
        persistence = self.rng.uniform(0.8, 0.99)
        lessons = self.in_rough_order()
        if not self.take(lessons, persistence):
            return
        if len(self.done) == len(lessons):
            self.finish()
        if self.platform == "alpaclass" and self.rng.random() < 0.25:
            self.emit("course_seen", later=self.rng.randint(2 * DAY, 30 * DAY))

    def in_rough_order(self) -> list[Lesson]:
        """The course's lessons, now and then two neighbours swapped."""
        lessons = list(self.course.lessons)
        for i in range(len(lessons) - 1):
            if self.rng.random() < 0.08:
                lessons[i], lessons[i + 1] = lessons[i + 1], lessons[i]
        return lessons

    def take(self, lessons: list[Lesson], persistence: float) -> bool:
        """Each lesson in turn; False when the learner drops off (then flagged inactive)."""
        for lesson in lessons:
            self.session()
            if self.rng.random() < 0.03:  # opens a lesson, leaves it half-way, never returns
                self.abandon(lesson)
                self.flag_inactive()
                return False
            self.lesson(lesson)
            self.extras(lesson)
            self.module_check(lesson)
            if self.platform == "alpaclass" and self.rng.random() < 0.05:
                self.undo(lesson)
            if self.rng.random() > persistence:
                self.flag_inactive()
                return False
        return True

    def session(self) -> None:
        """Next lesson in the same sitting, or a new session hours or days later."""
        if self.rng.random() < 0.6:
            self.t += self.rng.randint(60, 900)
            return
        self.t += self.rng.randint(4 * HOUR, 20 * HOUR) + int(self.rng.expovariate(1 / DAY))
        if self.platform == "alpaclass":
            self.emit("course_seen")
            if self.rng.random() < 0.03:  # a draft event name, renamed before publication
                self.emit("alpaclass.student_access_course", known=False)
        elif self.platform == "nutror" and self.rng.random() < 0.05:
            self.emit("community_viewed")

    def progress(self) -> float:
        """Share of the course's lessons done now, in percent."""
        return round(100 * len(self.done) / len(self.course.lessons), 2)

    def lesson(self, lesson: Lesson) -> None:
        """Take one lesson as the platform reports it: seen or started, then completed."""
        rng = self.rng
        if self.platform == "alpaclass":
            module = self.course.module_of(lesson)
            self.emit("lesson_seen", (5, 120), module=module, lesson=lesson,
                      progress=self.progress() if rng.random() < 0.3 else None)
            self.done.add(lesson)
            self.emit("lesson_completed", (180, 1800), module=module, lesson=lesson,
                      progress=self.progress() if rng.random() < 0.5 else None)
        elif self.platform == "nutror":
            self.emit("lesson_started", lesson=lesson)
            if rng.random() < 0.02:  # a milestone event Nutror no longer documents
                self.emit("nutror.complete_lesson_50", (60, 600), lesson=lesson, known=False)
            self.done.add(lesson)
            self.emit("lesson_completed", (180, 1800), lesson=lesson)
        else:
            self.done.add(lesson)
            self.emit("lesson_completed", (300, 2400), lesson=lesson, progress=self.progress())
            if rng.random() < 0.3:
                self.emit("activity_answered", (30, 600))

    def abandon(self, lesson: Lesson) -> None:
        """Open a lesson (or answer an activity) and leave it unfinished."""
        if self.platform == "alpaclass":
            self.emit("lesson_seen", module=self.course.module_of(lesson), lesson=lesson)
        elif self.platform == "nutror":
            self.emit("lesson_started", lesson=lesson)
        else:
            self.emit("activity_answered", (30, 600))

    def extras(self, lesson: Lesson) -> None:
        """Favourites (some taken back later), comments, ratings, downloads and notes."""
        rng = self.rng
        if self.platform == "alpaclass":
            module = self.course.module_of(lesson)
            if rng.random() < 0.1:
                self.emit("lesson_favorited", module=module, lesson=lesson)
                if rng.random() < 0.35:
                    self.emit("lesson_unfavorited", later=rng.randint(HOUR, 10 * DAY),
                              module=module, lesson=lesson)
            if rng.random() < 0.06:
                self.emit("comment_created", module=module, lesson=lesson,
                          comment=rng.choice(COMMENTS))
        elif self.platform == "nutror":
            for action, p in (("lesson_favorited", 0.06), ("lesson_rated", 0.2),
                              ("comment_created", 0.06), ("file_downloaded", 0.05),
                              ("note_created", 0.03)):
                if rng.random() < p:
                    rating = rng.choices(range(1, 6), [1, 1, 3, 6, 9])[0] \
                        if action == "lesson_rated" else None
                    self.emit(action, lesson=lesson, rating=rating)

    def module_check(self, lesson: Lesson) -> None:
        """Complete the lesson's module once all its lessons are done (AlpaClass, Nutror)."""
        module = self.course.module_of(lesson)
        if self.platform == "toolzz" or module in self.modules_done:
            return
        if all(x in self.done for x in module.lessons):
            self.modules_done.add(module)
            # Nutror names the lesson that completed the module, as its example does.
            self.emit("module_completed", (1, 30), module=module,
                      lesson=lesson if self.platform == "nutror" else None)

    def undo(self, lesson: Lesson) -> None:
        """AlpaClass: the learner un-marks the lesson (the module follows), and may redo it."""
        module = self.course.module_of(lesson)
        self.done.discard(lesson)
        self.emit("lesson_uncompleted", (60, 1200), module=module, lesson=lesson,
                  progress=self.progress())
        if module in self.modules_done:
            self.modules_done.discard(module)
            self.emit("module_uncompleted", (10, 120), module=module)
        if self.rng.random() < 0.5:
            self.done.add(lesson)
            self.emit("lesson_completed", (300, 3000), module=module, lesson=lesson)
            self.module_check(lesson)

    def finish(self) -> None:
        """Every lesson done: course completion, certificate, sometimes un-completion."""
        rng = self.rng
        if self.platform != "nutror":  # Nutror reports no course completion
            self.emit("course_completed", (5, 600))
        if rng.random() < 0.5:
            action = "certificate_issued" if self.platform == "toolzz" else "certificate_viewed"
            self.emit(action, (30, 3 * DAY))
        if self.platform == "alpaclass" and rng.random() < 0.1:
            self.emit("course_uncompleted", (HOUR, 5 * DAY))
            if rng.random() < 0.5:
                self.emit("course_completed", (HOUR, 3 * DAY))

    def flag_inactive(self) -> None:
        """Nutror flags a learner who stopped, 7, 15 or 30 days later."""
        if self.platform == "nutror":
            self.emit("inactivity_flagged", later=self.rng.choice([7, 15, 30]) * DAY)
