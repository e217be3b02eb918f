"""Bad input and load on loopback, bounded in count and time: no 500, no leaked rows, memory back near its start."""
import concurrent.futures
import json
import random

import httpx
import pytest
from serve_helpers import serving, wait_until

openai = pytest.importorskip("openai")
KEY = {"Authorization": "Bearer secret"}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def one_request(url, number):
    """One of 200 mixed requests; returns (status, well formed). Some streams are dropped after one event."""
    rng = random.Random(number)
    kind = rng.choice(["chat", "completion", "chat-stream", "completion-stream", "drop", "bad"])
    body = {"max_tokens": rng.randint(1, 12), "temperature": rng.choice([0, 0.8]), "seed": number}
    if kind.startswith("chat"):
        body["messages"] = [{"role": "user", "content": f"{number} plus 1?"}]
    else:
        body["prompt"] = "ROMEO:" * rng.randint(1, 5)
    path = "/v1/chat/completions" if "messages" in body else "/v1/completions"
    with httpx.Client(base_url=url, headers=KEY, timeout=60) as http:
        if kind == "bad":
            bad = rng.choice([b"{oops", json.dumps({**body, "temperature": "hot"}).encode(),
                              json.dumps({**body, "max_tokens": 10**9}).encode(), b"\xff\xfe"])
            response = http.post(path, content=bad)
            return response.status_code, "error" in response.json()
        if "stream" not in kind and kind != "drop":
            response = http.post(path, json=body)
            ok = response.status_code != 200 or all(c["finish_reason"] in ("stop", "length")
                                                    for c in response.json()["choices"])
            return response.status_code, ok
        with http.stream("POST", path, json={**body, "stream": True}) as response:
            lines = []
            for line in response.iter_lines():
                if line:
                    lines.append(line)
                if kind == "drop":
                    break                                         # the client goes away mid-stream
        if kind == "drop" or response.status_code != 200:
            return response.status_code, True
        events = [json.loads(line[6:]) for line in lines[:-1]]
        return response.status_code, lines[-1] == "data: [DONE]" and events[-1]["choices"][0]["finish_reason"]


def test_200_requests_from_32_clients(chat_run):
    with serving("--out", chat_run, "--api-key", "secret", "--max-batch", "8", "--max-queue", "200") as (url, process):
        with concurrent.futures.ThreadPoolExecutor(32) as pool:       # warm up, then measure the resident memory
            list(pool.map(lambda n: one_request(url, n), range(1000, 1016)))
        start_kib = rss_kib(process.pid)
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            results = list(pool.map(lambda n: one_request(url, n), range(200)))
        statuses = [status for status, _ in results]
        assert 500 not in statuses and set(statuses) <= {200, 400}, statuses
        assert all(ok for _, ok in results)
        metrics = lambda: httpx.get(f"{url}/metrics", headers=KEY).json()      # noqa: E731
        wait_until(lambda: metrics()["active_rows"] == 0 and metrics()["queue_length"] == 0)
        assert metrics()["requests_served"] >= 100
        assert rss_kib(process.pid) < start_kib + 40_000, (start_kib, rss_kib(process.pid))


def test_a_full_queue_is_429(chat_run):
    with serving("--out", chat_run, "--max-batch", "1", "--max-queue", "0") as (url, _):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        long = client.completions.create(model="chat", prompt="ROMEO:", max_tokens=200, stream=True)
        next(iter(long))                                              # the one row is busy
        with pytest.raises(openai.RateLimitError, match="the server is busy"):
            client.completions.create(model="chat", prompt="ROMEO:", max_tokens=2)
        long.close()
