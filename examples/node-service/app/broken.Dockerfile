# BROKEN ON PURPOSE: the Dockerfile next to it with one "optimisation": the deps stage
# runs on $BUILDPLATFORM (natively, no QEMU) and vendors dependencies like `npm ci`, for the
# platform it runs on. Every target image then gets the BUILD machine's compiled addon:
# on linux/arm64 node_sqlite3.node is an x86-64 ELF file. The build succeeds; the image
# fails only when the addon loads. The multiarch pipeline must refuse to tag it.
#
# The notes service: a Node.js HTTP API with the native addon sqlite3.
#
#   deps        production node_modules, on the TARGET platform: a native addon must be
#               compiled (here: taken from Debian) for the platform that runs it.
#   build       pure JavaScript, on the BUILD platform: fast, no emulation.
#   production  the base image of the target platform, node_modules from deps, dist from build.
#
# BASE (required, no default: nothing is pulled from a public registry by accident) is a
# multi-platform Node.js image; internal/nodebase makes one offline from Debian packages.
ARG BASE

FROM --platform=$BUILDPLATFORM ${BASE} AS deps
WORKDIR /app
COPY package.json scripts/vendor.js ./
RUN node vendor.js

FROM --platform=$BUILDPLATFORM ${BASE} AS build
WORKDIR /app
COPY package.json scripts/build.js ./
COPY src ./src
RUN node build.js src dist

FROM ${BASE} AS production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
ENV NODE_ENV=production PORT=8080
USER 65534
EXPOSE 8080
CMD ["node", "dist/server.js"]
