"""The HTTP side of `minilm serve`: OpenAI's endpoints on Starlette, a chat page, health and metrics.

    GET  /                      the chat page (page.html: one file, no CDN, works offline)
    GET  /health                {"status": "ok"}
    GET  /metrics               queue length, active rows, tokens/s, tokens and requests served
    GET  /v1/models             the one model served
    POST /v1/completions        a prompt continued
    POST /v1/chat/completions   a conversation answered, in the model's chat format

With "stream": true the answer comes as server-sent events, one `data: {json}` line
each: a chat's first chunk per choice carries the role, the next ones the text as it
is made (delta.content), the last one the finish_reason ("stop" or "length"); with
stream_options.include_usage a final chunk holds the usage; then `data: [DONE]`. A
client that goes away mid-stream cancels its request: the engine frees its rows at
the next step. Errors are OpenAI's shape (protocol.APIError): 400 for a bad field, a
prompt longer than the context or an unknown model, 401 for a missing or wrong key,
404, 413 for a body over max_body bytes, 429 when the queue is full; 500 only for a
bug in minilm.
"""
import asyncio
import json
import os
import secrets
import threading
import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route

from .engine import QueueFull, Request
from .protocol import (APIError, can_use_tools, chunk, end_tokens, max_tokens, new_id, prompt_of, sampling_fields,
                       usage, whole)

MAX_BODY = 1 << 20             # bytes of a request body
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page.html")


class Mailbox:
    """Text from the engine's thread to the requests' queues on the server's event loop.

    Waking the loop costs a system call; at thousands of tokens a second, one wake-up per token
    would cost more than the tokens. A post while a delivery is pending only joins it, so one
    wake-up carries all the tokens of a step."""

    def __init__(self):
        self.loop, self.pending, self.lock, self.scheduled = None, [], threading.Lock(), False

    def post(self, queue, event):
        with self.lock:
            self.pending.append((queue, event))
            if self.scheduled:
                return
            self.scheduled = True
        self.loop.call_soon_threadsafe(self.deliver)

    def deliver(self):
        with self.lock:
            batch, self.pending, self.scheduled = self.pending, [], False
        for queue, event in batch:
            queue.put_nowait(event)


