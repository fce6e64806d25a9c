# The cloudshift worker image, as docker-compose.yml runs it.
FROM node:20.19-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# onnxruntime-node's installer would fetch CUDA libraries; the bundled CPU build is enough here.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm install --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY deploy ./deploy
USER node
CMD ["node_modules/.bin/tsx", "src/worker.ts"]
