# syntax=docker/dockerfile:1

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY schemas ./schemas
COPY src ./src
COPY ui ./ui
COPY scripts/build-cjs.mjs scripts/build-bundle.mjs ./scripts/
COPY scripts/lib/es-twin.mjs ./scripts/lib/
# `npm ci` runs `prepare`, which builds dist/; then only runtime dependencies are kept.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The inspector page (/__mock/ui): static files, served as they are.
COPY --from=build /app/ui ./ui
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/__mock/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly, not npm start: npm does not pass SIGTERM on, so the mock could not shut down cleanly.
# The same Node.js flags as `npm start` (package.json; test/bench/start-flags.test.ts keeps them equal).
CMD ["node", "dist/bundle/server.js"]
