# The registry image: a drop-in for registry:2 (same REGISTRY_* variables, same /var/lib/registry
# layout, port 5000). The default command runs both processes in one container, storage on the
# container's loopback; docker-compose.yaml runs them as two services instead.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY common ./common
COPY storage ./storage
COPY gateway ./gateway
COPY cli ./cli
COPY test ./test
COPY scripts/build-ui.mjs ./scripts/build-ui.mjs
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    UV_THREADPOOL_SIZE=16 \
    MALLOC_ARENA_MAX=2 \
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/common ./dist/common
COPY --from=build /app/dist/storage ./dist/storage
COPY --from=build /app/dist/gateway ./dist/gateway
COPY --from=build /app/dist/cli ./dist/cli
RUN ln -s /app/dist/cli/main.js /usr/local/bin/registry && chmod +x /app/dist/cli/main.js \
    && mkdir -p /var/lib/registry /run/registry && chmod 700 /run/registry
# /run/registry is private (700): compose's storage listens there on a unix socket without a
# token, which `registry storage` allows only in a directory nobody else can open. A named volume
# mounted there starts as a copy of it, mode included.
VOLUME ["/var/lib/registry"]
EXPOSE 5000
# A smaller young generation keeps each process under 100 MiB (see cli/commands/start.ts).
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/dist/cli/main.js"]
CMD ["start"]
