# The API image used by docker-compose.yml (server mode).
FROM python:3.11-slim
WORKDIR /app
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 FRAGRANCE_HOME=/data
COPY requirements.lock pyproject.toml README.md ./
# The lock pins the CPU build of torch (a local wheel on the dev machines); in the image the
# registry's torch of the same version stands in, without its CUDA extras (--no-deps).
RUN sed 's/+cpu//' requirements.lock > /tmp/requirements.txt \
    && pip install --no-cache-dir --no-deps -r /tmp/requirements.txt
COPY . .
RUN pip install --no-cache-dir --no-deps -e .
EXPOSE 8000
CMD ["sh", "-c", "fragrance-ai ingest --if-missing && fragrance-ai serve --host 0.0.0.0 --port 8000"]
