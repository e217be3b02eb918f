"""Lessons (jupytext percent-format scripts) to Jupyter notebooks, and running a notebook in a kernel.

    course/01_autograd.py   ->  course/01_autograd.ipynb       (next to its source, so the
    course/zh/01_autograd.py -> course/zh/01_autograd.ipynb     relative links to minilm/ still work)

The notebooks are generated, never committed (.gitignore). A notebook that exists is a learner's
working copy (their answers, notes, outputs): it is kept unless `overwrite` is asked for. Needs the
`course` extra (jupytext; nbclient and ipykernel to execute).
"""
from pathlib import Path

from ..errors import UserError
from ..serialization import atomic_write
from .lessons import LANGUAGES, lesson_path, lessons


def _require(module, purpose):
    try:
        return __import__(module)
    except ImportError:
        raise UserError(f"{purpose} needs {module}; install the course extra: pip install -e '.[course]'") from None


def lesson_files(folder, languages=LANGUAGES, numbers=None):
    """The lesson sources, English first, for the languages and lesson numbers asked for."""
    numbers = sorted(lessons(folder)) if numbers is None else numbers
    return [lesson_path(n, language, folder) for language in languages for n in numbers
            if lesson_path(n, language, folder).exists()]


def build_notebook(source, overwrite=False):
    """Write source's .ipynb beside it and return its path; None if one exists and not `overwrite`."""
    jupytext = _require("jupytext", "building the notebooks")
    target = Path(source).with_suffix(".ipynb")
    if target.exists() and not overwrite:
        return None
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    text = jupytext.writes(notebook, fmt="ipynb")
    atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return target


def execute_notebook(path, timeout=600):
    """Run every cell of the notebook at `path` in a fresh Python kernel, in its own folder; the
    executed notebook, outputs included, replaces it. A failing cell raises nbclient's CellExecutionError."""
    nbformat = _require("nbformat", "running a notebook")
    _require("nbclient", "running a notebook")
    from nbclient import NotebookClient
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    atomic_write(path, lambda tmp: nbformat.write(notebook, tmp))
    return notebook
