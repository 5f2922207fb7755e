"""Server-side uploads: :func:`upload_file` sends a file through the very plan a browser gets.

The import service writes with its write-only access exactly as a browser would: it asks
:func:`byos.planner.presign_upload` for the plan (with the file's digests, so the provider refuses a
corrupted body) and sends each step over byos's bounded transport. Parts stream from the file (at most
``concurrency`` parts in memory), run in a small thread pool, and are retried with backoff on a 5xx, a
throttle or a lost connection; on failure the plan's ``abort`` is sent, so no object and (S3) no pending
multipart upload is left behind.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from byos import http
from byos.display import clip
from byos.errors import ProviderError, ProviderTimeoutError
from byos.file_digests import Source, digest_of, digests, opened
from byos.option_types import require_bool, require_destination
from byos.planner import Checksums, check_kind, choose_part_size, presign_upload
from byos.plans import Kind, Step, UploadPlan
from byos.upload_answers import checked_part_etag, checked_session_uri, shown_etag, shown_generation

if TYPE_CHECKING:
    from byos.config import Destination


CONCURRENCY = 2
"""Parts sent at once (and so at most in memory)."""
ATTEMPTS = 4
"""Tries per request: the first and three retries."""
BACKOFF = 0.25
"""Seconds before the first retry; doubled for each next one, with jitter."""
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What :func:`upload_file` wrote.

    Attributes:
        provider: ``s3``, ``gcs`` or ``azure``.
        kind: ``raw`` or ``result``.
        key: The object key.
        size: Bytes written.
        sha256: Hex SHA-256 of the bytes sent.
        etag: The object's ETag as the provider answered it, if it did.
        generation: The GCS object generation, if known.
        parts: Number of requests that carried the file.
    """

    provider: str
    kind: Kind
    key: str
    size: int
    sha256: str
    etag: str | None
    generation: str | None
    parts: int

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (``byos upload --json``)."""
        return {
            "provider": self.provider,
            "kind": self.kind,
            "key": self.key,
            "size": self.size,
            "sha256": self.sha256,
            "etag": self.etag,
            "generation": self.generation,
            "parts": self.parts,
        }


def upload_file(
    destination: Destination,
    source: Source,
    *,
    kind: Kind = "raw",
    filename: str | None = None,
    import_id: str | None = None,
    content_type: str | None = None,
    checksum: bool = True,
    part_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> UploadResult:
    """Upload a file (a path or a binary stream) through its upload plan, write-once.

    Args:
        destination: Where to write.
        source: A path, or a binary stream (read from its current position; a stream that cannot seek is
            first copied to a temporary file, so memory stays bounded).
        kind: ``raw`` or ``result`` (then ``import_id`` is required).
        filename: The name for the key and metadata; the path's name by default (``upload`` for a stream).
        import_id: The import's id.
        content_type: The Content-Type (``application/json`` for results by default).
        checksum: Send SHA-256 (S3) or MD5 (Azure, GCS) with every request so the provider refuses a
            corrupted body.
        part_size: Bytes per part (default: 8 MiB, grown for huge files).
        progress: Called with the bytes of each request that succeeded.

    Returns:
        Key, size, SHA-256 and the provider's ETag or generation.

    Raises:
        InvalidInputError: A bad argument (nothing is sent).
        ProviderError: The upload failed after retries (it was aborted), or the file changed meanwhile.
    """
    require_destination(destination)
    require_bool("checksum", checksum)
    check_kind(kind, import_id)
    if filename is None:
        filename = Path(source).name if isinstance(source, str | os.PathLike) else "upload"
    with opened(source) as (file, start, size):
        chosen = choose_part_size(destination.provider, size, part_size)
        found = digests(file, start, size, chosen, destination.provider)
        plan = presign_upload(
            destination,
            filename,
            size=size,
            kind=kind,
            import_id=import_id,
            content_type=content_type,
            part_size=part_size,
            checksums=found if checksum else None,
        )
        sender = _Sender(plan, file, start, found if checksum else None, progress)
        return sender.run(found)


class _Sender:
    """Sends one plan's steps: parts (in parallel when allowed), then complete; abort on failure."""

    def __init__(
        self,
        plan: UploadPlan,
        file: IO[bytes],
        start: int,
        checksums: Checksums | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.plan = plan
        self.file = file
        self.start = start
        self.checksums = checksums
        self.progress = progress
        self.lock = threading.Lock()
        self.session: str | None = None
        self.etags: dict[int, str] = {}
        self.last: http.Response | None = None

    def run(self, digests: Checksums) -> UploadResult:
        try:
            self._send_parts()
            if self.plan.complete is not None:
                self.last = self._send(self.plan.complete, self._complete_body())
        except BaseException:
            self._abort()
            raise
        answer = self.last
        etag, generation = _identity(answer)
        if self.plan.provider == "gcs" and answer is not None:
            _check_gcs_md5(answer, digests.md5)
        if self.plan.complete is not None and answer is not None and self.checksums is not None:
            _check_s3_whole(answer, self.checksums.part_sha256)
        return UploadResult(
            provider=self.plan.provider,
            kind=self.plan.kind,
            key=self.plan.key,
            size=self.plan.size or 0,
            sha256=base64.b64decode(digests.sha256).hex(),
            etag=etag or None,
            generation=generation or None,
            parts=sum(1 for part in self.plan.parts if part.body in ("file", "range")),
        )

    def _send_parts(self) -> None:
        parts = self.plan.parts
        if not self.plan.parallel:
            for step in parts:
                self._part(step)
            return
        with ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="byos-upload") as pool:
            futures = [pool.submit(self._part, step) for step in parts]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def _part(self, step: Step) -> None:
        body = self._body(step)
        answer = self._send(step, body)
        if step.collect == "etag" and step.part_number is not None:
            etag = checked_part_etag(answer.header("etag"), step.part_number)
            with self.lock:
                self.etags[step.part_number] = etag
        elif step.collect == "session":
            self.session = checked_session_uri(answer.header("location"), self._url(step))
        elif answer.status == 308 and step.range is not None:  # a GCS middle chunk: all of it must be kept
            kept = answer.header("range")
            if kept != f"bytes=0-{step.range[1] - 1}":
                raise ProviderError(
                    f"{step.method} {_what(step)}: Cloud Storage kept {clip(kept, 40) or 'nothing'}, not all "
                    "bytes sent so far; aborted"
                )
        self.last = answer
        if self.progress is not None and body:
            self.progress(len(body))

    def _body(self, step: Step) -> bytes:
        if step.body == "empty":
            return b""
        first, end = (0, self.plan.size or 0) if step.range is None else step.range
        with self.lock:
            self.file.seek(self.start + first)
            data = self.file.read(end - first)
        if len(data) != end - first:
            raise ProviderError("the file became shorter during the upload; aborted")
        expected = self._expected_digest(step)
        if expected is not None and expected[1] != digest_of(expected[0], data):
            raise ProviderError("the file changed during the upload; aborted")
        return data

    def _expected_digest(self, step: Step) -> tuple[str, str] | None:
        digests = self.checksums
        if digests is None:
            return None
        if step.part_number is not None and digests.part_sha256:
            return "sha256", digests.part_sha256[step.part_number - 1]
        if step.block_id is not None and digests.part_md5 and step.range is not None:
            index = step.range[0] // (self.plan.part_size or 1)
            return "md5", digests.part_md5[index]
        if step.body == "file":
            return "sha256", digests.sha256
        return None

    def _complete_body(self) -> bytes:
        complete = self.plan.complete
        assert complete is not None  # noqa: S101  (only called with one)
        if complete.body == "s3-complete":
            from byos.providers.s3 import complete_body  # noqa: PLC0415

            etags = [self.etags[number] for number in sorted(self.etags)]
            part_sha = self.checksums.part_sha256 if self.checksums is not None else ()
            return complete_body(etags, part_sha or None)
        if complete.body == "azure-block-list":
            from byos.signing.sas import block_list_body  # noqa: PLC0415

            return block_list_body(part.block_id for part in self.plan.parts if part.block_id is not None)
        return b""

    def _url(self, step: Step) -> str:
        url = self.session if step.url_from == "session" else step.url
        if not url:
            raise ProviderError("a step needs the session URI, which no earlier step gave")
        return url

    def _send(self, step: Step, body: bytes) -> http.Response:
        """Send one step, retrying a 5xx, a throttle or a lost connection with backoff."""
        url = self._url(step)
        timeout = 30.0 + len(body) / (256 * 1024)  # a generous floor of 256 KiB/s
        unanswered = False  # an earlier try may have done the work (a completion, a one-request upload)
        for attempt in range(ATTEMPTS):
            last = attempt + 1 == ATTEMPTS
            if datetime.now(UTC) >= self.plan.expires_at:  # so a slow server holds an upload no longer
                raise ProviderError(f"{step.method} {_what(step)}: the plan's URLs expired; aborted")
            try:
                answer = http.send(step.method, url, headers=step.headers, body=body, timeout=timeout)
            except (http.ConnectionLostError, ProviderTimeoutError):
                if last:
                    raise
                unanswered = True
                _sleep(attempt)
                continue
            code = answer.error_code()
            if answer.status in step.expect and not code:
                return answer
            if answer.status not in _RETRY_STATUSES and code not in ("InternalError", "SlowDown"):
                refusal = _refusal(step, answer, code)
                if unanswered and step.body in ("file", "s3-complete", "azure-block-list"):
                    refusal = refusal.removesuffix("; aborted") + (
                        "; an earlier try got no answer and may have written it: read the key before "
                        "uploading again (it is never replaced); aborted"
                    )
                raise ProviderError(refusal)
            if last:
                break
            _sleep(attempt)
        raise ProviderError(f"{step.method} {_what(step)}: still failing after {ATTEMPTS} tries; aborted")

    def _abort(self) -> None:
        abort = self.plan.abort
        if abort is None or (abort.url_from == "session" and self.session is None):
            return
        try:
            http.send(abort.method, self._url(abort), headers=abort.headers, timeout=30.0)
        except ProviderError:
            return  # best effort: the original failure is what the caller must see


