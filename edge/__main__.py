"""`python -m edge`: serve the edge with uvicorn on JSHR_EDGE_HOST:JSHR_EDGE_PORT (8000)."""

from __future__ import annotations

import logging
import os

import uvicorn

from config import Settings
from edge.web.app import create_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Files it creates (documents, SQLite journals) are the service user's alone.
    os.umask(0o077)
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=settings.edge_host,
        port=settings.edge_port,
        # The client's address (login throttling) from a trusted proxy's X-Forwarded-For.
        proxy_headers=True,
        forwarded_allow_ips=settings.edge_forwarded_allow_ips,
        # Our own access log (edge.access) leaves out query strings and IDs in paths.
        access_log=False,
        server_header=False,
        log_config=None,
    )


if __name__ == "__main__":
    main()