def create_app(engine, model_name, api_key=None, max_body=MAX_BODY):
    tokenizer, context = engine.tokenizer, engine.block_size
    mailbox = Mailbox()

    def check_key(http):
        if api_key is None:
            return
        given = http.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
            raise APIError(401, "a valid API key is needed: send the header `Authorization: Bearer KEY` with the "
                           "key minilm serve was started with (--api-key)", kind="invalid_request_error",
                           code="invalid_api_key")

    async def read_json(http):
        declared = http.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body:
            raise APIError(413, f"the request body is {int(declared):,} bytes; at most {max_body:,} are read")
        body = bytearray()
        async for piece in http.stream():
            body += piece
            if len(body) > max_body:
                raise APIError(413, f"the request body is over {max_body:,} bytes, the most that is read")
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise APIError(400, f"the request body is not valid JSON ({error})") from None
        if not isinstance(value, dict):
            raise APIError(400, f"the request body must be a JSON object, got {type(value).__name__}")
        return value

    async def answer(http, chat_endpoint):
        check_key(http)
        mailbox.loop = asyncio.get_running_loop()
        body = await read_json(http)
        if body.get("model") not in (None, model_name):
            raise APIError(400, f"the model {body['model']!r} is not served here; this server has {model_name!r} "
                           "(GET /v1/models)", "model", code="model_not_found")
        if chat_endpoint != ("messages" in body):
            raise APIError(400, "/v1/chat/completions takes messages, /v1/completions a prompt",
                           "messages" if chat_endpoint else "prompt")
        prompt, chat = prompt_of(body, tokenizer)
        fields = sampling_fields(body)
        n = fields.get("n", 1)
        events = asyncio.Queue()
        request = Request(prompt, max_tokens(body, len(prompt), context, default=0 if chat else 16),
                          temperature=fields.get("temperature", 1.0), top_p=fields.get("top_p", 1.0),
                          top_k=fields.get("top_k", 0), stop=fields.get("stop", ()), seed=fields.get("seed"), n=n,
                          stop_ids=end_tokens(tokenizer, chat), tools=can_use_tools(tokenizer, chat),
                          emit=lambda *event: mailbox.post(events, event))
        try:
            engine.submit(request)
        except QueueFull as error:
            raise APIError(429, f"the server is busy: {error}", kind="rate_limit_error",
                           code="rate_limit_exceeded") from None
        ident = new_id("chatcmpl" if chat else "cmpl")
        if fields.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(stream(request, events, chat, ident, include_usage),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        texts, reasons = [""] * n, [None] * n
        try:
            while None in reasons:
                index, text, reason = await events.get()
                texts[index] += text
                reasons[index] = _finish_reason(reason) if reason else None
        finally:
            request.cancelled = True                 # (a no-op once every choice is done)
        return JSONResponse(whole(chat, ident, model_name, texts, reasons, len(prompt), request.completion_tokens))

    async def stream(request, events, chat, ident, include_usage):
        created, finished = int(time.time()), 0
        try:
            if chat:
                for index in range(request.n):
                    yield _event(chunk(True, ident, model_name, created, index, first=True))
            while finished < request.n:
                ready = [await events.get()]
                while not events.empty():            # what piled up while the loop was busy: one send
                    ready.append(events.get_nowait())
                finished += sum(reason is not None for _, _, reason in ready)
                yield "".join(_event(chunk(chat, ident, model_name, created, index, text,
                                           _finish_reason(reason) if reason else None))
                              for index, text, reason in ready)
            if include_usage:
                yield _event({"id": ident, "object": "chat.completion.chunk" if chat else "text_completion",
                              "created": created, "model": model_name, "choices": [],
                              "usage": usage(len(request.prompt), request.completion_tokens)})
            yield "data: [DONE]\n\n"
        finally:
            request.cancelled = True                 # the client went away (or all is sent): free the rows

    async def completions(http):
        return await answer(http, chat_endpoint=False)

    async def chat_completions(http):
        return await answer(http, chat_endpoint=True)

    async def models(http):
        check_key(http)
        return JSONResponse({"object": "list", "data": [{"id": model_name, "object": "model", "created": 0,
                                                        "owned_by": "minilm", "context_length": context}]})

    async def metrics(http):
        check_key(http)
        return JSONResponse(engine.metrics())

    async def health(http):
        return JSONResponse({"status": "ok"})

    async def page(http):
        with open(PAGE, encoding="utf-8") as f:
            return HTMLResponse(f.read())

    async def api_error(http, error):
        return JSONResponse(error.body(), status_code=error.status)

    async def http_error(http, error):
        kind = "not_found_error" if error.status_code == 404 else "invalid_request_error"
        message = f"{http.method} {http.url.path}: {error.detail}; the endpoints are /v1/models, " \
                  "/v1/completions, /v1/chat/completions, /health, /metrics and /"
        return JSONResponse(APIError(error.status_code, message, kind=kind).body(), status_code=error.status_code)

    async def bug(http, error):
        return JSONResponse(APIError(500, f"an error inside minilm serve ({type(error).__name__}: {error}); "
                                     "please report it", kind="server_error").body(), status_code=500)

    routes = [Route("/", page), Route("/health", health), Route("/metrics", metrics),
              Route("/v1/models", models), Route("/v1/completions", completions, methods=["POST"]),
              Route("/v1/chat/completions", chat_completions, methods=["POST"])]
    return Starlette(routes=routes, exception_handlers={APIError: api_error, HTTPException: http_error,
                                                        Exception: bug})


def _event(value):
    return f"data: {json.dumps(value)}\n\n"


def _finish_reason(reason):
    return reason if reason in ("stop", "length") else "stop"      # (cancelled while the server stops)
