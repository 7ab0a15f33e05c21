"""A webhook URL with a port urllib cannot read (out of range, not a number) is refused in one
line before the rule is stored (it raised a traceback from `monitor rules --add`); an IPv6
webhook is shown with its brackets."""

from __future__ import annotations

import pytest

from cockpit.errors import CockpitError
from cockpit.monitoring.notify import check_url, shown


@pytest.mark.parametrize("url", ["http://example.com:99999/x", "https://example.com:abc/x"])
def test_a_port_urllib_cannot_read_is_refused(url: str) -> None:
    with pytest.raises(CockpitError, match="a webhook is an http:// or https:// URL with a host"):
        check_url(url)


def test_webhooks_are_shown_by_scheme_and_host_only() -> None:
    assert shown("http://[::1]:8080/hooks/secret") == "http://[::1]:8080/…"
    assert shown("https://user:token@hooks.example/services/T0/B0/secret") == "https://hooks.example/…"
    assert check_url(" http://127.0.0.1:18777/hook ") == "http://127.0.0.1:18777/hook"
