"""Arithmetic: addition and subtraction of numbers up to three digits, and multiplication with the calculator.

    add2   What is 47+86?            133            two 2-digit numbers
    add3   What is 457+386?          843            up to three digits each
    sub3   What is 457-386?          71             up to three digits, the larger first (no negative answers)
    mul2   What is 47*86?            <|call|>47*86<|/call|><|output|>4042<|/output|>4042
    mul2x  (system: Answer without the calculator.)  What is 47*86?   4042   the same, in its head

The answer is the number alone, written left to right. A small model adds well,
since each digit depends on the two above it and a carry it can see coming; it
multiplies badly, since every digit of a product depends on all the digits of both
factors, which is what the tool is for: mul2 teaches it to call the calculator and
copy the result, and mul2x measures how it does without (the issue's "report it
without the tool"). The key of an item is its operation and operands.
"""
from .task import NO_TOOL_SYSTEM, ChatTask, Item

OPERATIONS = {"add2": "+", "add3": "+", "sub3": "-", "mul2": "*", "mul2x": "*"}


class Arithmetic(ChatTask):
    name = "arithmetic"
    kinds = ("add2", "add3", "sub3", "mul2", "mul2x")
    uses_tool = True

    def draw(self, kind, rng):
        if kind in ("add2", "mul2", "mul2x"):
            a, b = (int(x) for x in rng.integers(10, 100, size=2))
        else:
            a, b = (int(x) for x in rng.integers(0, 1000, size=2))
            if kind == "sub3" and b > a:
                a, b = b, a
        symbol = OPERATIONS[kind]
        answer = str({"+": a + b, "-": a - b, "*": a * b}[symbol])
        item = Item(kind, f"What is {a}{symbol}{b}?", answer, answer)
        if kind == "mul2":
            item.call, item.call_output = f"{a}*{b}", answer
        if kind == "mul2x":
            item.system = NO_TOOL_SYSTEM
        return f"{a}{symbol}{b}", item                   # (mul2 and mul2x share their keys: one split)

    def alphabet(self):
        return "".join(sorted(set("0123456789+-*?What is " + NO_TOOL_SYSTEM)))
