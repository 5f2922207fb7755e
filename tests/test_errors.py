"""The exception tree: drawn in byos.errors' docstring, and every transport-level error mapped onto it."""

from __future__ import annotations

import http.client
import inspect
import socket
import ssl

import pytest

import byos
from byos import errors
from byos import http as byos_http


def test_the_docstring_draws_every_exception_with_its_bases() -> None:
    doc = errors.__doc__ or ""
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.ByosError)]
    assert len(classes) == 8
    drawn = [line.strip().lstrip("│ ") for line in doc.splitlines()]
    lines = {line.split()[1]: line for line in drawn if line.startswith(("├──", "└──"))}
    for cls in classes:
        if cls is errors.ByosError:
            continue
        assert cls.__name__ in lines, cls
        for base, word in ((ValueError, "also ValueError"), (ImportError, "also ImportError")):
            assert (word in lines[cls.__name__]) == issubclass(cls, base), cls
    assert issubclass(errors.ConfigError, ValueError)
    assert issubclass(errors.InvalidInputError, ValueError)
    assert issubclass(errors.MissingExtraError, ImportError)
    assert issubclass(errors.ProviderTimeoutError, errors.ProviderError)
    assert issubclass(errors.MissingCredentialsError, errors.CredentialsError)
    assert all(getattr(byos, cls.__name__) is cls for cls in classes)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ConnectionRefusedError(111, "Connection refused"), byos_http.ConnectionLostError),
        (ConnectionResetError(104, "Connection reset by peer"), byos_http.ConnectionLostError),
        (socket.gaierror(-2, "Name or service not known"), errors.ProviderError),
        (ssl.SSLCertVerificationError("certificate verify failed"), errors.ProviderError),
        (http.client.RemoteDisconnected("Remote end closed connection"), byos_http.ConnectionLostError),
        (http.client.IncompleteRead(b"partial"), byos_http.ConnectionLostError),
        (
            http.client.InvalidURL("URL can't contain control characters. '/k?sig=SECRETSIG'"),
            errors.ProviderError,
        ),
        (ValueError("Invalid header value b'SECRETSIG\\r\\n'"), errors.ProviderError),
        (TimeoutError("timed out"), errors.ProviderTimeoutError),
        (OSError(28, "No space left on device"), errors.ProviderError),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else value.__name__,
)
def test_every_transport_error_is_mapped_without_its_text(
    monkeypatch: pytest.MonkeyPatch, raised: BaseException, expected: type[errors.ByosError]
) -> None:
    def fail(*_: object, **__: object) -> None:
        raise raised

    monkeypatch.setattr(http.client.HTTPConnection, "request", fail)
    with pytest.raises(expected) as caught:
        byos_http.send("PUT", "http://127.0.0.1:9/k?sig=SECRETSIG", timeout=1)
    assert type(caught.value) is expected
    assert "SECRETSIG" not in str(caught.value)
    assert caught.value.__cause__ is None
