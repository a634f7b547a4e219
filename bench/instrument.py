"""Instrumenting a whole email: ``python -m bench.instrument`` (part of ``make bench``).

One 100 KB marketing email with 50 links, instrumented per recipient by
``ptrack.instrument_html`` and by pytracking's ``adapt_html`` (lxml) in the
same run, rounds alternating between them. Reports the median CPU time per email
of each, their ratio, and the links each one rewrote, which must be equal.
pytracking is measured with its default configuration (links base64-encoded,
neither signed nor encrypted) and with a Fernet key (encrypted, as ptrack's
are signed). Writes ``bench/results-instrument.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LINKS = 50
SIZE = 100_000
OUT = Path(__file__).resolve().parent / "results-instrument.json"
CLICK_BASE = "https://track.example.com/c/"
OPEN_BASE = "https://track.example.com/o/"

_HEAD = """<!doctype html>
<html lang="en" xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">
<head>
<title>Spring sale</title>
<!--[if !mso]><!--><meta http-equiv="X-UA-Compatible" content="IE=edge"><!--<![endif]-->
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style type="text/css">
#outlook a { padding:0; } body { margin:0;padding:0; } table, td { border-collapse:collapse; }
img { border:0;height:auto;line-height:100%;outline:none;text-decoration:none; }
@media only screen and (min-width:480px) { .mj-column-per-50 { width:50% !important; } }
</style>
<!--[if mso]><noscript><xml><o:OfficeDocumentSettings><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml></noscript><![endif]-->
</head>
<body style="word-spacing:normal;background-color:#f4f4f4;">
<div style="display:none;font-size:1px;max-height:0;overflow:hidden;">Up to 50&nbsp;% off &mdash; this weekend only</div>
<div style="background-color:#f4f4f4;">
<!--[if mso | IE]><table align="center" border="0" cellpadding="0" cellspacing="0" style="width:600px;" width="600"><tr><td><![endif]-->
<p style="font:14px Helvetica,Arial,sans-serif;">Questions? <a href="mailto:help@shop.example.com">Write to us</a>.</p>
"""
_PRODUCT = """<div style="margin:0px auto;max-width:600px;"><table align="center" border="0" cellpadding="0" cellspacing="0" role="presentation" style="width:100%;"><tbody><tr>
<td style="direction:ltr;font-size:0px;padding:20px 0;text-align:center;">
<!--[if mso | IE]><table role="presentation" border="0" cellpadding="0" cellspacing="0"><tr><td style="vertical-align:top;width:300px;"><![endif]-->
<div class="mj-column-per-50 mj-outlook-group-fix" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;">
<table border="0" cellpadding="0" cellspacing="0" role="presentation" style="vertical-align:top;" width="100%"><tbody>
<tr><td align="center" style="font-size:0px;padding:10px 25px;word-break:break-word;"><img alt="Product {i}" src="https://cdn.example.com/products/{i}/hero@2x.jpg" style="border:0;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;" width="250" height="auto"></td></tr>
<tr><td align="left" style="font-size:0px;padding:10px 25px;word-break:break-word;"><div style="font-family:Ubuntu, Helvetica, Arial, sans-serif;font-size:15px;line-height:1.5;text-align:left;color:#333333;">Product {i}: a lovely thing, now &euro;{price} instead of &euro;{old}. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.</div></td></tr>
<tr><td align="center" style="font-size:0px;padding:10px 25px;"><a href="https://shop.example.com/products/{i}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring-sale&amp;utm_content=product-{i}" style="display:inline-block;background:#d62828;color:#ffffff;font-family:Ubuntu, Helvetica, Arial, sans-serif;font-size:13px;line-height:120%;margin:0;text-decoration:none;padding:10px 25px;border-radius:3px;" target="_blank">Shop product {i}</a></td></tr>
</tbody></table></div>
<!--[if mso | IE]></td></tr></table><![endif]-->
</td></tr></tbody></table></div>
"""
_FILLER = (
    '<div style="font-family:Ubuntu, Helvetica, Arial, sans-serif;font-size:11px;'
    'line-height:1.4;color:#999999;padding:0 25px;">Terms apply. Prices include VAT. '
    "Offer valid while stocks last. Lorem ipsum dolor sit amet, consectetur adipiscing "
    "elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</div>\n"
)
_TAIL = """<!--[if mso | IE]></td></tr></table><![endif]-->
</div>
</body>
</html>
"""


def email(links: int = LINKS, size: int = SIZE) -> str:
    """A marketing email of about ``size`` characters with ``links`` trackable links."""
    products = "".join(_PRODUCT.format(i=i, price=19 + i, old=29 + i) for i in range(1, links + 1))
    html = _HEAD + products + _TAIL
    fillers = max(0, (size - len(html)) // len(_FILLER) + 1)
    return _HEAD + products + _FILLER * fillers + _TAIL


def _per_email(func: Callable[[], Any], count: int) -> float:
    # CPU time of this process: the work is single-threaded and CPU-bound, and
    # on a shared machine wall time would mostly measure the neighbours.
    started = time.process_time()
    for _ in range(count):
        func()
    return (time.process_time() - started) / count


def measure(rounds: int, count: int) -> dict[str, Any]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    import pytracking
    from cryptography.fernet import Fernet
    from pytracking.html import adapt_html

    import ptrack
    from ptrack.instrument import url_prefixes

    html = email()
    metadata = {"campaign_id": 42, "recipient_id": 123456}
    pixel = ptrack.Pixel("campaign", **metadata)
    plain = pytracking.Configuration(
        base_open_tracking_url=OPEN_BASE, base_click_tracking_url=CLICK_BASE
    )
    encrypted = pytracking.Configuration(
        base_open_tracking_url=OPEN_BASE,
        base_click_tracking_url=CLICK_BASE,
        encryption_bytestring_key=Fernet.generate_key(),
    )
    cases: dict[str, Callable[[], str]] = {
        "ptrack": lambda: ptrack.instrument_html(html, pixel),
        "pytracking": lambda: adapt_html(html, metadata, configuration=plain),
        "pytracking-fernet": lambda: adapt_html(html, metadata, configuration=encrypted),
    }
    click_prefix = url_prefixes()[0]
    links = {
        "ptrack": cases["ptrack"]().count('href="' + click_prefix),
        "pytracking": cases["pytracking"]().count('href="' + CLICK_BASE),
        "pytracking-fernet": cases["pytracking-fernet"]().count('href="' + CLICK_BASE),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, func in cases.items():  # alternating, so drift hits every case alike
            times[name].append(_per_email(func, count))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "email_bytes": len(html.encode()),
        "links_in_email": LINKS,
        "links_rewritten": links,
        "rounds": rounds,
        "emails_per_round": count,
        "median_ms_per_email": {name: value * 1000 for name, value in medians.items()},
        "all_ms_per_email": {
            name: [round(v * 1000, 3) for v in values] for name, values in times.items()
        },
        "speedup_vs_pytracking": medians["pytracking"] / medians["ptrack"],
        "speedup_vs_pytracking_fernet": medians["pytracking-fernet"] / medians["ptrack"],
    }


def report(result: dict[str, Any]) -> str:
    ms = result["median_ms_per_email"]
    links = result["links_rewritten"]
    lines = [
        f"instrument_html: {result['email_bytes'] / 1000:.0f} KB email, "
        f"{result['links_in_email']} links, median of {result['rounds']} rounds "
        f"x {result['emails_per_round']} emails",
        f"  {'case':<20}{'ms/email':>10}{'links':>8}",
    ]
    for name in ms:
        lines.append(f"  {name:<20}{ms[name]:>10.2f}{links[name]:>8}")
    lines.append(
        f"  ptrack is {result['speedup_vs_pytracking']:.1f}x as fast as pytracking "
        f"({result['speedup_vs_pytracking_fernet']:.1f}x with its Fernet encryption)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="alternating rounds (15)")
    parser.add_argument("--count", type=int, default=20, help="emails per case per round (20)")
    parser.add_argument("--json", type=Path, default=OUT, help=f"results file ({OUT.name})")
    args = parser.parse_args(argv)
    result = measure(args.rounds, args.count)
    print(report(result))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    if len(set(result["links_rewritten"].values())) != 1:
        print("FAIL: the cases rewrote different numbers of links", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
