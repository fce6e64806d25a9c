# The cloudshift worker image, as docker-compose.yml runs it.
FROM node:20.19-bookworm-slim
WORKDIR /app
# HAProxy: each migration's canary data plane, started by the worker.
RUN apt-get update && apt-get install -y --no-install-recommends haproxy && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# onnxruntime-node's installer would fetch CUDA libraries; the bundled CPU build is enough here.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm install --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY deploy ./deploy
USER node
CMD ["node_modules/.bin/tsx", "src/worker.ts"]
