"""The course (course/): every check passes on the solutions and fails on the untouched stubs, the
Chinese lessons' code equals the English, every source link points at real lines, every lesson runs
as a script in fast mode, three notebooks run in a Jupyter kernel, and `minilm course` reports."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minilm.course.checking import report, run_checks
from minilm.course.lessons import LANGUAGES, lesson_path, lessons

COURSE = Path(__file__).resolve().parents[2] / "course"
LESSONS = lessons(COURSE)
SOURCES = [lesson_path(n, language, COURSE) for language in LANGUAGES for n in LESSONS]
FAST_ENV = {**os.environ, "MINILM_COURSE_FAST": "1", "MPLBACKEND": "Agg", "MINILM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(COURSE.parent), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize("number", LESSONS)
def test_every_check_passes_on_the_solutions(number):
    results = run_checks(number, solutions=True, folder=COURSE)
    assert 2 <= len(results) <= 4, f"lesson {number} has {len(results)} exercises; 2 to 4 wanted"
    assert all(r.passed for r in results), report(number, "(solutions)", results)


@pytest.mark.parametrize("number", LESSONS)
def test_every_check_fails_on_the_untouched_stubs(number):
    results = run_checks(number, folder=COURSE)
    assert not any(r.passed for r in results), report(number, "(stubs)", results)
    assert all(r.hint for r in results), "every check needs a hint"
    zh = run_checks(number, folder=COURSE, language="zh")
    assert all(re.search(r"[\u4e00-\u9fff]", r.hint) for r in zh), "every check needs a Chinese hint"


def cells(path):
    """[(kind, source)] of a percent-format lesson, the way jupytext reads it."""
    jupytext = pytest.importorskip("jupytext")
    return [(c.cell_type, c.source) for c in jupytext.read(path).cells]


@pytest.mark.parametrize("number", LESSONS)
def test_the_chinese_lesson_has_the_english_code_cells(number):
    en, zh = cells(lesson_path(number, "en", COURSE)), cells(lesson_path(number, "zh", COURSE))
    assert [kind for kind, _ in en] == [kind for kind, _ in zh], "the cells differ in number or kind"
    assert [s for k, s in en if k == "code"] == [s for k, s in zh if k == "code"]
    prose = "".join(s for k, s in zh if k == "markdown")
    assert len(re.findall(r"[\u4e00-\u9fff]", prose)) > 300, "the Chinese lesson's prose is not in Chinese"


LINK = re.compile(r"\[([^\]]*)\]\(([^)#\s]+\.py)#L(\d+)-L(\d+)\)")


def test_every_source_link_points_at_an_existing_file_and_line_range():
    count = 0
    for source in SOURCES:
        for text, target, first, last in LINK.findall(source.read_text(encoding="utf-8")):
            path, first, last = (source.parent / target).resolve(), int(first), int(last)
            assert path.is_file(), f"{source.name}: link to missing {target}"
            lines = path.read_text(encoding="utf-8").splitlines()
            assert 1 <= first <= last <= len(lines), f"{source.name}: {target} has no lines {first}-{last}"
            name = re.fullmatch(r"`(?:\w+\.)?(\w+)`", text)
            if name:  # a link named after a class or function must land on its definition
                assert re.search(rf"(class|def) {name.group(1)}\b", lines[first - 1]), \
                    f"{source.name}: {target}#L{first} is not where {name.group(1)} is defined"
            count += 1
    assert count >= 2 * len(LESSONS), "too few source links"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_the_lesson_runs_as_a_script_in_fast_mode(path):
    done = subprocess.run([sys.executable, path.name], cwd=path.parent, env=FAST_ENV,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "FAIL" in done.stdout, "the lesson should end by checking the (untouched) exercises"


NOTEBOOKS = [lesson_path(n, language, COURSE) for n, language in [(1, "en"), (2, "en"), (1, "zh")]]


def test_three_notebooks_run_in_a_jupyter_kernel(tmp_path, monkeypatch):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from minilm.course.build import build_notebook, execute_notebook
    for source in NOTEBOOKS:
        # a copy of the lesson where the real one lives would be, so its relative links and imports hold
        copy = tmp_path / source.relative_to(COURSE.parent)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        monkeypatch.setenv("MINILM_COURSE_FAST", "1")      # the kernel inherits the environment
        monkeypatch.setenv("MINILM_COURSE_DIR", str(COURSE))
        notebook = execute_notebook(build_notebook(copy))
        assert build_notebook(copy) is None, "an existing notebook (the learner's work) must be kept"
        outputs = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
        assert "checks pass" in outputs or "项检查通过" in outputs
        images = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
        assert images, f"{source.name}: no picture in the executed notebook"


def run_minilm(*args, **env):
    return subprocess.run([sys.executable, "-m", "minilm", "course", *args], env={**FAST_ENV, **env},
                          capture_output=True, text=True, timeout=300)


def test_minilm_course_lists_the_lessons_with_their_status():
    done = run_minilm()
    assert done.returncode == 0, done.stderr
    for number in LESSONS:
        assert re.search(rf"^\s+{number}\s+\S.*0/\d exercises pass$", done.stdout, re.M), done.stdout
    solved = run_minilm("--lang", "zh", MINILM_COURSE_SOLUTIONS="1")     # as if every exercise were written
    assert solved.returncode == 0, solved.stderr
    assert solved.stdout.count("全部完成") == len(LESSONS), solved.stdout


def test_minilm_course_check_prints_each_failure_with_a_hint():
    done = run_minilm("check", "1")
    assert done.returncode == 1
    assert "0 / 3 checks pass" in done.stdout and "hint: " in done.stdout
    assert run_minilm("check", "1", "--solutions").returncode == 0
    wrong = run_minilm("check", "99")
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "there is no lesson 99" in wrong.stderr
