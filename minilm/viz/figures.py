"""matplotlib, only when a picture is drawn: figures made without pyplot, saved atomically.

Figures are built from matplotlib.figure.Figure directly rather than through pyplot, so
drawing needs no window system (it works on a server) and never changes the backend of a
notebook that calls these functions; the notebook can show the returned Figure itself.
"""
import os

from ..errors import UserError
from ..serialization import atomic_write


class MissingDependency(UserError, ImportError):
    """A package or program that drawing needs is not installed; the message says how to get it
    (the minilm command prints it as one line and exits 2)."""


def new_figure(width, height):
    """An empty Figure of width x height inches; a clear error when matplotlib is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependency("drawing pictures needs matplotlib: pip install 'minilm[viz]'") from None
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(figure, path, dpi=110):
    """Write the figure to path (.png, .svg or .pdf, from its name), atomically."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in (".png", ".svg", ".pdf"):
        raise ValueError(f"cannot save a picture as {path}: expected a file name ending in .png, .svg or .pdf")
    atomic_write(path, lambda tmp: figure.savefig(tmp, format=extension[1:], dpi=dpi,
                                                      bbox_inches="tight", pad_inches=0.15))
