"""The stdlib HTTP helper: answers of any status are returned; transport errors never carry a signature."""

from __future__ import annotations

import socket

import pytest

from byos import http
from byos.errors import ProviderError, ProviderTimeoutError

SIGNED = "?X-Amz-Signature=deadbeefcafe&sig=SECRETSIG&X-Amz-Security-Token=TOKEN"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:{closed_port()}/bucket/key{SIGNED}",  # refused
        f"http://127.0.0.1:1/a b/c{SIGNED}",  # http.client quotes the raw target in its message
        f"http://127.0.0.1:99999/key{SIGNED}",  # bad port
    ],
)
def test_transport_errors_carry_no_secret(url: str) -> None:
    with pytest.raises(ProviderError) as caught:
        http.send("PUT", url, headers={"Content-Type": "text/csv"}, body=b"x", timeout=2)
    message = str(caught.value)
    for secret in ("deadbeefcafe", "SECRETSIG", "TOKEN"):
        assert secret not in message
    assert "REDACTED" in message
    assert caught.value.__cause__ is None
    assert "\n" not in message


def test_a_server_that_never_answers_times_out_without_the_signature() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(ProviderTimeoutError) as caught:
            http.send("GET", f"http://127.0.0.1:{port}/k{SIGNED}", timeout=0.3)
    assert "SECRETSIG" not in str(caught.value)
    assert "no answer within 0.3s" in str(caught.value)


def test_invalid_header_value_is_a_provider_error_without_the_value() -> None:
    with pytest.raises(ProviderError) as caught:
        http.send(
            "PUT", f"http://127.0.0.1:{closed_port()}/k", headers={"x-secret": "a\r\nb SECRETSIG"}, timeout=1
        )
    assert "SECRETSIG" not in str(caught.value)
