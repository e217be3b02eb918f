"""`minilm serve`: a trained run or a Hugging Face folder behind the OpenAI API, and a chat page.

    minilm serve --out out-sft                          http://127.0.0.1:8000 (the page), /v1/... (the API)
    minilm serve --pretrained hf-folder --port 8080
    minilm serve --out out-sft --host 0.0.0.0 --api-key KEY       reachable from other machines: set a key

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="KEY or anything")
    client.chat.completions.create(model="out-sft", messages=[{"role": "user", "content": "What is 12+34?"}])

It listens on 127.0.0.1 unless --host says otherwise. A base model (no chat
format) answers /v1/completions; /v1/chat/completions needs a fine-tuned one
(minilm sft) or a folder with a chat template. Ctrl-C or SIGTERM stops taking
requests, lets those in flight finish for up to --grace seconds (then cancels
them) and exits 0. Needs the `serve` extra: pip install 'minilm[serve]'.
"""
import os
import signal

from ..errors import UserError
from ..train.config import Range, at_least
from .parser import CommandParser, checked


def serve(argv):
    p = CommandParser(prog="minilm serve", description="Serve a model through the OpenAI API, with a chat page.")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--out", default="out", help="a training run folder (its best checkpoint)")
    source.add_argument("--pretrained", help="a Hugging Face folder (config.json, model.safetensors, tokenizer)")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: this machine only)")
    p.add_argument("--port", type=checked(int, Range(0, 65535)), default=8000, help="0: any free port")
    p.add_argument("--api-key", help="require `Authorization: Bearer KEY` on /v1/ and /metrics")
    p.add_argument("--max-batch", type=checked(int, at_least(1)), default=16, help="rows decoded together")
    p.add_argument("--max-queue", type=checked(int, at_least(0)), default=64,
                   help="requests waiting for a row before new ones get 429")
    p.add_argument("--grace", type=checked(float, at_least(0)), default=5.0,
                   help="seconds in-flight requests may take after Ctrl-C/SIGTERM")
    p.add_argument("--device", default=None, help="cpu, cuda or emu (default: cpu, or the run's)")
    args = p.parse_args(argv)
    try:
        import uvicorn
        from ..serve.app import create_app
    except ImportError as error:
        raise UserError(f"minilm serve needs the serve extra ({error.name} is missing): "
                        "pip install 'minilm[serve]'") from None
    from ..serve.engine import Engine
    model, tokenizer, name = load_served_model(args.out, args.pretrained, args.device)
    engine = Engine(model, tokenizer, args.max_batch, args.max_queue).start()
    app = create_app(engine, name, api_key=args.api_key)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                            timeout_graceful_shutdown=args.grace, lifespan="off")
    server = uvicorn.Server(config)
    # uvicorn stops cleanly on these signals and then raises them again for the old handlers: keep those
    # harmless, so that a requested stop exits 0
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    original_startup = server.startup

    async def startup(sockets=None):
        await original_startup(sockets)
        port = server.servers[0].sockets[0].getsockname()[1] if server.servers else args.port
        print(f"serving {name} ({model.num_parameters():,} parameters, context {engine.block_size}) on "
              f"http://{args.host}:{port} (chat page at /, API at /v1); Ctrl-C stops", flush=True)
    server.startup = startup
    try:
        server.run()
    finally:
        engine.stop()
    print("stopped", flush=True)
    return 0


def load_served_model(out, pretrained, device):
    """(model, tokenizer, the name clients ask for: the folder's) of a run or a Hugging Face folder."""
    from ..train.trained import load_pretrained, load_trained
    if pretrained:
        model, tokenizer, _ = load_pretrained(pretrained, device or "cpu")
    else:
        model, tokenizer, _, _ = load_trained(out, device=device)
    if not hasattr(model, "new_caches"):
        raise ValueError(f"{pretrained or out} holds a {type(model).__name__}; minilm serve serves GPTs")
    return model, tokenizer, os.path.basename(os.path.normpath(pretrained or out))
