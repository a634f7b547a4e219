from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.template import TemplateSyntaxError
from django.test import Client, override_settings
from freezegun import freeze_time

from ptrack import tokens
from ptrack.exceptions import PixelURLTooLong, PixelValueError
from tests.conftest import Recorded
from tests.helpers import render


def token_of(url: str) -> str:
    return urlsplit(url).path.split("/")[2]


@freeze_time("2026-05-01 08:00:00.999")
def test_tag_renders_exact_img() -> None:
    html = render("{% ptrack 'newsletter' user_id=42 variant='b' %}")
    token = tokens.dumps(["newsletter"], {"user_id": 42, "variant": "b"})
    url = f"https://track.example.com/ptrack/{token}/"
    assert html == (
        f'<img src="{url}" width="1" height="1" alt="" '
        f'style="border:0;width:1px;height:1px;margin:0;padding:0">'
    )


def test_tag_arguments_reach_the_recorder(client: Client, recorded: Recorded) -> None:
    html = render(
        "{% ptrack name 7 flag=True nothing=None items=items odd='[][]]' %}",
        name="$%^&",
        items=[1, {"x": "é"}],
    )
    src = html.split('src="')[1].split('"')[0]
    client.get(urlsplit(src).path)
    assert recorded.calls == [
        (("$%^&", 7), {"flag": True, "nothing": None, "items": [1, {"x": "é"}], "odd": "[][]]"})
    ]


@freeze_time("2026-05-01 08:00:00.999")
def test_url_tag_renders_only_the_url() -> None:
    url = render("{% ptrack_url 'a' b=1 %}")
    assert url == f"https://track.example.com/ptrack/{tokens.dumps(['a'], {'b': 1})}/"


@override_settings(PTRACK_APP_URL="https://track.example.com/?a=1&b=2")
def test_url_is_html_escaped() -> None:
    assert "&amp;b=2" in render("{% ptrack 'a' %}")
    assert "&amp;b=2" in render("{% ptrack_url 'a' %}")
    assert "&amp;" not in render("{% autoescape off %}{% ptrack_url 'a' %}{% endautoescape %}")


@override_settings(PTRACK_APP_URL="https://track.example.com/")
def test_trailing_slash_of_app_url_is_not_doubled() -> None:
    assert render("{% ptrack_url 'a' %}").startswith("https://track.example.com/ptrack/")


def test_as_clause_stores_the_result() -> None:
    out = render("{% ptrack_url 'a' as pixel %}[{{ pixel }}]")
    assert out.startswith("[https://track.example.com/ptrack/")
    out = render("{% ptrack 'a' as pixel %}<p>{{ pixel }}</p>")
    assert out.startswith('<p><img src="https://track.example.com/ptrack/')


def test_expires_clause_is_not_a_kwarg() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with freeze_time(t0):
        url = render("{% ptrack_url 'a' expires=5 expires 3600 as u %}{{ u }}")
        for expiry in (3600, timedelta(hours=1), t0 + timedelta(hours=1)):
            same = render("{% ptrack_url 'a' expires=5 expires when %}", when=expiry)
            assert tokens.loads(token_of(same)).expires_at == t0 + timedelta(hours=1)
        decoded = tokens.loads(token_of(url))
    assert decoded.kwargs == {"expires": 5}
    assert decoded.expires_at == t0 + timedelta(hours=1)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% ptrack a=1 'b' %}", "positional argument \"'b'\" after keyword"),
        ("{% ptrack a=1 a=2 %}", "keyword argument 'a' twice"),
    ],
)
def test_syntax_errors(source: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=message):
        render(source)


def test_unserializable_value_fails_at_render_naming_the_argument() -> None:
    with pytest.raises(PixelValueError, match="keyword argument 'when' = datetime"):
        render("{% ptrack 'a' when=when %}", when=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        (-5, "should lie in the future"),
        (datetime(2026, 1, 1), "naive datetime"),
        ("soon", "should be seconds"),
        (True, "should be seconds"),
        (float("inf"), "should be a finite duration"),
        (float("nan"), "should be a finite duration"),
    ],
)
def test_bad_expiry_fails_at_render(expires: Any, message: str) -> None:
    with pytest.raises(PixelValueError, match=message):
        render("{% ptrack 'a' expires when %}", when=expires)


@override_settings(PTRACK_MAX_URL_LENGTH=120)
def test_url_over_limit_fails_at_render_with_length_and_limit() -> None:
    with pytest.raises(
        PixelURLTooLong, match=r"would be 1\d\d characters long, over the limit of 120"
    ):
        render("{% ptrack 'a' b=b %}", b="0123456789abcdef" * 3)


def test_default_url_limit_is_2000() -> None:
    import hashlib

    data = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(60)]
    with pytest.raises(PixelURLTooLong, match="over the limit of 2000"):
        render("{% ptrack data %}", data=data)


def test_a_campaign_clause_names_the_link_s_campaign_apart_from_its_data() -> None:
    from ptrack import encoders

    url = render("{% ptrack_url 'n' campaign name expires 3600 %}", name="spring")
    decoded = encoders.decode(token_of(url))
    assert (decoded.args, decoded.campaign) == (("n",), "spring")
    link = render("{% ptrack_link dest 'n' campaign 'spring' as x %}{{ x }}", dest="https://e.com/")
    assert encoders.decode(urlsplit(link).path.rstrip("/").rsplit("/", 1)[1]).campaign == "spring"
    data = encoders.decode(token_of(render("{% ptrack_url 'n' campaign='spring' %}")))
    assert (data.kwargs, data.campaign) == ({"campaign": "spring"}, None)
    img = render("{% ptrack 'n' recipient 'sub-1' campaign 'spring' %}")
    assert encoders.decode(token_of(img.split('src="')[1])).campaign == "spring"
    with pytest.raises(PixelValueError, match="campaign"):
        render("{% ptrack_url 'n' campaign name %}", name="x" * 101)
    with pytest.raises(TemplateSyntaxError, match="'ptrack' received 'campaign' twice"):
        render("{% ptrack 'n' campaign 'a' campaign 'b' %}")
