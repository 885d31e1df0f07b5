# DuckHouse's own processes for docker-compose.yml (profile "duckhouse").
FROM node:20.18.1-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
ENTRYPOINT []
CMD ["node", "bin/duckhouse.js", "--help"]
