# pathwatch images. One build stage (TypeScript -> dist/), three final targets:
#
#   docker build --target collector -t pathwatch:collector .   # pathwatch collector, with chDB; runs as `node`
#   docker build --target agent     -t pathwatch:agent .       # pathwatch agent: the native addon (libpcap, libbpf), iproute2; no chDB
#   docker build --target watch     -t pathwatch:watch .       # pathwatch watch on one host (no collector)
#
# Every image's entry point is the pathwatch command line; its CMD names the command.
# docker-compose.yml and deploy/kubernetes/ run them; README.md ("Deployment") says with which privileges.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# The native packet engine's build (node-gyp against this Node's own headers, which the image has):
# a C compiler, make and python3, and the headers of libpcap, libbpf and zlib it links with.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 libpcap-dev libbpf-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json binding.gyp ./
# --ignore-scripts: no install script runs. chDB's is empty (its library comes prebuilt in the
# platform package @chdb/lib-*); ours (the addon's build) runs below, once its sources are here,
# and so does the TypeScript build (npm's `prepare`).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY scripts/build-native.mjs scripts/build-native.mjs
COPY native native
RUN node scripts/build-native.mjs && test -f build/Release/pathwatch_native.node
COPY core core
COPY agent agent
COPY collector collector
COPY modes modes
COPY cli cli
COPY lab lab
COPY bench bench
COPY bin bin
COPY schemas schemas
# The web UI's files (collector/ui) are served from the sources' folder; made empty when absent so
# the collector's COPY below always finds it.
RUN npm run build && mkdir -p collector/ui

# The collector's dependencies: everything but the development tools; the optional ones stay, as
# chDB's native library is one of them.
FROM build AS collector-deps
RUN npm prune --omit=dev --no-audit --no-fund \
 && node -e "import('chdb').then(() => console.log('chdb loads'))"

# The agent's dependencies: no chDB. The agent never loads it (cli/main.ts imports the collector's
# command only when it runs), so it is taken out of the dependencies and npm removes it with what
# only it needed; --omit=optional drops chDB's native library.
FROM build AS agent-deps
RUN npm pkg delete dependencies.chdb \
 && npm prune --omit=dev --omit=optional --no-audit --no-fund \
 && rm -rf node_modules/@chdb \
 && find node_modules -mindepth 1 -maxdepth 1 -type d -empty -delete \
 && test ! -e node_modules/chdb

# No native addon here: the collector judges findings shipped by agents and never loads it (only
# live capture and the agent's interface list do), so neither it nor libpcap is installed.
FROM ${NODE_IMAGE} AS collector
ENV NODE_ENV=production
WORKDIR /app
COPY --from=collector-deps /app/package.json ./
COPY --from=collector-deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/bin bin
COPY --from=build /app/schemas schemas
COPY --from=build /app/collector/ui collector/ui
# The embedded store's directory (only used with --store embedded:...), owned by the unprivileged user.
RUN mkdir -p /var/lib/pathwatch && chown node:node /var/lib/pathwatch
USER node
EXPOSE 7070
ENTRYPOINT ["node", "/app/bin/pathwatch.js"]
# A non-loopback listener needs both tokens (mount them as files); docker-compose.yml and the
# Kubernetes manifests give their own command, with a ClickHouse server as the store.
CMD ["collector", "--listen", "0.0.0.0:7070", "--store", "embedded:/var/lib/pathwatch/data", \
     "--token-file", "/run/secrets/ingest_token", "--read-token-file", "/run/secrets/read_token"]

# What the live commands run: the addon's shared libraries, libpcap (the capture) and libbpf (it
# loads the kernel drop monitor's BPF program into the agent's own process; zlib is linked in
# statically), iproute2 (`ip route get` for the way back, `ip route show match` for the route a
# destination meets) and iptables (`iptables-save -c`, nft backend: which dropping rule's counter
# grew while packets vanished). Nothing runs beside the agent.
FROM ${NODE_IMAGE} AS node-tools
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libbpf1 iproute2 iptables \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app

# Runs as root with a bounded set of capabilities (docker-compose.yml, deploy/kubernetes/): tracefs,
# where the drop reasons' numbers are read, is root's alone, and container runtimes give added
# capabilities to another user only through file capabilities. The capture needs CAP_NET_RAW and
# CAP_NET_ADMIN, the drop monitor CAP_BPF and CAP_PERFMON.
FROM node-tools AS agent
COPY --from=agent-deps /app/package.json ./
COPY --from=agent-deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/bin bin
COPY --from=build /app/schemas schemas
# The addon, where agent/native/native-addon.ts looks for it: build/Release beside binding.gyp.
COPY --from=build /app/binding.gyp ./
COPY --from=build /app/build/Release/pathwatch_native.node build/Release/pathwatch_native.node
# The kernel drop monitor's BPF object (built from native/bpf/drop_monitor.bpf.c, committed).
COPY --from=build /app/native/bpf/drop_monitor.bpf.o native/bpf/drop_monitor.bpf.o
# The agent's command line loads without chDB, and the addon loads with the image's libpcap and
# libbpf (the build fails here if either ever does not).
RUN test ! -e node_modules/chdb && node bin/pathwatch.js agent --help >/dev/null \
 && node -e "import('./dist/agent/native/native-addon.js').then((m) => console.log(m.nativeAddon().versions().libpcap))" \
 && mkdir -p /var/lib/pathwatch/spool
ENTRYPOINT ["node", "/app/bin/pathwatch.js"]
CMD ["agent", "--help"]

# `pathwatch watch` on the host it is given (host network namespace): the agent's image, another command.
FROM agent AS watch
CMD ["watch"]
