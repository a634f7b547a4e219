"""``{% ptrack %}``, ``{% ptrack_url %}`` and ``{% ptrack_link %}`` for Jinja2.

Add ``"ptrack.jinja2.PtrackExtension"`` to the environment's extensions. The
tags take what the Django tags take::

    {% ptrack arg ... key=value ... [expires EXPIRY] [recipient KEY] [campaign NAME] [as var] %}
    {% ptrack_url arg ... key=value ... [expires EXPIRY] [recipient KEY] [campaign NAME] [as var] %}
    {% ptrack_link DESTINATION arg ... key=value ... [the same clauses] [as var] %}

Arguments may be separated by commas, and must be where two string literals
meet: Jinja2 joins ``'a' 'b'`` into one string.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from markupsafe import Markup

from ptrack.links import Expiry, build_img, build_link, build_url
from ptrack.withdrawal import withdrawal_url

_NEEDS_DESTINATION = "ptrack_link"
# Clauses, not keyword arguments, in the order _build() takes them.
_CLAUSES = ("expires", "recipient", "campaign")


class PtrackExtension(Extension):
    """The three ptrack tags, thin wrappers over ``ptrack.links`` like the Django tags."""

    tags = {"ptrack", "ptrack_url", "ptrack_link"}  # noqa: RUF012 - Jinja2's own class attribute

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        # A function rather than a tag: {{ ptrack_withdraw_url(subscriber.key) }}.
        environment.globals.setdefault("ptrack_withdraw_url", withdrawal_url)

    def parse(self, parser: Parser) -> nodes.Node:
        token = next(parser.stream)
        tag, lineno = token.value, token.lineno
        args: list[nodes.Expr] = []
        kwargs: dict[str, nodes.Expr] = {}
        clauses: dict[str, nodes.Expr] = {}
        target: str | None = None
        stream = parser.stream
        while stream.current.type != "block_end":
            if stream.skip_if("comma"):
                continue
            current = stream.current
            if current.test("name:as") and stream.look().type == "name":
                next(stream)
                target = next(stream).value
                if stream.current.type != "block_end":
                    parser.fail(f"'{tag}' takes 'as' and a name at its end.", lineno)
                break
            if (
                current.type == "name"
                and current.value in _CLAUSES
                and stream.look().type
                not in (
                    "assign",
                    "comma",
                    "block_end",
                )
            ):
                if current.value in clauses:
                    parser.fail(f"'{tag}' received {current.value!r} twice.", lineno)
                next(stream)
                clauses[current.value] = parser.parse_expression()
                continue
            if current.type == "name" and stream.look().type == "assign":
                key = next(stream).value
                next(stream)
                if key in kwargs:
                    parser.fail(f"'{tag}' received keyword argument {key!r} twice.", lineno)
                kwargs[key] = parser.parse_expression()
                continue
            if kwargs:
                parser.fail(
                    f"'{tag}' received positional argument {_source(current)!r} after "
                    f"keyword arguments.",
                    lineno,
                )
            if current.type == "string" and stream.look().type == "string":
                parser.fail(
                    f"'{tag}' received two string literals in a row; separate them with a "
                    f"comma (Jinja2 would join them into one).",
                    lineno,
                )
            args.append(parser.parse_expression())
        if tag == _NEEDS_DESTINATION and not args:
            parser.fail(f"'{tag}' needs the destination URL as its first argument.", lineno)
        call = self.call_method(
            "_build",
            [
                nodes.Const(tag),
                nodes.List(args),
                nodes.Dict([nodes.Pair(nodes.Const(k), v) for k, v in kwargs.items()]),
                *(clauses.get(clause, nodes.Const(None)) for clause in _CLAUSES),
            ],
            lineno=lineno,
        )
        if target is not None:
            return nodes.Assign(nodes.Name(target, "store"), call, lineno=lineno)
        return nodes.Output([call], lineno=lineno)

    @staticmethod
    def _build(
        tag: str,
        args: list[Any],
        kwargs: dict[str, Any],
        expires: Expiry,
        recipient: str | None,
        campaign: str | None,
    ) -> str:
        clauses: dict[str, Any] = {
            "expires": expires,
            "recipient": recipient,
            "campaign": campaign,
        }
        if tag == "ptrack":
            return Markup(build_img(args, kwargs, **clauses))
        if tag == "ptrack_url":
            return build_url(args, kwargs, **clauses)
        return build_link(args[0], args[1:], kwargs, **clauses)


def _source(token: Any) -> str:
    """The argument as written in the template, as the Django tags quote it."""
    return repr(token.value) if token.type == "string" else str(token.value)


# The name Jinja2's own extensions use: extensions=["ptrack.jinja2.ptrack"].
ptrack = PtrackExtension
