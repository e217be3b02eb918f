"""`minilm doctor`: the versions and checks of minilm/doctor.py, as text or (--json) as one JSON object.

    minilm doctor            versions, then one line per check: ok / failed (reason) / not available (why)
    minilm doctor --json     the same as one JSON object

The exit status is 1 if any available check failed, else 0.
"""
import json

from ..doctor import run_checks, versions
from .parser import CommandParser


def doctor(argv):
    parser = CommandParser(prog="minilm doctor", description="Versions and a check of every device.")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    info, results = versions(), run_checks()
    if args.json:
        print(json.dumps({"versions": info, "checks": results}, indent=2))
    else:
        width = max(map(len, info))
        for name, value in info.items():
            print(f"{name:<{width}}  {value}")
        print()
        for r in results:
            status = r["status"] if r["status"] == "ok" else f"{r['status']} ({r['detail']})"
            detail = f": {r['detail']}" if r["status"] == "ok" else ""
            print(f"{r['device']:<6}{r['check']:<9}{status}{detail}")
    return 1 if any(r["status"] == "failed" for r in results) else 0