def _check_gcs_md5(answer: http.Response, md5: str) -> None:
    """Compare the MD5 Cloud Storage reports (``x-goog-hash``, or a JSON ``md5Hash``) with the file's.

    Google's own clients check a resumable upload this way, after its last chunk.
    """
    stored = ""
    for item in answer.header("x-goog-hash").split(","):
        name, _, value = item.strip().partition("=")
        if name == "md5":
            stored = value
    if not stored and answer.body[:1] == b"{":
        found = _json_field(answer.body, "md5Hash")
        stored = found if isinstance(found, str) else ""
    if stored and stored != md5:
        raise ProviderError(
            "Cloud Storage reports another MD5 than the file's: the stored object is not what was sent"
        )


def composite_sha256(part_sha256: tuple[str, ...]) -> str:
    """S3's whole-object checksum of a multipart upload: base64 SHA-256 of the parts' digests, then ``-N``."""
    joined = b"".join(base64.b64decode(value) for value in part_sha256)
    return f"{base64.b64encode(hashlib.sha256(joined).digest()).decode()}-{len(part_sha256)}"


def _check_s3_whole(answer: http.Response, part_sha256: tuple[str, ...]) -> None:
    """Refuse a completed S3 object whose whole checksum (as S3 reports it) is not of the parts sent."""
    reported = http.xml_text(answer.body, "ChecksumSHA256")
    if not part_sha256 or not reported:
        return
    if reported.partition("-")[0] != composite_sha256(part_sha256).partition("-")[0]:
        raise ProviderError("S3 assembled other bytes than were sent (the whole-object SHA-256 differs)")


