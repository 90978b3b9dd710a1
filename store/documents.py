"""Content-addressed storage for uploaded documents (ID-card photos).

A document is named by the SHA-256 of its bytes, so storing the same upload twice is a no-op
and a reference can never point at different content later. ``DocumentStore`` is the whole
interface callers may rely on; an S3-compatible store can implement it with the same refs
(object key = hex digest, content type as object metadata).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_REF = re.compile(r"sha256:([0-9a-f]{64})")


class DocumentStore(Protocol):
    async def put(self, data: bytes, *, content_type: str) -> str:
        """Store ``data`` and return its reference ``"sha256:<hex>"``; idempotent."""
        ...

    async def get(self, ref: str) -> bytes:
        """Return the bytes for ``ref``; FileNotFoundError if absent, ValueError if malformed."""
        ...

    async def exists(self, ref: str) -> bool:
        """Whether ``ref`` is stored; ValueError if malformed."""
        ...

    async def delete(self, ref: str) -> bool:
        """Remove ``ref`` (the retention purge); False if it was not stored. Idempotent."""
        ...


def ref_of(data: bytes) -> str:
    """The reference a document with these bytes is stored under."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _digest(ref: str) -> str:
    """The hex digest of a well-formed ref; anything else (e.g. ``../``) is refused."""
    match = _REF.fullmatch(ref) if isinstance(ref, str) else None
    if match is None:
        raise ValueError(f"not a document reference: {ref!r}")
    return match.group(1)


class LocalDocumentStore:
    """Directory-backed store: ``<root>/<hex[:2]>/<hex>``, one file per distinct content.

    The content type is not kept: the caller records it next to the ref (the photo format
    is known from validation). Files are private to the service user (0600 / 0700).
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    def path(self, ref: str) -> Path:
        """Where the document lives on disk (for a reviewer opening the photo)."""
        digest = _digest(ref)
        return self._root / digest[:2] / digest

    async def put(self, data: bytes, *, content_type: str) -> str:
        ref = ref_of(data)
        await asyncio.to_thread(self._write, self.path(ref), data)
        return ref

    async def get(self, ref: str) -> bytes:
        return await asyncio.to_thread(self.path(ref).read_bytes)

    async def exists(self, ref: str) -> bool:
        return await asyncio.to_thread(self.path(ref).is_file)

    async def delete(self, ref: str) -> bool:
        path = self.path(ref)

        def unlink() -> bool:
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            return True

        return await asyncio.to_thread(unlink)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.is_file():
            return  # same name, same content
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Write beside the target and rename: readers never see a partial file, and two
        # concurrent puts of the same content both end with one complete file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
