"""Continuous batching (minilm/serve/engine.py): requests decoded together give what each gives alone."""
import threading

import numpy as np
import pytest

import minilm
from minilm.models import GPT, GPTConfig
from minilm.models.sampling import inference
from minilm.serve.batch_cache import BatchCache
from minilm.serve.engine import Engine, QueueFull, Request, SampleText
from minilm.tokenizers import CharTokenizer

TEXT = "abcdefghij klmnop\n"


def tiny(pos="learned", n_kv_head=None):
    minilm.manual_seed(0)
    return GPT(GPTConfig(vocab_size=len(TEXT), block_size=24, n_layer=2, n_head=4, n_embd=32, pos=pos,
                         n_kv_head=n_kv_head)).eval()


@pytest.mark.parametrize("pos, n_kv_head", [("learned", None), ("rope", 2)])
def test_rows_at_their_own_lengths_give_each_sequence_s_own_logits(pos, n_kv_head):
    model, rng = tiny(pos, n_kv_head), np.random.default_rng(0)
    prompts, steps = [rng.integers(0, len(TEXT), n) for n in (3, 9, 5)], rng.integers(0, len(TEXT), (4, 3))
    caches = [BatchCache(4, 24) for _ in range(2)]
    with inference(model):
        for row, prompt in enumerate(prompts):
            single = model.new_caches()
            model(minilm.tensor(prompt[None]), caches=single)
            for batch, cache in zip(caches, single):
                batch.put(row, cache.k[0, :, :cache.length], cache.v[0, :, :cache.length])
                batch.active = row + 1
        batched = [model(minilm.tensor(steps[t][:, None]), caches=caches)[0].numpy()[:, 0] for t in range(4)]
        for row, prompt in enumerate(prompts):
            whole = np.concatenate([prompt, steps[:, row]])[None]
            alone = model(minilm.tensor(whole))[0].numpy()[0, len(prompt):]          # (4, V)
            np.testing.assert_allclose(np.stack(batched)[:, row], alone, atol=2e-5)
    caches[0].remove(0)                                        # the last row moves into the freed one
    assert caches[0].active == 2 and list(caches[0].lengths[:3]) == [9, 13, 0]


def run(engine, requests):
    """Submit every request at once; return each one's texts and finish reasons, in order; stop the engine."""
    results, done = [], threading.Event()
    for request in requests:
        result = {"texts": [""] * request.n, "reasons": [None] * request.n}
        results.append(result)

        def emit(index, text, reason, result=result):
            result["texts"][index] += text
            if reason:
                result["reasons"][index] = reason
                if all(r for out in results for r in out["reasons"]):
                    done.set()
        request.emit = emit
    for request in requests:
        engine.submit(request)
    if not engine.thread.is_alive():                                    # (submitted before it ran: admitted together)
        engine.start()
    assert done.wait(60)
    engine.stop()
    return results


def requests():
    tok = CharTokenizer.from_text(TEXT)
    return tok, [Request(tok.encode("abc"), 8, temperature=0), Request(tok.encode("klmnop ab"), 5, temperature=0.9,
                                                                     seed=3, n=2),
                 Request(tok.encode("j"), 12, temperature=0.8, top_k=5, top_p=0.9, seed=7, stop=("k",))]


def test_requests_together_answer_as_they_would_alone():
    tok, batch = requests()
    together = run(Engine(tiny(), tok, max_batch=8).start(), batch)
    alone = [run(Engine(tiny(), tok, max_batch=2).start(), [request])[0] for request in requests()[1]]
    assert together == alone
    assert together[1]["texts"][0] != together[1]["texts"][1]          # n = 2: two samples of one prompt
    assert [len(t) for t in together[0]["texts"]] == [8] and together[0]["reasons"] == ["length"]
    assert "k" not in together[2]["texts"][0]                           # a stop string is never sent


@pytest.mark.parametrize("pos, n_kv_head", [("learned", None), ("rope", 2)])
def test_prompts_of_different_lengths_read_in_one_prefill_answer_as_alone(pos, n_kv_head):
    tok, batch = requests()
    engine, prefills = Engine(tiny(pos, n_kv_head), tok, max_batch=8), []
    prefill = engine._prefill
    engine._prefill = lambda waiting: prefills.append(len(waiting)) or prefill(waiting)
    together = run(engine, batch)                                       # (lengths 3, 9 and 1, padded to 9)
    alone = [run(Engine(tiny(pos, n_kv_head), tok, max_batch=2).start(), [request])[0] for request in requests()[1]]
    assert prefills == [3] and together == alone


def test_a_full_queue_refuses_and_requests_take_turns_for_the_rows():
    tok, batch = requests()
    engine = Engine(tiny(), tok, max_batch=2, max_queue=1)
    engine.submit(Request(tok.encode("a"), 1, n=2, emit=lambda *event: None))     # both rows, once it runs
    with pytest.raises(QueueFull, match="1 requests are waiting and every one of the 2 rows is busy"):
        engine.submit(batch[0])
    engine.stop()
    alone = [run(Engine(tiny(), tok, max_batch=2).start(), [request])[0] for request in requests()[1]]
    assert run(Engine(tiny(), tok, max_batch=2).start(), requests()[1]) == alone      # 4 rows' worth on 2 rows


def test_a_cancelled_request_frees_its_rows():
    tok = CharTokenizer.from_text(TEXT)
    engine = Engine(tiny(), tok, max_batch=4).start()
    seen = threading.Event()
    request = Request(tok.encode("ab"), 10**6, emit=lambda *event: seen.set())
    engine.submit(request)
    assert seen.wait(30)
    request.cancelled = True
    for _ in range(200):
        if engine.metrics()["active_rows"] == 0:
            break
        threading.Event().wait(0.02)
    assert engine.metrics()["active_rows"] == 0
    engine.stop()


def test_stop_strings_are_held_back_until_they_cannot_start_one():
    tok = CharTokenizer.from_text("abcdef")
    text = SampleText(tok, ("cde", "x"))
    assert [text.add(i) for i in tok.encode("abcd")] == [("a", False), ("b", False), ("", False), ("", False)]
    assert text.add(tok.encode("f")[0]) == ("cdf", False)
    assert text.add(tok.encode("c")[0]) == ("", False) and text.add(tok.encode("d")[0]) == ("", False)
    assert text.add(tok.encode("e")[0]) == ("", True)


def test_a_calculator_call_is_answered_in_the_row_and_stays_out_of_the_text():
    from minilm.serve.engine import Row
    from minilm.tokenizers.chat_format import add_chat_tokens
    tok = add_chat_tokens(CharTokenizer.from_text("0123456789*+"))
    engine, special = Engine(tiny(), tok), tok.special_tokens
    row = Row(Request([0], 20, tools=True), 0, np.random.default_rng(0), SampleText(tok, ()))
    said = [engine._text(row, t) for t in [special["<|call|>"], *tok.encode("12*34"), special["<|/call|>"]]]
    assert said == [("", False)] * 7
    assert list(row.forced) == [special["<|output|>"], *tok.encode("408"), special["<|/output|>"]]
    assert engine._text(row, tok.encode("4")[0]) == ("4", False)
