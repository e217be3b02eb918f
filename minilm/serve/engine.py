"""Continuous batching: one decoding loop answers every request the server holds.

Why batch at all: one decoding step of a small model reads every weight once
and does little arithmetic per weight, so its cost is nearly flat in the number
of rows it decodes. On a GPT 4 x 128 with context 64 (2 CPU cores, a quiet
machine) a step took 1.60 ms for 1 row, 2.11 ms for 4, 3.11 ms for 16 and
4.85 ms for 32: 16 rows cost 1.9x one row and decode 8.2x the tokens per second
(624 -> 5,140). Through HTTP, with the clients on the same two cores,
benchmarks/serve.py measured 317-332 tokens/s for one streaming client of the
default run's model and 1,990-2,191 for 16 (6.3-6.6x), 2,527-2,803 for 32.

Why continuously: requests arrive whenever they like and want different
lengths. A static batch would wait for its longest member; here a request joins
the running batch between two steps, right after its own prompt has been read,
and leaves the moment it is done, its row taken at once by the next in line.

The loop, on a thread of its own:

    admit   the waiting requests that fit in the free rows (first come, first
            served) have their prompts run through the model together: one
            prefill, (R, T) on models/gpt.py's KVCache, the shorter prompts
            padded at their end (causal attention: a prompt's own positions
            never see the padding after them); each request's keys and values
            are copied into n rows of the BatchCache (its n samples share one
            prefill) and each row draws its first token. A prefill costs about
            as much as a step, so clients that arrive together (as they do after
            a burst of answers ends together) are read in one
    step    one forward of every active row's newest token, (B, 1), on the
            BatchCache (batch_cache.py: per-row positions and a mask); each row
            then draws its next token with its own temperature, top-k, top-p
            and random generator (seeded by the request: the same seed gives
            the same text)
    leave   a row is done at a stop token (the end of the assistant's turn, or
            <|endoftext|>), at max_tokens, at the end of the model's context, at
            a stop string (never sent), or when its client has gone away (the
            row is freed at the next step); the last active row moves into it

Text goes out as it is made, through Request.emit, whole characters only, and
never past the start of what may still turn into a stop string. A calculator
call in a chat reply (minilm/chat) is answered inside the loop: the tool's
output tokens are fed to that row one per step, in place of sampled ones; the call
and its output are not part of the reply's text (as in minilm chat's reply.text),
so a client that sends the conversation back sends what the model can read.
"""
import collections
import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from ..chat.reply import answer_call
from ..models.sampling import inference, sample_next
from ..tensor import Tensor
from ..tokenizers.chat_format import CALL, CALL_END
from .batch_cache import BatchCache


class QueueFull(Exception):
    """Every row is busy and max_queue requests are already waiting."""


@dataclass
class Request:
    prompt: list                                  # token ids
    max_tokens: int                               # new tokens per sample, at most
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    stop: tuple = ()                              # strings that end a sample (never sent)
    stop_ids: frozenset = frozenset()             # tokens that end a sample (the turn's end)
    seed: int = None
    n: int = 1
    tools: bool = False                           # answer calculator calls (chat, minilm's format)
    emit: callable = None                         # emit(index, text, finish_reason or None), from the loop
    cancelled: bool = False                       # the client went away: free its rows
    completion_tokens: int = 0
    done: int = 0                                 # samples finished


