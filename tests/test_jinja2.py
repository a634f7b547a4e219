"""The Jinja2 tags: the same output, arguments and errors as the Django tags."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import jinja2
import pytest
from django.test import Client, override_settings
from freezegun import freeze_time

import ptrack
from ptrack import tokens
from ptrack.exceptions import InvalidDestination, PixelURLTooLong, PixelValueError
from tests.conftest import Recorded
from tests.helpers import render as django_render

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
DEST = "https://www.example.com/pricing?plan=pro&from=mail"


def env(autoescape: bool = True) -> jinja2.Environment:
    return jinja2.Environment(
        extensions=["ptrack.jinja2.PtrackExtension"],
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
    )


def render(source: str, **context: Any) -> str:
    return env().from_string(source).render(**context)


@freeze_time(T0)
@pytest.mark.parametrize(
    ("jinja", "django"),
    [
        ("{% ptrack 'newsletter' user_id=42 %}", "{% ptrack 'newsletter' user_id=42 %}"),
        ("{% ptrack 'newsletter', user_id=42 %}", "{% ptrack 'newsletter' user_id=42 %}"),
        ("{% ptrack %}", "{% ptrack %}"),
        ("{% ptrack_url 'n' 7 k=v %}", "{% ptrack_url 'n' 7 k=v %}"),
        (
            "{% ptrack_link dest, 'click' user_id=42 expires window %}",
            "{% ptrack_link dest 'click' user_id=42 expires window %}",
        ),
        (
            "{% ptrack_url 'a' expires=5 expires 3600 %}",
            "{% ptrack_url 'a' expires=5 expires 3600 %}",
        ),
        (
            '{% ptrack_link dest as link %}<a href="{{ link }}">x</a>',
            '{% ptrack_link dest as link %}<a href="{{ link }}">x</a>',
        ),
        ("{% ptrack 'n' as img %}[{{ img }}]", "{% ptrack 'n' as img %}[{{ img }}]"),
    ],
)
def test_the_same_output_as_the_django_tags(jinja: str, django: str) -> None:
    context = {"dest": DEST, "v": "<&>", "window": timedelta(days=7)}
    assert render(jinja, **context) == django_render(django, **context)


@freeze_time(T0)
def test_with_autoescape_the_url_is_escaped_and_the_img_is_not_escaped_twice() -> None:
    with override_settings(PTRACK_APP_URL="https://track.example.com/?a=1&b=2"):
        url = ptrack.Pixel("n").url()
        assert render("{% ptrack_url 'n' %}") == url.replace("&", "&amp;")
        assert render("{% ptrack 'n' %}") == str(ptrack.Pixel("n").img())
        assert env(autoescape=False).from_string("{% ptrack_url 'n' %}").render() == url


@freeze_time(T0)
def test_a_jinja2_template_email_is_tracked_end_to_end(client: Client, recorded: Recorded) -> None:
    html = render(
        "<p>Hi {{ name }}</p>{% ptrack 'newsletter' user_id=user_id expires window %}",
        name="<Ada>",
        user_id=42,
        window=timedelta(days=30),
    )
    assert html.startswith("<p>Hi &lt;Ada&gt;</p><img src=")
    src = html.split('src="', 1)[1].split('"', 1)[0]
    assert client.get(urlsplit(src).path).status_code == 200
    [event] = recorded.events
    assert (event.args, dict(event.kwargs)) == (("newsletter",), {"user_id": 42})
    assert event.expires_at == T0 + timedelta(days=30)


def test_the_expires_clause_is_not_a_keyword_argument() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with freeze_time(t0):
        url = render("{% ptrack_url 'a' expires=5 expires 3600 %}")
        decoded = tokens.loads(urlsplit(url).path.split("/")[2])
    assert decoded.kwargs == {"expires": 5}
    assert decoded.expires_at == t0 + timedelta(hours=1)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% ptrack a=1 'b' %}", "'ptrack' received positional argument \"'b'\" after keyword"),
        ("{% ptrack a=1 a=2 %}", "'ptrack' received keyword argument 'a' twice"),
        ("{% ptrack_link %}", "'ptrack_link' needs the destination URL as its first argument"),
        ("{% ptrack_link user_id=1 %}", "'ptrack_link' needs the destination URL"),
        ("{% ptrack_link 'https://a.example/' 'n' %}", "two string literals in a row"),
        ("{% ptrack 'n' as x y %}", "'ptrack' takes 'as' and a name at its end"),
    ],
)
def test_syntax_errors_at_compile_time(source: str, message: str) -> None:
    with pytest.raises(jinja2.TemplateSyntaxError, match=message):
        env().from_string(source)


@pytest.mark.parametrize(
    ("source", "context", "error", "message"),
    [
        ("{% ptrack 'a' when=when %}", {"when": datetime(2026, 1, 1)}, PixelValueError, "'when'"),
        ("{% ptrack 'a' expires when %}", {"when": -5}, PixelValueError, "in the future"),
        ("{% ptrack_link d %}", {"d": "javascript:alert(1)"}, InvalidDestination, "javascript"),
        (
            "{% ptrack 'a' b=b %}",
            {"b": [hashlib.sha256(bytes([i])).hexdigest() for i in range(60)]},
            PixelURLTooLong,
            "PTRACK_MAX_URL_LENGTH",
        ),
    ],
)
def test_the_django_tags_errors_at_render_time(
    source: str, context: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        render(source, **context)


def test_the_short_name_of_the_extension() -> None:
    environment = jinja2.Environment(extensions=["ptrack.jinja2.ptrack"])
    assert environment.from_string("{% ptrack_url 'n' %}").render().startswith("https://")


def test_a_campaign_clause_names_the_link_s_campaign_apart_from_its_data() -> None:
    from ptrack import encoders

    def decoded(url: str) -> Any:
        return encoders.decode(urlsplit(url).path.rstrip("/").rsplit("/", 1)[1])

    url = render("{% ptrack_url 'n', campaign name, expires 3600 %}", name="spring")
    assert (decoded(url).args, decoded(url).campaign) == (("n",), "spring")
    link = render("{% ptrack_link d, 'n', campaign 'spring' %}", d=DEST)
    assert decoded(link).campaign == "spring"
    data = decoded(render("{% ptrack_url 'n', campaign='spring' %}"))
    assert (data.kwargs, data.campaign) == ({"campaign": "spring"}, None)
    assert django_render("{% ptrack_url 'n' campaign 'spring' %}") == render(
        "{% ptrack_url 'n' campaign 'spring' %}"
    )
    with pytest.raises(PixelValueError, match="campaign"):
        render("{% ptrack_url 'n' campaign name %}", name="x" * 101)
    with pytest.raises(jinja2.TemplateSyntaxError, match="'ptrack' received 'campaign' twice"):
        render("{% ptrack 'n', campaign 'a', campaign 'b' %}")
