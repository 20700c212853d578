# syntax=docker/dockerfile:1
# Hookline: the dashboard built by Node, the service on a slim Python, run as a non-root user.
# The steps mirror the Makefile's: `make frontend` (npm ci && npm run build) and
# `make install` (a venv with Hookline installed in editable mode).

# --- 1. the dashboard (make frontend) ---
FROM node:20-slim AS frontend
WORKDIR /build/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# --- 2. the Python environment (make install, without the dev extras) ---
FROM python:3.11-slim AS python-build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /srv/hookline
# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
# Editable, as in the Makefile: the code runs from /srv/hookline; the dashboard (app/static)
# and the migrations (app/migrations) are package data, found beside the modules.
COPY pyproject.toml README.md ./
COPY app/__init__.py app/__init__.py
# With the `otel` extra, so HOOKLINE_OTEL_ENDPOINT can turn tracing on in the image.
RUN pip install --upgrade pip && pip install -e '.[otel]'

# --- 3. the runtime image ---
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HOOKLINE_DATABASE_URL=sqlite+aiosqlite:////var/lib/hookline/hookline.db
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/hookline hookline
COPY --from=python-build /opt/venv /opt/venv
WORKDIR /srv/hookline
COPY --from=python-build /srv/hookline ./
COPY app/ app/
COPY --from=frontend /build/app/static app/static
# The code stays root-owned and read-only to the service; only the data directory is its.
USER hookline
VOLUME ["/var/lib/hookline"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0"]
