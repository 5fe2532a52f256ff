# syntax=docker/dockerfile:1
#
# One image for every ai-news role. Pick the role with the command, e.g.
#   docker run --env-file .env ai-news:latest run --role indexer
# docker-compose.yml runs each role as its own service from this image.

# --- builder: wheels for ai-news and all of its dependencies ------------------------------------------
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
# LICENSE* may match nothing; pyproject.toml always matches, so the COPY succeeds either way.
COPY pyproject.toml README.md LICENSE* ./
COPY bot/ bot/
COPY workers/ workers/
COPY adapters/ adapters/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- runtime -------------------------------------------------------------------------------------------
FROM python:3.11-slim

LABEL org.opencontainers.image.title="ai-news" \
      org.opencontainers.image.description="AI news briefings, topic answers and alerts for Slack and Discord" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AINEWS_EMBEDDED=never \
    AINEWS_CONFIG_DIR=/app/config

RUN groupadd --system --gid 10001 ainews \
 && useradd --system --uid 10001 --gid ainews --home-dir /home/ainews --create-home \
        --shell /usr/sbin/nologin ainews

# Install from the builder's wheels only (no index): the wheels are mounted, not copied, so they add no layer.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels ai-news

WORKDIR /app
# Default configuration; docker-compose.yml mounts ./config over it so edits need no rebuild.
COPY config/ ./config/

USER 10001:10001

ENTRYPOINT ["ai-news"]
CMD ["run"]
