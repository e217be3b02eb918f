"""`minilm sample`: text from a trained run (--out) or a Hugging Face folder (--pretrained)."""
from ..train.config import Range, at_least
from ..train.loop import generate_text
from ..train.trained import load_pretrained, load_trained
from .parser import CommandParser, checked


def sample(argv):
    p = CommandParser(prog="minilm sample", description="Generate text from a trained model.")
    p.add_argument("--out", default="out", help="the training output folder")
    p.add_argument("--pretrained", default=None,
                   help="a Hugging Face folder (config.json, model.safetensors, tokenizer.json) instead of --out")
    p.add_argument("--prompt", default="\n")
    p.add_argument("--max-new-tokens", type=checked(int, at_least(0)), default=500)
    p.add_argument("--temperature", type=checked(float, at_least(0)), default=0.8, help="0: the most likely token")
    p.add_argument("--top-k", type=checked(int, at_least(1)), default=200)
    p.add_argument("--top-p", type=checked(float, Range(0, 1, low_open=True)), default=None)
    p.add_argument("--seed", type=checked(int, at_least(0)), default=None)
    p.add_argument("--num-samples", type=checked(int, at_least(1)), default=1)
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    if args.pretrained:
        model, tokenizer, device = load_pretrained(args.pretrained, args.device or "cpu")
    else:
        model, tokenizer, cfg, _ = load_trained(args.out, device=args.device)
        device = cfg.device
    for i in range(args.num_samples):
        seed = None if args.seed is None else args.seed + i
        print(generate_text(model, tokenizer, args.prompt, args.max_new_tokens, args.temperature,
                            args.top_k, args.top_p, seed, device))
        if i + 1 < args.num_samples:
            print("-" * 60)
    return 0