class SampleText:
    """One sample's text as it grows: whole characters, and nothing that may still begin a stop string."""

    def __init__(self, tokenizer, stops):
        self.tokenizer, self.stops, self.ids, self.sent = tokenizer, stops, [], 0

    def add(self, token):
        """(text that may be sent now, whether a stop string ended the sample)."""
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids)
        if text.endswith("\ufffd"):                       # a UTF-8 character still missing its bytes
            return "", False
        found = [i for i in (text.find(s, max(0, self.sent - len(s) + 1)) for s in self.stops) if i >= 0]
        if found:
            return self._take(text, min(found)), True
        held = max((k for s in self.stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
        return self._take(text, len(text) - held), False

    def rest(self):
        """What was held back, at the end of a sample that no stop string ended."""
        return self._take(self.tokenizer.decode(self.ids), None)

    def _take(self, text, end):
        out = text[self.sent:end]
        self.sent += len(out)
        return out


@dataclass
class Row:
    request: Request
    index: int                                    # which of the request's n samples
    rng: np.random.Generator
    text: SampleText
    next_input: int = 0                           # the token the next step feeds
    forced: collections.deque = field(default_factory=collections.deque)   # tool output to feed first
    call: list = None                             # the ids of a calculator call being written
    generated: int = 0


class Engine:
    def __init__(self, model, tokenizer, max_batch=16, max_queue=64):
        self.model, self.tokenizer = model, tokenizer
        self.max_batch, self.max_queue = max_batch, max_queue
        self.block_size = model.config.block_size
        self.caches = [BatchCache(max_batch, self.block_size) for _ in model.transformer.h]
        self.rows, self.waiting = [], collections.deque()
        self.wake = threading.Condition()
        self.stopping = False
        self.recent = collections.deque(maxlen=50)  # (time, tokens) of the latest steps, for tokens/s
        self.tokens_served = self.requests_served = 0
        special = tokenizer.special_tokens
        self.special = set(special.values())
        self.call_ids = (special.get(CALL), special.get(CALL_END))
        self.thread = threading.Thread(target=self._loop, name="minilm-serve-engine", daemon=True)

    # ---------------------------------------------------------------- from the server's threads
    def start(self):
        self.thread.start()
        return self

    def submit(self, request):
        with self.wake:
            # a request that cannot have its rows at once waits, if fewer than max_queue are waiting
            must_wait = len(self.rows) + sum(r.n for r in self.waiting) + request.n > self.max_batch
            if must_wait and len(self.waiting) >= self.max_queue:
                raise QueueFull(f"{len(self.waiting)} requests are waiting and every one of the {self.max_batch} "
                                "rows is busy; try again shortly")
            self.waiting.append(request)
            self.wake.notify()

    def stop(self):
        """Cancel what is waiting and running; the loop ends after its current step."""
        with self.wake:
            self.stopping = True
            for request in [*self.waiting, *(row.request for row in self.rows)]:
                request.cancelled = True
            self.wake.notify()
        if self.thread.is_alive():
            self.thread.join(timeout=10)

    def metrics(self):
        now = time.monotonic()
        steps = [(t, n) for t, n in self.recent if now - t < 10]
        span = (now - steps[0][0]) if len(steps) > 1 else 0
        return {"queue_length": len(self.waiting), "active_rows": len(self.rows), "max_batch": self.max_batch,
                "tokens_per_second": round(sum(n for _, n in steps[1:]) / span, 1) if span else 0.0,
                "tokens_served": self.tokens_served, "requests_served": self.requests_served}

    # ---------------------------------------------------------------- the loop
    def _loop(self):
        while True:
            with self.wake:
                while not (self.rows or self.waiting or self.stopping):
                    self.wake.wait()
                if self.stopping:
                    break
            try:
                # (eval mode and no graph, during the step only: minilm's grad mode is the process's, so
                # training in the same process must not run while the engine steps)
                with inference(self.model):
                    self._leave()
                    self._admit()
                    if self.rows:
                        self._step()
            except Exception:                         # a bug: fail what is running, keep serving the rest
                traceback.print_exc()
                for row in list(self.rows):
                    self._finish(row, "error")
        for row in list(self.rows):                   # (stopping: cancelled, tell their clients)
            self._finish(row, "cancelled")

    def _admit(self):
        admitted, free = [], self.max_batch - len(self.rows)
        with self.wake:
            while self.waiting and self.waiting[0].n <= free:
                request = self.waiting.popleft()
                if not request.cancelled:
                    admitted.append(request)
                    free -= request.n
        if not admitted:
            return
        logits = self._prefill(admitted)                                    # (R, V)
        rows = []
        for request in admitted:
            for index in range(request.n):
                seed = None if request.seed is None else (request.seed, index)
                rows.append(Row(request, index, np.random.default_rng(seed), SampleText(self.tokenizer, request.stop)))
        self.rows += rows
        self._advance(rows, np.repeat(logits, [request.n for request in admitted], axis=0))

    def _prefill(self, requests):
        """The prompts through the model together, (R, T); each one's keys and values copied into its n rows."""
        lengths = np.asarray([len(request.prompt) for request in requests])
        prompts = np.zeros((len(requests), lengths.max()), dtype=np.int64)
        for i, request in enumerate(requests):
            prompts[i, :lengths[i]] = request.prompt                         # (padded at the end)
        single = self.model.new_caches()
        logits, _ = self.model(Tensor(prompts, device=self.model.device), caches=single)
        for batch, cache in zip(self.caches, single):
            row = len(self.rows)
            for i, request in enumerate(requests):
                for _ in range(request.n):
                    batch.put(row, cache.k[i, :, :lengths[i]], cache.v[i, :, :lengths[i]])
                    row += 1
            batch.active = row
        return _host(logits.data[np.arange(len(requests)), lengths - 1])    # (R, V): each prompt's last position

    def _step(self):
        start = time.monotonic()
        inputs = np.asarray([[row.next_input] for row in self.rows])       # (B, 1)
        logits, _ = self.model(Tensor(inputs, device=self.model.device), caches=self.caches)   # (B, 1, V)
        rows = list(self.rows)
        self._advance(rows, _host(logits.data[:, 0]))                    # (B, V)
        self.recent.append((start, len(rows)))

    def _advance(self, rows, logits):
        """Each row's next input: its forced tool output, else a token drawn from its logits (B, V).

        Rows that sample alike (temperature, top_k, top_p) draw together, each with its own generator."""
        alike = collections.defaultdict(list)
        for i, row in enumerate(rows):
            if not row.forced:
                request = row.request
                alike[request.temperature, request.top_k or None, request.top_p if request.top_p < 1 else None].append(i)
        tokens = {}
        for (temperature, top_k, top_p), which in alike.items():
            drawn = sample_next(logits[which, :self.tokenizer.vocab_size], temperature, top_k, top_p,
                                [rows[i].rng for i in which])
            tokens.update(zip(which, drawn.tolist()))
        for i, row in enumerate(rows):
            self._take(row, tokens.get(i))

    def _take(self, row, token):
        """Feed the row's forced tool output, or take its sampled token (sent on as text)."""
        request = row.request
        if row.forced:
            row.next_input = row.forced.popleft()
        else:
            row.next_input, row.generated = token, row.generated + 1
            request.completion_tokens += 1
            self.tokens_served += 1
            if token in request.stop_ids:
                return self._finish(row, "stop")
            text, stopped = self._text(row, token)
            if text:
                request.emit(row.index, text, None)
            if stopped:
                return self._finish(row, "stop")
            if row.generated >= request.max_tokens:
                return self._finish(row, "length")
        if self.caches[0].lengths[self.rows.index(row)] >= self.block_size:
            self._finish(row, "length")                 # no position left for the next input

    def _text(self, row, token):
        """Visible text for a sampled token; a calculator call is collected, answered and shown whole."""
        call, call_end = self.call_ids
        if row.request.tools and token == call:
            row.call = []
            return "", False
        if row.call is not None and token == call_end:
            expression, row.call = self.tokenizer.decode(row.call), None
            row.forced.extend(answer_call(self.tokenizer, expression)[1])
            return "", False                         # (the call and its output are not the reply's text)
        if row.call is not None:
            row.call.append(token)
            return "", False
        if token in self.special:                    # a stray turn token is not text (skip_special_tokens)
            return "", False
        return row.text.add(token)

    def _finish(self, row, reason):
        request = row.request
        if reason == "length":
            rest = row.text.rest()
            if rest:
                request.emit(row.index, rest, None)
        request.done += 1
        if request.done == request.n:
            self.requests_served += 1
        request.emit(row.index, "", reason)
        i = self.rows.index(row)
        for cache in self.caches:
            cache.remove(i)
        self.rows[i] = self.rows[-1]
        self.rows.pop()

    def _leave(self):
        """Free the rows of requests whose clients went away."""
        for row in [row for row in self.rows if row.request.cancelled]:
            self._finish(row, "cancelled")


def _host(array):
    return array.get() if hasattr(array, "get") else np.asarray(array)     # CuPy -> NumPy
