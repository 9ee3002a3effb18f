# Intelligent Operations Center dashboard.
# One gunicorn worker on purpose: DuckDB allows a single writer process per database file;
# concurrency comes from threads inside that one process.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IOC_HOST=0.0.0.0 \
    IOC_PORT=8050 \
    IOC_DATA_DIR=/data

WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt \
    && groupadd --gid 10001 ioc \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin ioc \
    && mkdir -p /data \
    && chown 10001:10001 /data

COPY . .

USER 10001:10001
VOLUME /data
EXPOSE 8050

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8050/healthz', timeout=4)"]

CMD ["gunicorn", "--workers", "1", "--threads", "16", "--bind", "0.0.0.0:8050", "app:server"]
