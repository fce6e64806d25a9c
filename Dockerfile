# syntax=docker/dockerfile:1
# The cloudshift worker image, as docker-compose.yml runs it.

# Stage 1: the whole project with its dev dependencies, type-checked, so an image is never built
# from code that does not compile.
FROM node:24.22.3-bookworm-slim AS check
WORKDIR /src
COPY package.json package-lock.json ./
# onnxruntime-node's installer would fetch CUDA libraries; the bundled CPU build is enough here.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY test ./test
RUN node_modules/.bin/tsc --noEmit && touch /src/.type-checked

# Stage 2: what runs — production dependencies only, HAProxy for the data plane, a non-root user
# owning every path it writes.
FROM node:24.22.3-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends haproxy && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY deploy ./deploy
COPY scripts/worker.sh scripts/node-env.sh ./scripts/
COPY --from=check /src/.type-checked ./.type-checked
# The worker writes its state (data planes, keys, reports) under /app/.stack, on-prem storage and
# Prometheus's targets under /var/lib/cloudshift: all owned by the user it runs as.
RUN mkdir -p /app/.stack /var/lib/cloudshift/onprem /var/lib/cloudshift/prometheus-targets \
  && chown -R node:node /app/.stack /var/lib/cloudshift
ENV CLOUDSHIFT_STATE_DIR=/app/.stack \
    CLOUDSHIFT_LISTEN_HOST=0.0.0.0 \
    CLOUDSHIFT_METRICS_ADDRESS=0.0.0.0:9464 \
    NODE_ENV=production
USER node
# The worker's metrics, then the data planes' ports (traffic and metrics, two per migration).
EXPOSE 9464 18080-18199
# One Node process with its heap capped (CLOUDSHIFT_WORKER_HEAP_MIB; see scripts/worker.sh).
CMD ["bash", "scripts/worker.sh"]
