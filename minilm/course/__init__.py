"""What a lesson of the course (course/NN_name.py) imports: its settings, its checks, its pictures.

    from minilm.course import FAST, DEVICE, check, show
    steps = 30 if FAST else 2000          # MINILM_COURSE_FAST=1: every lesson in seconds (the tests)
    check(1)                              # lesson 1's checks on course/exercises/01_*.py, with hints
    show(fig, "losses")                   # inline in Jupyter; a file with MINILM_COURSE_PICTURES=dir
    word2vec = example("word2vec")        # examples/word2vec.py as a module: a lesson reuses, never copies

DEVICE is `cpu` unless the lesson runs as a script with `--device cuda` (or `emu`), or
MINILM_COURSE_DEVICE says otherwise. The `minilm course` command (minilm/cli/course.py) lists the
lessons, builds the notebooks and runs the checks from the shell.
"""
import os
import sys

from .checking import run_checks, report
from .lessons import course_dir, lesson_path, lesson_title, load_module

FAST = os.environ.get("MINILM_COURSE_FAST") == "1"


def _device():
    if "--device" in sys.argv[:-1] and not sys.argv[0].endswith("ipykernel_launcher.py"):
        return sys.argv[sys.argv.index("--device") + 1]
    return os.environ.get("MINILM_COURSE_DEVICE", "cpu")


DEVICE = _device()


def _language():
    """zh when the lesson runs from course/zh/ (a notebook there, or `python course/zh/NN_name.py`)."""
    script = sys.argv[0] if sys.argv else ""
    folder = os.getcwd() if "ipykernel" in script else os.path.dirname(os.path.abspath(script))
    return "zh" if os.path.basename(folder) == "zh" else "en"


def check(number, only=None):
    """Print lesson `number`'s checks (or only the one named) on the learner's exercises, a hint under
    each failure. Returns nothing, so a notebook shows only the report."""
    language = _language()
    results = run_checks(number, only=only, language=language)
    path = lesson_path(number, language, course_dir())
    print(report(number, lesson_title(path), results, language))


def show(fig, name):
    """A matplotlib figure: inline in a notebook; saved as NAME.png in $MINILM_COURSE_PICTURES if set.

    A script never opens a window (it would stop the lesson until closed)."""
    import matplotlib.pyplot as plt
    folder = os.environ.get("MINILM_COURSE_PICTURES")
    if folder:
        os.makedirs(folder, exist_ok=True)
        fig.savefig(os.path.join(folder, f"{name}.png"), dpi=100, bbox_inches="tight")
    if "ipykernel" in sys.modules:
        plt.show()
    elif not folder:
        print(f"(picture {name!r}: open the notebook, or set MINILM_COURSE_PICTURES=folder to save it)")
    plt.close(fig)


def example(name):
    """examples/NAME.py of this checkout, imported as a module (its folder on sys.path, since an example
    may import another: glove.py uses word2vec.py's functions)."""
    folder = str(course_dir().parent / "examples")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return load_module(os.path.join(folder, f"{name}.py"), name)


CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "SimHei",
             "WenQuanYi Zen Hei", "Heiti SC", "Arial Unicode MS")


def use_cjk_font():
    """Draw Chinese characters with the first installed font that has them (else they are boxes, quietly).
    Returns the font's name, or None."""
    import warnings

    import matplotlib.pyplot as plt
    from matplotlib import font_manager
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found:
        plt.rcParams["font.family"] = [found, "DejaVu Sans"]
    else:
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
    return found
