"""Limits the Temporal server enforces for us, in one place: `make run` and the test servers
pass the same flags.

Every message to a workflow is a few kilobytes (the contracts cap each field), and no payload of
ours comes near the limit: the largest, a registration's continuation, carries its audit trail.
Without it the server takes payloads of up to 2 MB, and a few dozen signals of that size, forged
or not, fill a history until the server terminates the workflow.
"""

from __future__ import annotations

BLOB_SIZE_ERROR = 256 * 1024  # bytes: a larger payload is refused by the frontend
BLOB_SIZE_WARN = 64 * 1024  # bytes: the server logs a warning above this


def dev_server_flags() -> list[str]:
    """`temporal server start-dev` flags that set the limits."""
    return [
        "--dynamic-config-value",
        f"limit.blobSize.error={BLOB_SIZE_ERROR}",
        "--dynamic-config-value",
        f"limit.blobSize.warn={BLOB_SIZE_WARN}",
    ]
