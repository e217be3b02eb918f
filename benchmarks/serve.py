"""minilm serve under 1, 4, 16 and 32 concurrent streaming clients, beside transformers' generate.

    python benchmarks/serve.py [--out out/] [--seconds 10] [--torch-python /tmp/torchvenv/bin/python]

For each number of clients, every client streams completions back to back for
--seconds (each asks for the rest of the model's context, with a seed), and the
table gives the decode tokens/s of all of them together and the time to the first
token (p50, p95). The reference is transformers' `generate` on the same model,
exported with `minilm export` (a GPT2LMHeadModel), one sequence at a time with its
KV cache, measured in the same run by an interpreter that has torch and
transformers (--torch-python; skipped without one). The server runs as a user
runs it: `minilm serve` in its own process, on 127.0.0.1.

Without --out, a default-sized model is trained for 50 steps first (speed does not
depend on how well it was trained).
"""
import argparse
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np

TORCH_GENERATE = r"""
import json, sys, time, torch
from transformers import AutoModelForCausalLM
folder, prompt, new, runs = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
model = AutoModelForCausalLM.from_pretrained(folder).eval()
ids = torch.tensor([prompt])
times = []
with torch.no_grad():
    model.generate(ids, max_new_tokens=new, do_sample=True, top_k=0, min_new_tokens=new, pad_token_id=0)
    for _ in range(runs):
        start = time.perf_counter()
        model.generate(ids, max_new_tokens=new, do_sample=True, top_k=0, min_new_tokens=new, pad_token_id=0)
        times.append(time.perf_counter() - start)
print(json.dumps({"tokens_per_s": new / sorted(times)[len(times) // 2], "threads": torch.get_num_threads()}))
"""


def minilm(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "minilm", *args], check=True, **kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(url, prompt, new_tokens, seconds, seed):
    """Stream completions back to back for `seconds`: (tokens received, [time to first token])."""
    tokens, first_token_times, end, n = 0, [], time.monotonic() + seconds, 0
    with httpx.Client(base_url=url, timeout=120) as http:
        while time.monotonic() < end:
            start, first = time.monotonic(), None
            body = {"prompt": prompt, "max_tokens": new_tokens, "stream": True, "seed": seed * 1000 + n,
                    "temperature": 1.0, "stream_options": {"include_usage": True}}
            with http.stream("POST", "/v1/completions", json=body) as response:
                for line in response.iter_lines():      # (parsed lightly: the clients share the 2 cores)
                    if first is None and line.startswith("data: {"):
                        first = time.monotonic() - start
                    elif line.startswith('data: {"id"') and '"usage"' in line:
                        tokens += json.loads(line[6:])["usage"]["completion_tokens"]
            first_token_times.append(first)
            n += 1
    return tokens, [t for t in first_token_times if t is not None]


def measure(url, clients, prompt, new_tokens, seconds):
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda c: client(url, prompt, new_tokens, seconds, c), range(clients)))
    elapsed = time.monotonic() - start
    tokens = sum(r[0] for r in results)
    ttft = np.array([t for r in results for t in r[1]]) * 1000
    return tokens / elapsed, np.percentile(ttft, 50), np.percentile(ttft, 95)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", help="a trained run (default: train the default model for 50 steps)")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--clients", default="1,4,16,32")
    p.add_argument("--torch-python", default="/tmp/torchvenv/bin/python")
    args = p.parse_args()
    scratch = tempfile.mkdtemp(prefix="minilm-serve-bench-")
    out = args.out or os.path.join(scratch, "out")
    if not args.out:
        minilm("train", "--max_iters", "50", "--out_dir", out, "--no-progress", stdout=subprocess.DEVNULL)
    port, counts = free_port(), [int(c) for c in args.clients.split(",")]
    server = subprocess.Popen([sys.executable, "-m", "minilm", "serve", "--out", out, "--port", str(port),
                               "--max-batch", str(max(counts)), "--max-queue", "0"], stdout=subprocess.PIPE, text=True)
    try:
        print(server.stdout.readline().strip())
        url = f"http://127.0.0.1:{port}"
        context = httpx.get(f"{url}/v1/models").json()["data"][0]["context_length"]
        prompt = "ROMEO:\n"
        new_tokens = context - len(prompt)
        measure(url, 1, prompt, 4, 1)                                  # warm up
        rows = [(c, *measure(url, c, prompt, new_tokens, args.seconds)) for c in counts]
    finally:
        server.terminate()
        server.wait()
    single = rows[0][1]
    print(f"\n{new_tokens} new tokens per request, {args.seconds:g} s per row, {os.cpu_count()} cores")
    print(f"{'clients':>8} {'tokens/s':>10} {'x 1 client':>11} {'TTFT p50':>10} {'TTFT p95':>10}")
    for clients, rate, p50, p95 in rows:
        print(f"{clients:>8} {rate:>10.1f} {rate / single:>11.2f} {p50:>8.1f}ms {p95:>8.1f}ms")
    if os.path.exists(args.torch_python):
        folder = os.path.join(scratch, "hf")
        minilm("export", "--out", out, "--to", folder, stdout=subprocess.DEVNULL)
        from minilm.train.trained import load_trained
        tokenizer = load_trained(out)[1]
        reference = json.loads(subprocess.run(
            [args.torch_python, "-c", TORCH_GENERATE, folder, json.dumps(tokenizer.encode(prompt)), str(new_tokens),
             "5"], capture_output=True, text=True, check=True).stdout)
        print(f"\ntransformers generate, one sequence ({reference['threads']} torch threads): "
              f"{reference['tokens_per_s']:.1f} tokens/s; minilm serve, one streaming client: {single:.1f} "
              f"({single / reference['tokens_per_s']:.2f}x)")


if __name__ == "__main__":
    main()
