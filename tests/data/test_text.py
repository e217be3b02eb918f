"""Raw text in: the bundled corpus, cleaning, labelled files, and splits."""
import numpy as np
import pytest

from minilm.data import clean_text, load_corpus, load_labeled, train_val_test_split


def test_bundled_corpus_and_files(tmp_path):
    text = load_corpus("shakespeare")
    assert len(text) == 1115394 and text.startswith("First Citizen:")
    (tmp_path / "t.txt").write_text("some text")
    assert load_corpus(str(tmp_path / "t.txt")) == "some text" == load_corpus(tmp_path / "t.txt")
    (tmp_path / "e.txt").write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_corpus(str(tmp_path / "e.txt"))
    with pytest.raises(FileNotFoundError, match="shakespeare"):
        load_corpus("no-such-corpus")


def test_clean_text_repairs_noise_only():
    raw = "Cafe\u0301\r\nHello,\x07   world!\n\n\n\nThe\u2028end\ufeff\x00"
    assert clean_text(raw) == "Café\nHello, world!\n\nThe\nend"
    family = "👨\u200d👩\u200d👧"                             # joined by zero-width joiners: kept
    assert clean_text(family) == family
    assert clean_text("a\t\tb  \n  c", collapse_whitespace=False) == "a\t\tb  \n  c"


def test_clean_text_options_for_classifiers():
    assert clean_text("The Cat, and THE dog.", lowercase=True, strip_punctuation=True,
                      remove_stopwords=True) == "cat dog"
    assert clean_text("Hello, World!", strip_punctuation=True) == "Hello World"


def test_splits():
    stream = np.arange(100)
    train, val, test = train_val_test_split(stream)
    assert len(train) == 90 and list(val) == list(range(90, 95)) and list(test) == list(range(95, 100))
    assert train_val_test_split("abcdefghij", (0.6, 0.2, 0.2)) == ("abcdef", "gh", "ij")
    examples = [(f"text {i}", i % 3) for i in range(20)]
    a = train_val_test_split(examples, (0.5, 0.25, 0.25), seed=1)
    b = train_val_test_split(examples, (0.5, 0.25, 0.25), seed=1)
    assert a == b and a[0] != examples[:10] and sorted(sum(a, [])) == sorted(examples)
    assert train_val_test_split(examples, (0.5, 0.25, 0.25), seed=2) != a
    with pytest.raises(ValueError, match="adding up to 1"):
        train_val_test_split(stream, (0.5, 0.5, 0.5))


def test_load_labeled(tmp_path):
    (tmp_path / "d.csv").write_text("text,label\nhello,1\n\"a, b\",0\n\"two\nlines\",1\n")
    assert load_labeled(tmp_path / "d.csv") == [("hello", "1"), ("a, b", "0"), ("two\nlines", "1")]
    (tmp_path / "d.jsonl").write_text('{"text": "x", "label": 2}\n\n{"text": "y", "label": 0}\n')
    assert load_labeled(tmp_path / "d.jsonl") == [("x", 2), ("y", 0)]
    (tmp_path / "s.csv").write_text("sentence,label\nok,1\n")
    assert load_labeled(tmp_path / "s.csv", text_field="sentence") == [("ok", "1")]


@pytest.mark.parametrize("name, content, message", [
    ("no_label.jsonl", '{"text": "x", "label": 2}\n{"text": "y"}\n', "line 2"),
    ("broken.jsonl", '{"text": "x", "label": 2}\n\n{"text": \n', "line 3"),
    ("short_row.csv", "text,label\nok,1\nmissing\n", "line 3"),
    ("header.csv", "sentence,label\nok,1\n", "line 1.*'sentence'"),
    ("d.tsv", "x", ".csv or .jsonl"),
])
def test_load_labeled_names_the_bad_line(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=message):
        load_labeled(tmp_path / name)
