"""``{% ptrack %}``, ``{% ptrack_url %}`` and ``{% ptrack_link %}``: thin wrappers
over ``ptrack.links``.

Syntax::

    {% ptrack arg ... key=value ... [expires EXPIRY] [recipient KEY] [as var] %}
    {% ptrack_url arg ... key=value ... [expires EXPIRY] [recipient KEY] [as var] %}
    {% ptrack_link DESTINATION arg ... key=value ... [expires EXPIRY] [recipient KEY] [as var] %}

``expires``, ``recipient`` and ``as`` are clauses, not keyword arguments, so
``expires=...`` and ``recipient=...`` stay free for the pixel's own data;
``expires`` and ``recipient`` may come in either order, ``as`` last.
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


class PixelNode(template.Node):
    def __init__(
        self,
        build: Callable[..., str],
        args: list[FilterExpression],
        kwargs: dict[str, FilterExpression],
        expires: FilterExpression | None,
        target: str | None,
        recipient: FilterExpression | None = None,
    ) -> None:
        self.build = build
        self.args = args
        self.kwargs = kwargs
        self.expires = expires
        self.target = target
        self.recipient = recipient

    def render(self, context: Context) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {name: value.resolve(context) for name, value in self.kwargs.items()}
        expires: Any = self.expires.resolve(context) if self.expires else None
        recipient: Any = self.recipient.resolve(context) if self.recipient else None
        result = self.build(args, kwargs, expires=expires, recipient=recipient)
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
    while len(bits) >= 2 and bits[-2] in ("expires", "recipient"):
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
    return PixelNode(build, args, kwargs, clauses.get("expires"), target, clauses.get("recipient"))


def _build_link(
    args: list[Any], kwargs: dict[str, Any], *, expires: Expiry, recipient: str | None
) -> str:
    return build_link(args[0], args[1:], kwargs, expires=expires, recipient=recipient)


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
