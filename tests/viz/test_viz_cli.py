"""minilm viz attention|embeddings|graph and minilm plot on a tiny trained run (trained once here)."""
import shutil
import xml.etree.ElementTree as ET

import pytest

from minilm.cli import main
from minilm.data import load_corpus
from minilm.train.config import config_from
from minilm.train.loop import Trainer

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"
TINY = dict(n_layer=2, n_head=2, n_embd=16, block_size=16, batch_size=4, eval_iters=1, progress=False,
            warmup_iters=2, lr_decay_iters=12, max_iters=12, eval_interval=6)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("viz")
    corpus = folder / "corpus.txt"
    corpus.write_text(load_corpus("shakespeare")[:20_000])
    out = folder / "out"
    Trainer(config_from(overrides=dict(TINY, data=str(corpus), out_dir=str(out)))).run()
    return out


def test_attention_writes_a_grid_of_heatmaps(run, tmp_path, capsys):
    path = tmp_path / "att.png"
    assert main(["viz", "attention", "--out", str(run), "--prompt", "ROMEO:", "--save", str(path)]) == 0
    assert path.read_bytes().startswith(PNG) and f"wrote {path}" in capsys.readouterr().out
    one = tmp_path / "one.png"
    assert main(["viz", "attention", "--out", str(run), "--prompt", "ROMEO:", "--layer", "1", "--head", "0",
                 "--save", str(one)]) == 0
    assert one.read_bytes().startswith(PNG) and one.stat().st_size < path.stat().st_size


@pytest.mark.parametrize("flag, what", [("--layer", "2 layers"), ("--head", "2 heads")])
def test_out_of_range_layer_or_head_is_one_clear_line(run, tmp_path, capsys, flag, what):
    assert main(["viz", "attention", "--out", str(run), flag, "5", "--save", str(tmp_path / "a.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"minilm viz: {flag} 5 is out of range: the model has {what} (0 to 1)"
    assert not (tmp_path / "a.png").exists()


def test_embeddings_writes_a_labelled_scatter(run, tmp_path):
    path = tmp_path / "emb.png"
    assert main(["viz", "embeddings", "--out", str(run), "--save", str(path)]) == 0
    assert path.read_bytes().startswith(PNG)


def test_graph_of_one_training_step(run, tmp_path, capsys):
    if not shutil.which("dot"):
        pytest.skip("Graphviz's dot program is not installed (.ci/run installs it)")
    path = tmp_path / "graph.svg"
    assert main(["viz", "graph", "--out", str(run), "--save", str(path), "--tokens", "4"]) == 0
    printed = capsys.readouterr().out
    assert "on 1 x 4 tokens" in printed and f"wrote {path}" in printed
    svg = path.read_text()
    assert ET.fromstring(svg).tag.endswith("svg")
    assert "transformer.h.1.attn (CausalSelfAttention)" in svg and "grad: mean" in svg
    png = tmp_path / "graph.png"
    assert main(["viz", "graph", "--out", str(run), "--save", str(png)]) == 0 and png.read_bytes().startswith(PNG)


def test_plot_has_loss_lr_grad_norm_and_speed_panels(run, tmp_path, capsys):
    from minilm.viz import plot_training
    path = tmp_path / "curves.png"
    assert main(["plot", str(run), "--png", str(path)]) == 0 and path.read_bytes().startswith(PNG)
    figure = plot_training(run / "log.jsonl")
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == ["loss", "learning rate", "gradient norm (before clipping)", "tokens / s"]
    lr_line = figure.axes[1].lines[0]
    assert len(lr_line.get_xdata()) == 12 and max(lr_line.get_ydata()) == pytest.approx(1e-3)


def test_a_folder_without_a_run_is_one_clear_line(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert "log.jsonl: no training log here" in capsys.readouterr().err
    assert main(["viz", "embeddings", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("minilm viz: ")


def test_embeddings_of_a_bpe_run_label_the_decoded_tokens(run, tmp_path, monkeypatch):
    from minilm.cli import viz as viz_command
    out = tmp_path / "bpe"
    Trainer(config_from(overrides=dict(TINY, data=str(run.parent / "corpus.txt"), out_dir=str(out), tokenizer="bpe",
                                       bpe_vocab_size=270, max_iters=2, eval_interval=2))).run()
    drawn, original = {}, viz_command.plot_embeddings

    def spy(matrix, labels, path=None, title=""):
        drawn.update(labels=labels, rows=len(matrix))
        return original(matrix, labels, path, title)
    monkeypatch.setattr(viz_command, "plot_embeddings", spy)
    assert main(["viz", "embeddings", "--out", str(out), "--save", str(tmp_path / "bpe.png")]) == 0
    assert (tmp_path / "bpe.png").read_bytes().startswith(PNG)
    assert drawn["rows"] == 270 and drawn["labels"][ord("a")] == "a" and drawn["labels"][0] == "\\x00"
    assert any(len(label) > 1 and "\\" not in label for label in drawn["labels"][256:])   # merged tokens


def test_titles_name_the_model_not_its_folder(run, tmp_path, monkeypatch):
    import minilm.cli.viz as viz_command
    titles = []
    for name in ("plot_attention", "plot_embeddings"):
        real = getattr(viz_command, name)
        monkeypatch.setattr(viz_command, name, lambda *a, real=real, **k: titles.append(k["title"]) or real(*a, **k))
    assert main(["viz", "attention", "--out", str(run), "--prompt", "ROMEO:", "--save", str(tmp_path / "a.png")]) == 0
    assert main(["viz", "embeddings", "--out", str(run), "--save", str(tmp_path / "e.png")]) == 0
    model = "GPT (2 layers x 16, 0.01M parameters, step 12)"
    assert titles == [f"attention of {model} on 'ROMEO:'", f"transformer.wte of {model}"]


def test_a_preset_run_is_named_by_its_preset():
    from minilm.train.trained import preset_of
    assert preset_of(config_from()) == "shakespeare-char"
    assert preset_of(config_from("shakespeare-modern", overrides={"max_iters": 10})) == "shakespeare-modern"
    assert preset_of(config_from("shakespeare-lstm", overrides={"cell": "gru"})) is None
