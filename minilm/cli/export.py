"""`minilm export`: a trained GPT as a Hugging Face folder (config.json, model.safetensors, tokenizer.json)."""
from ..models import GPT
from ..tokenizers import BPETokenizer
from ..tokenizers.chat_format import has_chat_tokens
from ..tokenizers.chat_template import save_template
from ..train.trained import load_trained
from .parser import CommandParser


def export(argv):
    p = CommandParser(prog="minilm export", description="Write a trained GPT as a Hugging Face folder.")
    p.add_argument("--out", default="out", help="the training output folder")
    p.add_argument("--to", required=True, help="the folder to write (config.json, model.safetensors, tokenizer.json)")
    p.add_argument("--overwrite", action="store_true", help="replace a model already in --to")
    args = p.parse_args(argv)
    model, tokenizer, _, _ = load_trained(args.out, device="cpu")
    if not isinstance(model, GPT):
        raise ValueError(f"{args.out} holds a {type(model).__name__}; only a GPT has a Hugging Face layout")
    model.save_pretrained(args.to, overwrite=args.overwrite)
    written = "config.json, model.safetensors"
    if isinstance(tokenizer, BPETokenizer):
        tokenizer.save_pretrained(args.to, overwrite=args.overwrite)
        written += ", tokenizer.json"
        if has_chat_tokens(tokenizer) or tokenizer.chat_template is not None:    # a fine-tuned chat model
            save_template(tokenizer, args.to, overwrite=args.overwrite)
            written += ", tokenizer_config.json (its chat template)"
    else:
        written += f" (no tokenizer.json: a {tokenizer.kind} tokenizer is not byte-level BPE; its "\
                   "vocabulary is in the run's checkpoints)"
    print(f"wrote {args.to}: {written}")
    return 0
