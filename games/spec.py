"""The one parser of ``NAME(key=value, ...)`` spec strings.

Catalog games (``matrix:NAME(k=v)``), control tasks (``control:NAME(k=v)``)
and PettingZoo environments (``pettingzoo:MODULE.ENV(k=v)``) are all spelled
this way. Values are Python literals read with ``ast.literal_eval`` (never
evaluated as code): numbers, quoted strings, tuples, lists; ``true``,
``false`` and ``none`` in any case are the booleans and None, and a bare word
that is not a literal is kept as a string (``kind=cooperative``). Commas
inside brackets or quotes do not split arguments.
"""

from __future__ import annotations

import ast
import re

from games.core import GameError

__all__ = ["parse_call"]

_CALL = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?:\((.*)\))?\s*$", re.DOTALL)
_WORDS = {"true": True, "false": False, "none": None}


def parse_call(
    text: str, what: str = "spec", example: str = "NAME or NAME(key=value,...)"
) -> tuple[str, dict[str, object]]:
    """``"name(a=1, b='x')"`` -> ``("name", {"a": 1, "b": "x"})``; a bare ``"name"`` has no arguments.

    Args:
        text: the spec (without its ``matrix:``-like prefix).
        what: what the spec names, for the error (e.g. ``"matrix game spec"``).
        example: how to write it, for the error.

    Raises:
        GameError: one line for malformed text, an argument without ``key=``,
            a key that is not a name, or a key given twice.
    """
    m = _CALL.match(text) if isinstance(text, str) else None
    if not m:
        raise GameError(f"bad {what} {text!r}; write {example}")
    name, arg_text = m.group(1), m.group(2)
    kwargs: dict[str, object] = {}
    for part in _split_top_level(arg_text or ""):
        if "=" not in part:
            raise GameError(f"{name}: argument {part!r} has no name; write key=value")
        key, value = (s.strip() for s in part.split("=", 1))
        if not key.isidentifier():
            raise GameError(f"{name}: {key!r} is not a parameter name; write key=value")
        if key in kwargs:
            raise GameError(f"{name}: parameter '{key}' is given twice")
        kwargs[key] = _literal(value)
    return name, kwargs


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets and quotes; drop empty parts."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _literal(text: str) -> object:
    if text.lower() in _WORDS:
        return _WORDS[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
