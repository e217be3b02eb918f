"""`minilm eval --task NAME`: exact-match accuracy on a bundled task's held-out items (greedy, chat format).

    minilm eval --out out-sft --task arithmetic                  test items, calculator on
    minilm eval --out out-sft --task arithmetic --no-tools       the calculator's calls are not answered
    minilm eval --pretrained hf-folder --task spelling --split val --n 500
"""
import json

from ..chat.task_accuracy import task_accuracy
from ..data.tasks import SPLITS, get_task
from ..train.config import at_least
from .chat import load_chat_model
from .parser import CommandParser, checked


def evaluate_task(argv):
    p = CommandParser(prog="minilm eval", description="Exact-match accuracy on a bundled task's held-out items.")
    p.add_argument("--out", default="out", help="a run folder (its best checkpoint)")
    p.add_argument("--pretrained", default=None, help="a Hugging Face folder with a chat template, instead of --out")
    p.add_argument("--task", required=True, help="arithmetic, spelling or shakespeare")
    p.add_argument("--split", default="test", choices=list(SPLITS))
    p.add_argument("--n", type=checked(int, at_least(1)), default=200, help="how many items")
    p.add_argument("--seed", type=checked(int, at_least(0)), default=0, help="which items")
    p.add_argument("--no-tools", dest="tools", action="store_false", help="do not answer calculator calls")
    p.add_argument("--max-new-tokens", type=checked(int, at_least(1)), default=48)
    p.add_argument("--show", type=checked(int, at_least(0)), default=0, help="print the first N replies")
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    task = get_task(args.task)
    model, tokenizer = load_chat_model(args.out, args.pretrained, args.device)
    shown = []

    def show(item, reply, reward):
        if len(shown) < args.show:
            shown.append(item)
            print(f"{'right' if reward else 'wrong'}: {item.prompt!r} -> {reply.text!r} (expected {item.answer!r})")
    scores = task_accuracy(model, tokenizer, task, task.items(args.split, args.n, args.seed), args.tools,
                           args.max_new_tokens, on_item=show)
    print(json.dumps({"task": args.task, "split": args.split, "items": args.n, "tools": args.tools,
                      "accuracy": round(scores.pop("all"), 4),
                      "by_kind": {kind: round(value, 4) for kind, value in scores.items()}}))
    return 0
