# syntax=docker/dockerfile:1
# faiss-proxy's service image: FAISS built from Debian's source by the project's own
# script, the addon and the TypeScript built in a builder stage; a small Debian runtime
# with OpenBLAS, Node and the built package.
#
#   docker build -t faiss-proxy .
#   docker run -d -p 8080:8080 -v faiss-data:/data -e FAISS_PROXY_ADMIN_KEY=... faiss-proxy
#
# Build arguments:
#   BASE_IMAGE       the Debian bookworm both stages start from (scripts/container-check.sh
#                    passes one it made with debootstrap, where no registry is reachable)
#   NODE_IMAGE       where Node comes from: the official image's node binary, headers and npm
#                    are copied into both stages (Debian bookworm's nodejs is 18; the package
#                    needs >= 20.12). Any image with node at /usr/local/bin/node will do.
#   NODE_EXTRA_CA_CERTS  a CA bundle npm trusts (a TLS-intercepting proxy; see below)
#   FAISS_PROXY_ISA  the instruction set FAISS and the addon are compiled for: avx2 (default:
#                    AVX2, FMA, F16C, most x86 servers since 2015), avx512 or generic. The addon
#                    refuses, with a clear error, to load on a CPU that lacks it.
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim
ARG NODE_IMAGE=docker.io/library/node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS node

# --- builder ----------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS builder
ARG FAISS_PROXY_ISA=avx2
ARG JOBS=
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates cmake make g++ dpkg-dev libopenblas-pthread-dev python3 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/include/node /usr/local/include/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version
# node-gyp (better-sqlite3) compiles against the headers above instead of downloading
# them; better-sqlite3 is compiled from source like everything else here.
ENV npm_config_nodedir=/usr/local npm_config_build_from_source=true npm_config_update_notifier=false
WORKDIR /src

# FAISS first, in a layer of its own: it depends only on this script, so a change to the
# sources reuses it (the longest step: minutes).
COPY scripts/build-faiss.sh scripts/build-faiss.sh
RUN FAISS_PROXY_ISA=${FAISS_PROXY_ISA} JOBS=${JOBS:-$(nproc)} bash scripts/build-faiss.sh

COPY package.json package-lock.json ./
# Behind a proxy that intercepts TLS: its CA bundle, mounted into the build's steps
# (podman/buildah: build -v bundle:/run/ca.crt:ro --build-arg NODE_EXTRA_CA_CERTS=/run/ca.crt;
# docker build mounts no files: there, a BuildKit secret mount on this step); it stays out
# of the image.
ARG NODE_EXTRA_CA_CERTS=
# --ignore-scripts: the package's own install script builds the node-gyp addon, which the
# image does not use (the cmake-js build below is the primary one).
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3

COPY . .
RUN node_modules/.bin/cmake-js compile --out build-cmake \
 && node_modules/.bin/tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && mkdir -p /out/app/build-cmake/Release /out/app/dist /out/app/service \
 && cp package.json /out/app/ \
 && cp -r node_modules /out/app/ \
 && cp -r dist/lib dist/service /out/app/dist/ \
 && cp -r service/dashboard service/docs-page /out/app/service/ \
 && cp build-cmake/Release/faiss_node.node build-cmake/Release/faiss-proxy-sandbox \
       build-cmake/Release/faiss-build-info.json /out/app/build-cmake/Release/

# --- runtime ----------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
# What the addon and its sandbox load at run time (ldd): OpenBLAS (with libgfortran)
# and OpenMP's libgomp; libstdc++ is in the base.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libopenblas0-pthread libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home faiss-proxy \
 && mkdir /data && chown faiss-proxy:faiss-proxy /data
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=builder /out/app /app

# Configuration: every option is a FAISS_PROXY_* variable (faiss-proxy help). The admin
# key: FAISS_PROXY_ADMIN_KEY, or FAISS_PROXY_ADMIN_KEY_FILE naming a secrets file
# (/run/secrets/...); without either, the first start prints a generated one once.
ENV FAISS_PROXY_HOST=0.0.0.0 \
    FAISS_PROXY_PORT=8080 \
    FAISS_PROXY_DATA_DIR=/data \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
    NODE_ENV=production
VOLUME /data
EXPOSE 8080
USER faiss-proxy
WORKDIR /data
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FAISS_PROXY_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/service/cli.js"]
CMD ["serve"]
