"""A small, safe expression language for sweep constraints (``skip_if = ["..."]``).

Sweep files are data, so a constraint must never run arbitrary code: no ``eval``. This module parses
expressions such as ``cluster.sync_interval_s > 1 and policy.skip_forward == 0`` into a tiny syntax
tree and evaluates it against the values of one parameter point.

Grammar (Python-like precedence)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum ((== | != | < | <= | > | >= | in | not in) sum)*     # chained like Python
    sum        := term (("+" | "-") term)*
    term       := unary (("*" | "/" | "%") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | STRING | true | false | NAME | "(" expr ")" | "[" [expr ("," expr)*] "]"

Names are dotted config keys (``cluster.sync_interval_s``) or axis labels (``variant``).

Bounded before anything is evaluated, so that no expression can exhaust time or memory: the text
(``MAX_TEXT`` characters), each literal (``MAX_LITERAL``), the nesting of brackets, ``not`` and ``-``
(``MAX_DEPTH``); while evaluating, a repeated string or list (``'a' * n``) stays within ``MAX_ITEMS``
and ``%`` is arithmetic only (no string formatting).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hasim.errors import ConfigError

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<number>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<string>\"[^\"]*\"|'[^']*')"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|%|\(|\)|\[|\]|,)"
    r")"
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}
MAX_TEXT = 2000
MAX_LITERAL = 256
MAX_DEPTH = 32
MAX_ITEMS = 10_000
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


def _short(text: str) -> str:
    """The expression for an error message, cut to a readable length."""
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _times(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, str | list) and isinstance(n, int) and len(seq) * max(n, 0) > MAX_ITEMS:
            raise ValueError(f"a repeated string or list longer than {MAX_ITEMS:,} items")
    return operator.mul(a, b)


def _modulo(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        raise TypeError("% is arithmetic only, not string formatting")
    return operator.mod(a, b)


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": _times,
    "/": operator.truediv,
    "%": _modulo,
}

# A node is a tuple: ("lit", value) | ("name", str) | ("list", [nodes]) | ("neg", node) | ("not", node)
# | ("and", [nodes]) | ("or", [nodes]) | ("arith", op, left, right) | ("cmp", [node, op, node, op, node...])
Node = tuple[Any, ...]


def _tokenize(text: str, key: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ConfigError(key, f"cannot parse constraint {_short(text)} at character {pos}")
        if m.end() - m.start() > MAX_LITERAL + 2:
            raise ConfigError(
                key, f"a literal or name longer than {MAX_LITERAL} characters at character {pos}"
            )
        pos = m.end()
        if m.group("number") is not None:
            raw = m.group("number")
            tokens.append(("lit", float(raw) if any(c in raw for c in ".eE") else int(raw)))
        elif m.group("string") is not None:
            tokens.append(("lit", m.group("string")[1:-1]))
        elif m.group("name") is not None:
            word = m.group("name")
            if word in ("true", "false"):
                tokens.append(("lit", word == "true"))
            elif word in _KEYWORDS:
                tokens.append(("kw", word))
            else:
                tokens.append(("name", word))
        else:
            tokens.append(("op", m.group("op")))
    return tokens


class _Parser:
    def __init__(self, text: str, key: str) -> None:
        self.text = text
        self.key = key
        self.tokens = _tokenize(text, key)
        self.pos = 0
        self.depth = 0

    def nest(self) -> None:
        """One level deeper (a bracket, ``not`` or ``-``); bounded so that parsing cannot recurse away."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH} levels")

    def fail(self, what: str) -> ConfigError:
        return ConfigError(self.key, f"bad constraint {_short(self.text)}: {what}")

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def accept(self, kind: str, value: Any) -> bool:
        tok = self.peek()
        if tok is not None and tok == (kind, value):
            self.pos += 1
            return True
        return False

    def expect(self, kind: str, value: Any) -> None:
        if not self.accept(kind, value):
            raise self.fail(f"expected {value!r}")

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.accept("kw", "or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.accept("kw", "and"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def not_expr(self) -> Node:
        if self.accept("kw", "not"):
            self.nest()
            node = ("not", self.not_expr())
            self.depth -= 1
            return node
        return self.comparison()

    def _compare_op(self) -> str | None:
        tok = self.peek()
        if tok is None:
            return None
        if tok[0] == "op" and tok[1] in _COMPARE:
            self.pos += 1
            return str(tok[1])
        if tok == ("kw", "in"):
            self.pos += 1
            return "in"
        if (
            tok == ("kw", "not")
            and self.pos + 1 < len(self.tokens)
            and self.tokens[self.pos + 1] == ("kw", "in")
        ):
            self.pos += 2
            return "not in"
        return None

    def comparison(self) -> Node:
        chain: list[Any] = [self.sum()]
        while (op := self._compare_op()) is not None:
            chain += [op, self.sum()]
        return chain[0] if len(chain) == 1 else ("cmp", chain)

    def sum(self) -> Node:
        node = self.term()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in ("+", "-"):
            self.pos += 1
            node = ("arith", tok[1], node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in ("*", "/", "%"):
            self.pos += 1
            node = ("arith", tok[1], node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("op", "-"):
            self.nest()
            node = ("neg", self.unary())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end")
        self.pos += 1
        if tok[0] in ("lit", "name"):
            return tok
        if tok == ("op", "("):
            self.nest()
            node = self.or_expr()
            self.expect("op", ")")
            self.depth -= 1
            return node
        if tok == ("op", "["):
            self.nest()
            items: list[Node] = []
            if not self.accept("op", "]"):
                items.append(self.or_expr())
                while self.accept("op", ","):
                    items.append(self.or_expr())
                self.expect("op", "]")
            self.depth -= 1
            return ("list", items)
        raise self.fail(f"unexpected {tok[1]!r}")


@dataclass(frozen=True)
class Constraint:
    """A parsed ``skip_if`` expression; ``key`` is where it came from in the sweep file (for errors)."""

    text: str
    key: str
    tree: Node

    def names(self) -> set[str]:
        """The dotted names the expression reads."""
        found: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, tuple) and node and node[0] == "name":
                found.add(node[1])
            elif isinstance(node, tuple | list):
                for child in node:
                    walk(child)

        walk(self.tree)
        return found

    def evaluate(self, env: Mapping[str, Any]) -> bool:
        """True when the point described by ``env`` (dotted name -> value) must be skipped."""
        try:
            return bool(self._eval(self.tree, env))
        except ConfigError:
            raise
        except (TypeError, ZeroDivisionError, ValueError, OverflowError) as exc:
            raise ConfigError(self.key, f"constraint {_short(self.text)} failed: {exc}") from None

    def _eval(self, node: Node, env: Mapping[str, Any]) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "name":
            if node[1] not in env:
                raise ConfigError(self.key, f"constraint {_short(self.text)} names unknown key {node[1]!r}")
            return env[node[1]]
        if kind == "list":
            return [self._eval(n, env) for n in node[1]]
        if kind == "neg":
            return -self._eval(node[1], env)
        if kind == "not":
            return not self._eval(node[1], env)
        if kind == "and":
            return all(self._eval(n, env) for n in node[1])
        if kind == "or":
            return any(self._eval(n, env) for n in node[1])
        if kind == "arith":
            return _ARITH[node[1]](self._eval(node[2], env), self._eval(node[3], env))
        chain = node[1]
        left = self._eval(chain[0], env)
        for i in range(1, len(chain), 2):
            right = self._eval(chain[i + 1], env)
            if not _COMPARE[chain[i]](left, right):
                return False
            left = right
        return True


def parse_constraint(text: str, key: str) -> Constraint:
    """Parse one constraint; a syntax error raises ConfigError naming ``key`` (e.g. ``sweep.skip_if[0]``)."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(key, "a constraint must be a non-empty string expression")
    if len(text) > MAX_TEXT:
        raise ConfigError(key, f"a constraint of {len(text):,} characters; at most {MAX_TEXT:,}")
    return Constraint(text=text, key=key, tree=_Parser(text, key).parse())
