"""project_2d (PCA by SVD), token labels, the embeddings scatter."""
import numpy as np
import pytest

from minilm.tokenizers import BPETokenizer, CharTokenizer
from minilm.viz import plot_embeddings, project_2d, token_labels


def test_projection_is_the_top_two_principal_components(rng):
    E = rng.normal(size=(40, 6)) * np.array([5.0, 3.0, 1.0, 0.5, 0.2, 0.1]) + 7.0   # spread mostly in 2 axes
    coordinates, explained = project_2d(E)
    X = E - E.mean(0)
    eigenvalues, eigenvectors = np.linalg.eigh(X.T @ X)                      # ascending
    top = eigenvectors[:, ::-1][:, :2]
    top *= np.sign(top[np.abs(top).argmax(0), [0, 1]])                      # largest component positive
    np.testing.assert_allclose(coordinates, X @ top, atol=1e-9)
    np.testing.assert_allclose(explained, eigenvalues[::-1][:2] / eigenvalues.sum(), rtol=1e-9)
    assert explained.sum() > 0.9
    np.testing.assert_array_equal(project_2d(E)[0], coordinates)             # one matrix, one picture


def test_points_on_a_line_need_one_component():
    coordinates, explained = project_2d(np.outer(np.arange(5.0), [1.0, 2.0, 2.0]))
    np.testing.assert_allclose(explained, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(coordinates[:, 0], (np.arange(5.0) - 2) * 3, atol=1e-12)
    with pytest.raises(ValueError, match="at least 2 rows and 2 columns"):
        project_2d(np.ones(4))


def test_token_labels_make_whitespace_and_bytes_visible():
    chars = CharTokenizer.from_text("a b\n")
    assert token_labels(chars, chars.encode("a b\n")) == ["a", "␣", "b", "\\n"]
    bpe = BPETokenizer("gpt4").train("héllo héllo " * 20, 260)
    labels = token_labels(bpe, [0, ord("h"), 0xC3, 0xA9, 256])
    assert labels[:4] == ["\\x00", "h", "\\xc3", "\\xa9"] and len(labels[4]) >= 2


def test_scatter_labels_every_point(tmp_path, rng):
    pytest.importorskip("matplotlib")
    labels = [f"t{i}" for i in range(12)]
    figure = plot_embeddings(rng.normal(size=(12, 4)), labels, tmp_path / "e.png")
    ax = figure.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(labels)
    assert "principal component 1" in ax.get_xlabel() and "% of the variance" in ax.get_ylabel()
    assert (tmp_path / "e.png").read_bytes().startswith(b"\x89PNG")
