"""`minilm prepare-chat`: a bundled task's conversations written as JSONL, to read, edit or train on."""
import os

from ..data.conversations import write_conversations
from ..data.tasks import SPLITS, get_task
from ..train.config import at_least
from .parser import CommandParser, checked


def prepare_chat(argv):
    p = CommandParser(prog="minilm prepare-chat", description="Write a bundled task's conversations as JSONL.")
    p.add_argument("--task", required=True, help="arithmetic, spelling or shakespeare")
    p.add_argument("--out", required=True, help="the .jsonl file to write")
    p.add_argument("--split", default="train", choices=list(SPLITS))
    p.add_argument("--n", type=checked(int, at_least(1)), default=1000, help="how many conversations")
    p.add_argument("--seed", type=checked(int, at_least(0)), default=0)
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    args = p.parse_args(argv)
    task = get_task(args.task)
    if os.path.exists(args.out) and not args.overwrite:
        raise ValueError(f"{args.out} exists; choose another --out or pass --overwrite")
    conversations = [task.conversation(item) for item in task.items(args.split, args.n, args.seed)]
    write_conversations(conversations, args.out)
    print(f"wrote {args.out}: {len(conversations)} {args.split} conversations of task {args.task} "
          f"(train on them: minilm sft --init-from out --data {args.out} --out_dir out-sft)")
    return 0
