"""minilm serve through the official `openai` client: what any OpenAI tool sees, errors included."""
import signal
import threading

import httpx
import pytest
from serve_helpers import serving

openai = pytest.importorskip("openai")
CHAT = [{"role": "user", "content": "3 plus 4?"}]


@pytest.fixture(scope="module")
def client(server):
    url, _ = server
    return openai.OpenAI(base_url=f"{url}/v1", api_key="secret", max_retries=0)


def test_the_model_is_listed_with_its_context(client):
    (model,) = client.models.list().data
    assert model.id == "chat" and model.owned_by == "minilm" and model.context_length == 256


def test_chat_and_completion_whole_with_usage(client):
    reply = client.chat.completions.create(model="chat", messages=CHAT, max_tokens=6, temperature=0)
    choice = reply.choices[0]
    assert reply.object == "chat.completion" and choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length") and reply.usage.prompt_tokens > 5
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    text = client.completions.create(model="chat", prompt="ROMEO:", max_tokens=7, temperature=0)
    assert text.object == "text_completion" and text.usage.completion_tokens == 7
    assert text.choices[0].finish_reason == "length" and len(text.choices[0].text) > 0


def test_streams_send_the_role_first_the_text_then_the_reason_and_usage(client):
    chunks = list(client.chat.completions.create(model="chat", messages=CHAT, max_tokens=8, n=2, seed=1,
                                                 stream=True, stream_options={"include_usage": True}))
    by_choice = {i: [c.choices[0] for c in chunks if c.choices and c.choices[0].index == i] for i in (0, 1)}
    for choices in by_choice.values():
        assert choices[0].delta.role == "assistant" and choices[-1].finish_reason in ("stop", "length")
        assert all(c.finish_reason is None for c in choices[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens <= 16
    whole = client.completions.create(model="chat", prompt="ROMEO:", max_tokens=9, seed=2, temperature=1.0)
    streamed = "".join(c.choices[0].text for c in client.completions.create(model="chat", prompt="ROMEO:",
                                                                            max_tokens=9, seed=2, stream=True))
    assert streamed == whole.choices[0].text                         # a seed gives the same text either way


def test_n_samples_differ_and_a_seed_repeats_them(client):
    ask = dict(model="chat", prompt="ROMEO:", max_tokens=12, n=2, temperature=1.0, seed=7)
    first, again = client.completions.create(**ask), client.completions.create(**ask)
    texts = [c.text for c in first.choices]
    assert texts == [c.text for c in again.choices] and texts[0] != texts[1]


def test_a_stop_string_ends_the_text_and_is_never_sent(client):
    plain = client.completions.create(model="chat", prompt="ROMEO:", max_tokens=30, seed=3).choices[0].text
    stop = plain[5:7]
    cut = client.completions.create(model="chat", prompt="ROMEO:", max_tokens=30, seed=3, stop=[stop, "zzz"])
    assert cut.choices[0].text == plain[:plain.index(stop)] and cut.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model="chat", prompt="ROMEO:", max_tokens=30, seed=3, stop=stop, stream=True))
    assert streamed == cut.choices[0].text


@pytest.mark.parametrize("ask, status, words", [
    (dict(temperature=5), openai.BadRequestError, "temperature must be in [0, 2], got 5"),
    (dict(max_tokens=10**6), openai.BadRequestError, "at most"),
    (dict(n="two"), openai.BadRequestError, "n must be an integer"),
    (dict(model="gpt-4"), openai.BadRequestError, "'gpt-4' is not served here"),
    (dict(prompt="x" * 300), openai.BadRequestError, "context is 256 tokens"),
    (dict(stop=[""]), openai.BadRequestError, "stop must be"),
])
def test_bad_fields_raise_the_client_s_typed_errors_with_our_message(client, ask, status, words):
    with pytest.raises(status) as caught:
        client.completions.create(**{"model": "chat", "prompt": "ROMEO:", **ask})
    assert words in caught.value.message and caught.value.status_code == 400


def test_a_wrong_key_is_401(server):
    url, _ = server
    with pytest.raises(openai.AuthenticationError, match="Authorization: Bearer KEY"):
        openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).models.list()


def test_raw_http_errors_are_openai_shaped_and_never_500(server):
    url, _ = server
    key = {"Authorization": "Bearer secret"}
    cases = [("POST", "/v1/completions", b"{not json", 400, "not valid JSON"),
             ("POST", "/v1/completions", b"[1, 2]", 400, "a JSON object"),
             ("POST", "/v1/completions", b'{"prompt": 12}', 400, "prompt must be a non-empty string"),
             ("POST", "/v1/chat/completions", b'{"messages": [{"role": "wizard"}]}', 400, "messages must be"),
             ("POST", "/v1/completions", b'{"prompt": "' + b"a" * (10 << 20) + b'"}', 413, "bytes"),
             ("GET", "/v1/nothing", None, 404, "the endpoints are")]
    with httpx.Client(base_url=url, headers=key, timeout=30) as http:
        for method, path, body, status, words in cases:
            response = http.request(method, path, content=body)
            assert response.status_code == status, (path, response.text[:200])
            error = response.json()["error"]
            assert words in error["message"] and {"type", "param", "code"} <= set(error)
        assert http.get("/health").json() == {"status": "ok"}
        assert http.get("/").text.startswith("<!DOCTYPE html>")


def test_sigterm_stops_within_the_grace_and_exits_0(chat_run):
    with serving("--out", chat_run, "--grace", "2") as (url, process):
        got_text = threading.Event()

        def stream_forever():
            with httpx.stream("POST", f"{url}/v1/completions", json={"prompt": "ROMEO:", "max_tokens": 250,
                                                                        "stream": True}, timeout=60) as response:
                for line in response.iter_lines():
                    got_text.set()
        reader = threading.Thread(target=stream_forever, daemon=True)
        reader.start()
        assert got_text.wait(30)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "stopped" in process.stdout.read()
