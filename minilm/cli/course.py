"""`minilm course`: the course's lessons with the learner's progress, the notebooks, the checks.

    minilm course [--lang zh]                  every lesson: its title and how many exercises pass
    minilm course build [--lang en|zh] [--execute] [--overwrite]   the lessons as .ipynb notebooks
                                               beside their sources (an existing one is kept)
    minilm course check 3 [--only NAME] [--solutions]   lesson 3's checks, with a hint for each failure

`check` exits 0 when every check passes, 1 when one fails (like a test runner), 2 on a wrong
lesson number. The lessons live in course/ (English) and course/zh/ (Simplified Chinese).
"""
import unicodedata

from ..course.build import build_notebook, execute_notebook, lesson_files
from ..course.checking import report, run_checks
from ..course.lessons import LANGUAGES, course_dir, lesson_path, lesson_title, lessons
from .parser import CommandParser


def course(argv):
    if argv and argv[0] == "build":
        return build(argv[1:])
    if argv and argv[0] == "check":
        return check(argv[1:])
    return list_lessons(argv)


def list_lessons(argv):
    p = CommandParser(prog="minilm course", description="The lessons and how many of their exercises pass. "
                      "Subcommands: build, check N.")
    p.add_argument("--lang", choices=LANGUAGES, default="en", help="the titles' language")
    args = p.parse_args(argv)
    folder = course_dir()
    zh = args.lang == "zh"
    print(f"课程位于 {folder}（生成 notebook：minilm course build；检查练习：minilm course check N）" if zh else
          f"the course in {folder} (notebooks: minilm course build; checks: minilm course check N)")
    for number in lessons(folder):
        path = lesson_path(number, args.lang, folder)
        title = lesson_title(path if path.exists() else lesson_path(number, "en", folder))
        results = run_checks(number, folder=folder)
        passed = sum(r.passed for r in results)
        if passed == len(results):
            status = "全部完成" if zh else "done"
        else:
            status = f"通过 {passed}/{len(results)} 道练习" if zh else f"{passed}/{len(results)} exercises pass"
        print(f"  {number:2d}  {title}{' ' * (58 - display_width(title))} {status}")
    return 0


def display_width(text):
    """Columns a terminal gives text: two for each wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def build(argv):
    p = CommandParser(prog="minilm course build", description="Turn the lessons into Jupyter notebooks.")
    p.add_argument("--lang", choices=LANGUAGES, help="one language (default: both)")
    p.add_argument("--execute", action="store_true", help="also run every notebook in a Python kernel")
    p.add_argument("--overwrite", action="store_true", help="replace existing notebooks (and your work in them)")
    args = p.parse_args(argv)
    folder = course_dir()
    for source in lesson_files(folder, [args.lang] if args.lang else LANGUAGES):
        target = build_notebook(source, args.overwrite)
        if target is None:
            print(f"kept {source.with_suffix('.ipynb').relative_to(folder.parent)} (it exists and may hold "
                  "your work; --overwrite replaces it)")
            continue
        if args.execute:
            execute_notebook(target)
        print(f"wrote {target.relative_to(folder.parent)}" + (" (executed)" if args.execute else ""))
    return 0


def check(argv):
    p = CommandParser(prog="minilm course check", description="Run one lesson's exercise checks.")
    p.add_argument("lesson", type=int, help="the lesson number, e.g. 3")
    p.add_argument("--only", help="run only the check of this name")
    p.add_argument("--solutions", action="store_true", help="check the reference solutions instead")
    p.add_argument("--lang", choices=LANGUAGES, default="en", help="the language of the hints")
    args = p.parse_args(argv)
    folder = course_dir()
    results = run_checks(args.lesson, solutions=args.solutions, only=args.only, folder=folder, language=args.lang)
    print(report(args.lesson, lesson_title(lesson_path(args.lesson, args.lang, folder)), results, args.lang))
    return 0 if all(r.passed for r in results) else 1
