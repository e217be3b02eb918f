"""The calculator tool: right answers, and an error string (never an exception, never slow) for hostile input."""
import time

import pytest

from minilm.chat.calculator import calculate


@pytest.mark.parametrize("expression, expected", [
    ("12*34", "408"), ("7/2", "3.5"), ("6/3", "2"), ("7//2", "3"), ("-7 % 3", "2"), ("2**10", "1024"),
    ("(1+2)*-3", "-9"), (" 3 - 5 ", "-2"), ("0.1+0.2", "0.3"), ("2**-1", "0.5"), ("+4", "4")])
def test_arithmetic(expression, expected):
    assert calculate(expression) == expected


@pytest.mark.parametrize("expression, reason", [
    ("9**99", "more than 30 digits"), ("2**1000000000", "exponent"), ("10**10**10", "exponent"),
    ("(10**20)*(10**20)", "more than 30 digits"), ("1e308*10", "not a finite number"), ("1/0", "division by zero"),
    ("5 % 0", "division by zero"), ("0**-1", "division by zero"), ("(-8)**0.5", "not a real number"),
    ("x+1", "names"), ("__import__('os').system('true')", "function calls"), ("(1).__class__", "attributes"),
    ("(lambda: 1)()", "function calls"), ("lambda: 1", "lambdas"), ("[1][0]", "subscripts"), ("'a'*3", "only numbers"),
    ("True+1", "only numbers"), ("1j*1j", "only numbers"), ("1 < 2", "comparisons"), ("1 and 2", "and/or"),
    ("(" * 150 + "1" + ")" * 150, "longer than"), ("-" * 199 + "1", None), ("1 +", "not an arithmetic"),
    ("import os", "not an arithmetic"), ("", "not an arithmetic"), ("1; 2", "not an arithmetic")])
def test_hostile_or_malformed_input_is_an_error_string(expression, reason):
    start = time.perf_counter()
    result = calculate(expression)
    assert time.perf_counter() - start < 1.0
    if reason is None:                                   # 199 unary minuses: deep but allowed, and cheap
        assert result == "-1"
    else:
        assert result.startswith("error: ") and reason in result, result


def test_not_text_is_an_error_string():
    assert calculate(None).startswith("error: expected an expression as text")
