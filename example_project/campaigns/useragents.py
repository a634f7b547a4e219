"""A short, human name for the client that loaded a pixel, from its User-Agent."""

from __future__ import annotations

import re

# Image proxies fetch the pixel on the reader's behalf, so the IP address and
# User-Agent are the proxy's, not the reader's; naming them avoids a wrong guess.
_PROXIES = (
    ("GoogleImageProxy", "Gmail image proxy"),
    ("YahooMailProxy", "Yahoo Mail image proxy"),
    ("ImageProxy", "Image proxy"),
)
_MAIL_CLIENTS = (
    ("Thunderbird", "Thunderbird"),
    ("Microsoft Outlook", "Outlook"),
    ("ms-office", "Outlook"),
)
_BROWSERS = (
    (r"HeadlessChrome/(\d+)", "Headless Chrome {}"),
    (r"Edg/(\d+)", "Edge {}"),
    (r"Firefox/(\d+)", "Firefox {}"),
    (r"Chrome/(\d+)", "Chrome {}"),
    (r"Version/(\d+)[\d.]* .*Safari/", "Safari {}"),
)
_SYSTEMS = (
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("Mac OS X", "macOS"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_client(user_agent: str) -> str:
    """E.g. "Chrome 131 on macOS", "Gmail image proxy", or "Unknown client"."""
    if not user_agent:
        return "Unknown client"
    for marker, name in _PROXIES:
        if marker in user_agent:
            return name
    client = next((name for marker, name in _MAIL_CLIENTS if marker in user_agent), None)
    if client is None:
        for pattern, template in _BROWSERS:
            match = re.search(pattern, user_agent)
            if match:
                client = template.format(match.group(1))
                break
    if client is None and "AppleWebKit" in user_agent and "Safari" not in user_agent:
        client = "Apple Mail"  # its WebKit view sends no browser name
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if client is None:
        return f"Other client on {system}" if system else "Unknown client"
    return f"{client} on {system}" if system else client
