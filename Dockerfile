# syntax=docker/dockerfile:1
# The ledger's one image: every `glow` command (serve, migrate, relay, worker, webhooks run,
# recommend, ...) is its entry point, as on a developer's machine. Build from the repository
# root: `docker build -t glowledger:0.1.0 .` (deploy/compose.yaml and deploy/k8s use it).
#
# The base image is pinned by tag and digest (the linux/amd64+arm64 index of that tag); to
# move to a newer patch release, change both (`docker buildx imagetools inspect python:TAG`).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

# --- build: the project's wheel, installed with its dependencies into /opt/glow ---------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# A C compiler: some dependencies (lightfm-next) are built from source. Debian packages are
# not pinned to versions: a point release removes the old ones from the mirrors, and the
# pinned base image already fixes the release (bookworm).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/glow
WORKDIR /src
COPY pyproject.toml README.md ./
COPY migrations ./migrations
COPY src ./src
# The wheel carries the SQL migrations (pyproject.toml's data-files: share/glowledger/...),
# where an installed `glow migrate` looks for them (storage/migrations.py).
RUN /opt/glow/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
 && /opt/glow/bin/pip install /tmp/wheels/glowledger-*.whl \
 && test -f /opt/glow/share/glowledger/migrations/postgres/0001_event_store.sql

# --- runtime: the interpreter, the virtual environment, nothing to build with --------------
FROM ${PYTHON_IMAGE} AS runtime
# libgomp1: lightfm's OpenMP kernels (the recommender); nothing else is taken from Debian.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 glow \
 && useradd --system --uid 10001 --gid glow --home-dir /var/lib/glow --create-home \
      --shell /usr/sbin/nologin glow \
 && install --directory --owner=10001 --group=10001 /var/lib/glow-models
COPY --from=build /opt/glow /opt/glow
ENV PATH=/opt/glow/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp
# Relative paths (the embedded SQLite store, chDB, Faust's folder) land here, writable by
# the ledger's user; in Kubernetes this and /tmp are volumes, the root file system read-only.
# /var/lib/glow-models (made above, the user's) is where the recommender follower keeps its
# model versions: a volume mounted there starts owned by that user.
WORKDIR /var/lib/glow
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["glow"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
