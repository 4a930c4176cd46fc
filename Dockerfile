# pathwatch image: built in one stage (TypeScript -> dist/), run in a slim one with tcpdump.
# The collector (with chDB) and the agent will get their own targets when they exist; today the
# image runs `pathwatch watch` on the host it is given (host network namespace).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY agent agent
COPY collector collector
COPY cli cli
COPY lab lab
COPY bench bench
COPY bin bin
COPY schemas schemas
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim AS watch
RUN apt-get update && apt-get install -y --no-install-recommends tcpdump && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/bin bin
COPY --from=build /app/schemas schemas
ENTRYPOINT ["node", "/app/bin/pathwatch.js"]
CMD ["watch"]
