# syntax=docker/dockerfile:1
#
# ONE image for every service of the platform (registry now; incubation, supervision and
# reporting as they land). They all run on the same code — servicekit (event store, outbox
# relay, consumers, auth, HTTP) and socialwork-contracts — and the same pinned dependencies, so
# one image means one build, one CVE scan and one thing to promote. A service is chosen by the
# command alone: `python -m services.<name>` (docker-compose.yml sets it per service).
#
# Build:   docker build -t socialwork-platform:$(git rev-parse --short HEAD) .
# Needs:   requirements.lock at the repository root (exact pins of the runtime closure).
# Network: only the Python package index (pip), nothing else.

# Base image, pinned to a patch release. Ops: once pulled, pin the digest as well, e.g.
#   docker buildx imagetools inspect python:3.11.16-slim-bookworm   (then append @sha256:<digest>)
ARG PYTHON_IMAGE=python:3.11.16-slim-bookworm

# ---------------------------------------------------------------------------------------------
# build: a virtual environment with the locked dependencies and the two project packages.
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
# The lock holds the full runtime closure, so nothing is resolved here (--no-deps). If it carries
# hashes (pip hash / pip-compile --generate-hashes), every download is hash-checked as well.
COPY requirements.lock ./
RUN if grep -q -- '--hash=' requirements.lock; then \
        pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock; \
    else \
        pip install --no-cache-dir --no-deps -r requirements.lock; \
    fi

# The project itself (not editable): contracts, then servicekit + services.
COPY contracts/pyproject.toml contracts/README.md ./contracts/
COPY contracts/src ./contracts/src
COPY pyproject.toml ./
COPY servicekit ./servicekit
COPY services ./services
COPY tools/devstack ./tools/devstack
RUN pip install --no-cache-dir --no-deps ./contracts . \
 && pip check

# ---------------------------------------------------------------------------------------------
# runtime: the interpreter, the virtual environment, and an unprivileged user. No compilers, no
# sources, no pip cache.
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="socialwork-platform" \
      org.opencontainers.image.description="Services of the social-work incubation platform (one image; the command picks the service)"

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8000

# Nothing is written at run time: the working directory only keeps relative paths harmless.
WORKDIR /app
USER app:app

EXPOSE 8000

# Liveness only (the process answers); readiness (/health/ready: database and broker) is what
# orchestrators should gate traffic on — docker-compose.yml checks that one.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('HTTP_PORT', '8000'), timeout=4)"]

# uvicorn stops on SIGTERM: it stops accepting, drains requests (20 s, servicekit/serve.py),
# then the lifespan stops the relay and consumers and closes connections. Give the container
# more than that before SIGKILL (compose: stop_grace_period: 40s).
STOPSIGNAL SIGTERM

# Exec form: python is PID 1 and receives the signal itself.
CMD ["python", "-m", "services.registry"]
