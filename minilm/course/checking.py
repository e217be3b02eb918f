"""Running a lesson's checks on the learner's exercises, and saying what failed and how to fix it.

A check is a function `check_NAME(ex)` in course/checks/NN_name.py: `ex` is the learner's exercise
module (course/exercises/NN_name.py). Its docstring's first line says what it checks; it raises
`CheckFailed(message, hint)` when the answer is wrong. Anything else it raises (the stub's
NotImplementedError, a TypeError in the learner's code) is a failure too, reported in one line with
the check's `hint` attribute, never a traceback that hides the point.

    results = run_checks(1)                  # [Result(name, passed, message, hint), ...]
    print(report(1, results))
"""
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from .lessons import course_dir, exercise_folder, lesson_stem, load_module


class CheckFailed(AssertionError):
    def __init__(self, message, hint=""):
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass
class Result:
    name: str
    passed: bool
    message: str
    hint: str = ""


def expect_close(got, want, what, hint, atol=1e-6, rtol=1e-5):
    """Raise CheckFailed unless `got` has want's shape and values (to atol + rtol * |want|)."""
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64)
    want = np.asarray(want.numpy() if hasattr(want, "numpy") else want, dtype=np.float64)
    if got.shape != want.shape:
        raise CheckFailed(f"{what}: expected shape {want.shape}, got {got.shape}", hint)
    error = np.abs(got - want)
    bad = ~(error <= atol + rtol * np.abs(want))   # a nan is bad too
    if bad.any():
        at = np.unravel_index(int(np.argmax(bad)), want.shape) if want.ndim else ()
        where = f" at index {tuple(int(i) for i in at)}" if want.ndim else ""
        raise CheckFailed(f"{what}:{where} expected {want[at]:.6g}, got {got[at]:.6g}", hint)


def expect(condition, message, hint):
    if not condition:
        raise CheckFailed(message, hint)


def checks_of(number, folder=None):
    """[(name, function)] of lesson `number`'s checks, in the order they are written."""
    folder = folder or course_dir()
    stem = lesson_stem(number, folder)
    module = load_module(folder / "checks" / f"{stem}.py", f"minilm_course_checks_{stem}")
    return [(name[len("check_"):], fn) for name, fn in vars(module).items()
            if name.startswith("check_") and callable(fn)]


def run_checks(number, solutions=False, only=None, folder=None, language="en"):
    """Run lesson `number`'s checks (or the one named `only`) on the exercises (or the solutions);
    the hints in `language` where the check has them (`hint_zh`), else in English."""
    folder = folder or course_dir()
    stem = lesson_stem(number, folder)
    results = []
    for name, check in checks_of(number, folder):
        if only is not None and name != only:
            continue
        results.append(_run_one(name, check, exercise_folder(folder, solutions) / f"{stem}.py", stem, language))
    if only is not None and not results:
        names = ", ".join(name for name, _ in checks_of(number, folder))
        raise UserError(f"lesson {number} has no check {only!r}; its checks are {names}")
    return results


def _run_one(name, check, exercise_path, stem, language):
    hint = getattr(check, "hint", "")
    hint = getattr(check, f"hint_{language}", hint) if language != "en" else hint
    summary = (check.__doc__ or name).strip().splitlines()[0]
    try:
        # loaded anew for every check: an edit is seen at once, and one check cannot spoil another
        exercise = load_module(exercise_path, f"minilm_course_exercise_{stem}")
        check(exercise)
    except CheckFailed as failed:
        return Result(name, False, failed.message, hint or failed.hint)
    except NotImplementedError as error:
        not_yet = "还没有写" if language == "zh" else "not written yet"
        return Result(name, False, f"{not_yet} ({error})" if str(error) else not_yet, hint)
    except Exception as error:  # the learner's code may raise anything: report it in one line
        return Result(name, False, f"{type(error).__name__}: {error}", hint)
    return Result(name, True, summary)


WORDS = {"en": ("lesson", "checks pass", "hint"), "zh": ("第 {} 课", "项检查通过", "提示")}


def report(number, title, results, language="en"):
    """The lines a learner reads: one per check, a hint under each failure."""
    passed = sum(r.passed for r in results)
    lesson, pass_, hint = WORDS[language]
    heading = f"{lesson} {number:02d} {title}" if language == "en" else f"{lesson.format(number)} {title}"
    lines = [f"{heading}: {passed} / {len(results)} {pass_}"]
    for r in results:
        lines.append(f"  {'ok  ' if r.passed else 'FAIL'}  {r.name}: {r.message}")
        if not r.passed and r.hint:
            lines.append(f"        {hint}: {r.hint}")
    return "\n".join(lines)
