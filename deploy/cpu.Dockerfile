# RnnService for CPUs: the API and the worker in one image (the role comes from the Roles variable).
#   docker build -f deploy/cpu.Dockerfile -t rnnservice:cpu .
# Every base image is a build argument, so that the image also builds from locally made bases
# (deploy/bases/make-bases.sh) on a machine that cannot pull from a registry. BUILD_IMAGE and RUNTIME_IMAGE must be
# the same Debian release: the shim is built against that release's libtorch and runs on it.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG BUILD_IMAGE=debian:bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# The native shim, against Debian's libtorch 1.13.
FROM ${BUILD_IMAGE} AS native
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake make g++ libtorch-dev \
 && rm -rf /var/lib/apt/lists/*
COPY Training/Native /src/Training/Native
RUN cmake -S /src/Training/Native -B /build -DCMAKE_BUILD_TYPE=Release && cmake --build /build --parallel

# The .NET service, published framework-dependent; the shim built above goes in with it.
FROM ${SDK_IMAGE} AS dotnet
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY Domain/Domain.csproj Domain/
COPY Training/Training.csproj Training/
COPY Api/Api.csproj Api/
RUN dotnet restore Api/Api.csproj
COPY Domain Domain
COPY Training Training
COPY Api Api
# The web console is built on the host (dotnet build runs npm in Console/; the SDK image has no Node.js): its files
# are taken as built.
COPY Console/dist Console/dist
COPY --from=native /build/librnnshim.so Training/obj/native/librnnshim.so
RUN dotnet publish Api/Api.csproj -c Release --no-restore -p:SkipNativeBuild=true -p:SkipConsoleBuild=true -o /app

# The runtime: Debian's libtorch, the .NET runtime taken from the SDK stage, the service, a non-root user.
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libtorch1.13 libopenblas0-openmp curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=dotnet /usr/share/dotnet/dotnet /usr/share/dotnet/dotnet
COPY --from=dotnet /usr/share/dotnet/host /usr/share/dotnet/host
COPY --from=dotnet /usr/share/dotnet/shared/Microsoft.NETCore.App /usr/share/dotnet/shared/Microsoft.NETCore.App
COPY --from=dotnet /usr/share/dotnet/shared/Microsoft.AspNetCore.App /usr/share/dotnet/shared/Microsoft.AspNetCore.App
COPY --from=dotnet /app /app
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && groupadd --system --gid 10001 rnn \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/rnnservice --no-create-home rnn \
 && mkdir -p /var/lib/rnnservice && chown rnn:rnn /var/lib/rnnservice
# Configuration is environment variables (Section__Key). The defaults: both roles, SQLite in the volume.
ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    ASPNETCORE_URLS=http://0.0.0.0:8080 \
    RNN_HEALTH_URL=http://127.0.0.1:8080/health/ready \
    Roles=api,worker \
    Storage__DataDirectory=/var/lib/rnnservice
VOLUME /var/lib/rnnservice
WORKDIR /app
USER rnn
EXPOSE 8080
# Ready means: the job store answers, the roles' folders are writable, the engine is loaded.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD curl -fsS -o /dev/null "$RNN_HEALTH_URL" || exit 1
# SIGTERM lets a worker give its job back to the queue; it resumes from the last checkpoint elsewhere.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "RnnService.Api.dll"]
