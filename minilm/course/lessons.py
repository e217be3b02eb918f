"""Where the course lives and what it holds: lessons, exercises, solutions and checks.

    course/NN_name.py              lesson NN in English (a jupytext percent-format script)
    course/zh/NN_name.py           the same lesson in Simplified Chinese (identical code cells)
    course/exercises/NN_name.py    the pieces the learner writes (stubs that raise NotImplementedError)
    course/solutions/NN_name.py    reference solutions, same names
    course/checks/NN_name.py       the checks: functions check_*(exercise_module), in order

The course folder is found in this order: $MINILM_COURSE_DIR; the current folder, its `course/`
or its parent (a notebook runs in course/ or course/zh/); the `course/` beside the minilm package
(a git checkout installed with `pip install -e .`).
"""
import importlib.util
import os
import re
import sys
from pathlib import Path

from ..errors import UserError

LANGUAGES = ("en", "zh")
LESSON_NAME = re.compile(r"^(\d\d)_(\w+)\.py$")


def course_dir():
    """The course folder (holding checks/ and exercises/), or a UserError that says where it looked."""
    here = Path.cwd()
    candidates = [Path(os.environ["MINILM_COURSE_DIR"])] if os.environ.get("MINILM_COURSE_DIR") else []
    candidates += [here, here / "course", here.parent, Path(__file__).resolve().parents[2] / "course"]
    for folder in candidates:
        if (folder / "checks").is_dir() and (folder / "exercises").is_dir():
            return folder.resolve()
    raise UserError("no course folder found (one holding checks/ and exercises/); run this in a git "
                    "checkout of minilm, or set MINILM_COURSE_DIR=path/to/course")


def lessons(folder=None):
    """{number: stem} of the English lessons, e.g. {1: '01_autograd', 2: '02_ops'}."""
    folder = folder or course_dir()
    found = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.py")):
        match = LESSON_NAME.match(path.name)
        if match:
            found[int(match.group(1))] = path.stem
    return found


def lesson_stem(number, folder=None):
    found = lessons(folder)
    if number not in found:
        raise UserError(f"there is no lesson {number}; the lessons are {', '.join(map(str, found))} "
                        f"(see `minilm course`)")
    return found[number]


def lesson_path(number, language="en", folder=None):
    folder = folder or course_dir()
    name = lesson_stem(number, folder) + ".py"
    return folder / name if language == "en" else folder / language / name


def lesson_title(path):
    """The lesson's first Markdown heading, without the '#'s and the 'Lesson N:' before it."""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("# # "):
            return re.sub(r"^(Lesson \d+:|第 ?\d+ ?课[:：])\s*", "", line[4:].strip())
    return Path(path).stem


def load_module(path, name):
    """Import a .py file by path under a fresh name (a learner's edited exercise is read anew each time)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop(name, None)
    spec.loader.exec_module(module)
    return module


def exercise_folder(folder, solutions=False):
    """course/exercises, or course/solutions (also chosen by MINILM_COURSE_SOLUTIONS=1)."""
    use_solutions = solutions or os.environ.get("MINILM_COURSE_SOLUTIONS") == "1"
    return folder / ("solutions" if use_solutions else "exercises")
