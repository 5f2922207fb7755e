"""A plain HTTP client that plays the browser: it sends an upload plan's JSON exactly as the contract says.

It knows nothing of byos's Python objects: only the dict of ``UploadPlan.to_dict()`` (what byos-upload.js
gets), so the tests prove the JSON contract itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

TIMEOUT = 60


class PlanFailedError(Exception):
    """A step answered a status its ``expect`` does not list."""

    def __init__(self, step: Mapping[str, Any], answer: requests.Response) -> None:
        super().__init__(f"{step['method']} answered {answer.status_code}: {answer.text[:300]}")
        self.status = answer.status_code
        self.text = answer.text


def _send(step: Mapping[str, Any], url: str, body: bytes) -> requests.Response:
    if step["fields"] is not None:
        form = [(name, value) for name, value in step["fields"]]
        content_type = dict(form).get("Content-Type", "application/octet-stream")
        return requests.post(url, data=form, files={"file": ("upload", body, content_type)}, timeout=TIMEOUT)
    return requests.request(step["method"], url, headers=step["headers"], data=body, timeout=TIMEOUT)


def _complete_body(kind: str, plan: Mapping[str, Any], etags: Mapping[int, str]) -> bytes:
    if kind == "s3-complete":
        parts = "".join(
            f"<Part><PartNumber>{number}</PartNumber><ETag>{etags[number]}</ETag></Part>"
            for number in sorted(etags)
        )
        return f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
    if kind == "azure-block-list":
        latest = "".join(f"<Latest>{part['block_id']}</Latest>" for part in plan["parts"])
        return f'<?xml version="1.0" encoding="utf-8"?><BlockList>{latest}</BlockList>'.encode()
    return b""


def body_of(step: Mapping[str, Any], data: bytes) -> bytes:
    """The bytes a step sends: the whole file, its range, or nothing."""
    if step["body"] == "file":
        return data
    if step["body"] == "range":
        start, end = step["range"]
        return data[start:end]
    return b""


def run(plan: Mapping[str, Any], data: bytes, *, stop_after: int | None = None) -> requests.Response | None:
    """Send every part in order, then ``complete``; on a failure send ``abort`` and raise.

    Args:
        plan: The plan's JSON form.
        data: The file.
        stop_after: Stop (as a cancelled upload does) after this many parts, sending ``abort``.

    Returns:
        The last answer (the completion's, or the single request's); None when stopped.

    Raises:
        PlanFailedError: A step failed (``abort`` was sent first).
    """
    session: str | None = None
    etags: dict[int, str] = {}
    answer: requests.Response | None = None
    try:
        for index, step in enumerate(plan["parts"]):
            if stop_after is not None and index == stop_after:
                _abort(plan, session)
                return None
            url = session if step["url_from"] == "session" else step["url"]
            assert url is not None
            answer = _send(step, url, body_of(step, data))
            _check(step, answer)
            if step["collect"] == "etag":
                etags[step["part_number"]] = answer.headers["ETag"]
            elif step["collect"] == "session":
                session = answer.headers["Location"]
        complete = plan["complete"]
        if complete is not None:
            answer = requests.request(
                complete["method"],
                complete["url"],
                headers=complete["headers"],
                data=_complete_body(complete["body"], plan, etags),
                timeout=TIMEOUT,
            )
            _check(complete, answer)
    except PlanFailedError:
        _abort(plan, session)
        raise
    return answer


def _check(step: Mapping[str, Any], answer: requests.Response) -> None:
    # S3 can answer CompleteMultipartUpload 200 with an <Error> body: that is a failure too
    if answer.status_code not in step["expect"] or b"<Error>" in answer.content[:512]:
        raise PlanFailedError(step, answer)


def _abort(plan: Mapping[str, Any], session: str | None) -> None:
    abort = plan["abort"]
    if abort is None:
        return
    url = session if abort["url_from"] == "session" else abort["url"]
    if url is None:
        return
    answer = requests.request(abort["method"], url, headers=abort["headers"], timeout=TIMEOUT)
    assert answer.status_code in abort["expect"], answer.text
