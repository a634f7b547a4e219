"""``{% ptrack %}``, ``{% ptrack_url %}`` and ``{% ptrack_link %}``: thin wrappers
over ``ptrack.links``.

Syntax::

    {% ptrack arg ... key=value ... [expires EXPIRY] [recipient KEY] [campaign NAME] [as var] %}
    {% ptrack_url arg ... key=value ... [expires EXPIRY] [recipient KEY] [campaign NAME] [as var] %}
    {% ptrack_link DESTINATION arg ... key=value ... [the same clauses] [as var] %}

``expires``, ``recipient``, ``campaign`` and ``as`` are clauses, not keyword
arguments, so ``expires=...``, ``recipient=...`` and ``campaign=...`` stay free
for the pixel's own data; the first three may come in any order, ``as`` last.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import template
from django.template.base import FilterExpression, Parser, Token
from django.template.context import Context
from django.utils.html import conditional_escape

from ptrack.links import Expiry, build_img, build_link, build_url
from ptrack.withdrawal import withdrawal_url

register = template.Library()

_KWARG = re.compile(r"^(\w+)=(.+)$", re.DOTALL)
# Clauses: what the link is for, apart from its data (ptrack.links' keyword arguments).
_CLAUSES = ("expires", "recipient", "campaign")


class PixelNode(template.Node):
    def __init__(
        self,
        build: Callable[..., str],
        args: list[FilterExpression],
        kwargs: dict[str, FilterExpression],
        clauses: dict[str, FilterExpression],
        target: str | None,
    ) -> None:
        self.build = build
        self.args = args
        self.kwargs = kwargs
        self.clauses = clauses
        self.target = target

    def render(self, context: Context) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {name: value.resolve(context) for name, value in self.kwargs.items()}
        clauses: dict[str, Any] = {
            name: value.resolve(context) for name, value in self.clauses.items()
        }
        result = self.build(args, kwargs, **clauses)
        if self.target:
            context[self.target] = result
            return ""
        return str(conditional_escape(result)) if context.autoescape else result


def _parse(parser: Parser, token: Token, build: Callable[..., str]) -> PixelNode:
    bits = token.split_contents()
    name, bits = bits[0], bits[1:]
    target = None
    if len(bits) >= 2 and bits[-2] == "as":
        target = bits[-1]
        bits = bits[:-2]
    clauses: dict[str, FilterExpression] = {}
    while len(bits) >= 2 and bits[-2] in _CLAUSES:
        if bits[-2] in clauses:
            raise template.TemplateSyntaxError(f"'{name}' received {bits[-2]!r} twice.")
        clauses[bits[-2]] = parser.compile_filter(bits[-1])
        bits = bits[:-2]
    args: list[FilterExpression] = []
    kwargs: dict[str, FilterExpression] = {}
    for bit in bits:
        match = _KWARG.match(bit)
        if match:
            key, value = match.groups()
            if key in kwargs:
                raise template.TemplateSyntaxError(
                    f"'{name}' received keyword argument {key!r} twice."
                )
            kwargs[key] = parser.compile_filter(value)
        elif kwargs:
            raise template.TemplateSyntaxError(
                f"'{name}' received positional argument {bit!r} after keyword arguments."
            )
        else:
            args.append(parser.compile_filter(bit))
    if build is _build_link and not args:
        raise template.TemplateSyntaxError(
            f"'{name}' needs the destination URL as its first argument."
        )
    return PixelNode(build, args, kwargs, clauses, target)


def _build_link(
    args: list[Any],
    kwargs: dict[str, Any],
    *,
    expires: Expiry = None,
    recipient: str | None = None,
    campaign: str | None = None,
) -> str:
    return build_link(
        args[0], args[1:], kwargs, expires=expires, recipient=recipient, campaign=campaign
    )


@register.tag("ptrack")
def ptrack_tag(parser: Parser, token: Token) -> PixelNode:
    """Render the 1x1 tracking ``<img>`` for the given arguments."""
    return _parse(parser, token, build_img)


@register.tag("ptrack_url")
def ptrack_url_tag(parser: Parser, token: Token) -> PixelNode:
    """Render only the pixel URL, e.g. for MJML or a CSS background."""
    return _parse(parser, token, build_url)


@register.simple_tag(name="ptrack_withdraw_url")
def ptrack_withdraw_url(recipient: str) -> str:
    """The URL at which ``recipient`` withdraws their consent to tracking."""
    return withdrawal_url(recipient)


@register.tag("ptrack_link")
def ptrack_link_tag(parser: Parser, token: Token) -> PixelNode:
    """Render a click link to the destination (first argument), e.g. for an ``href``."""
    return _parse(parser, token, _build_link)