def _identity(answer: http.Response | None) -> tuple[str, str]:
    """The ETag and (GCS) generation the final answer names."""
    if answer is None:
        return "", ""
    etag = answer.header("etag") or http.xml_text(answer.body, "ETag")
    generation = answer.header("x-goog-generation")
    if not generation and answer.body[:1] == b"{":
        found = _json_field(answer.body, "generation")
        generation = str(found) if isinstance(found, str | int) and not isinstance(found, bool) else ""
    return shown_etag(etag), shown_generation(generation)


def _json_field(body: bytes, name: str) -> object:
    """One field of a JSON object answer, or None (a malformed or deeply nested answer has none)."""
    try:
        found = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return found.get(name) if isinstance(found, dict) else None


def _what(step: Step) -> str:
    if step.part_number is not None:
        return f"part {step.part_number}"
    if step.range is not None:
        return f"bytes {step.range[0]}-{step.range[1]}"
    return step.body


def _refusal(step: Step, answer: http.Response, code: str) -> str:
    label = code or answer.error_code() or f"HTTP {answer.status}"
    hints = {
        "PreconditionFailed": "an object with this key exists; uploads never replace one",
        "BlobAlreadyExists": "an object with this key exists; uploads never replace one",
        "BadDigest": "the bytes arrived corrupted (checksum mismatch); nothing was stored",
        "Md5Mismatch": "the bytes arrived corrupted (MD5 mismatch); nothing was stored",
        "InvalidDigest": "the bytes arrived corrupted (checksum mismatch); nothing was stored",
        "AccessDenied": "the credentials may not write here; see `byos policy`",
        "AuthorizationPermissionMismatch": "the create-only SAS was refused: an object with this key exists "
        "(uploads never replace one), or the SAS may not write here",
    }
    hint = hints.get(label, "see the provider's error code")
    if answer.status in (409, 412) and label not in hints:
        hint = hints["PreconditionFailed"]
    return f"{step.method} {_what(step)}: {answer.status} {label}; {hint}; aborted"


def _sleep(attempt: int) -> None:
    time.sleep(BACKOFF * 2**attempt * (0.5 + random.random()))  # noqa: S311  (jitter, not a secret)
