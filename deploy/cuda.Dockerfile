# RnnService for NVIDIA GPUs: the same service on a CUDA build of libtorch (PyTorch 2.x), on an NVIDIA CUDA runtime.
#   docker build -f deploy/cuda.Dockerfile -t rnnservice:cuda .
# Base images and libtorch are build arguments. LIBTORCH_URL is a libtorch zip (cxx11 ABI) for the CUDA version of
# the bases, from https://pytorch.org ("LibTorch") or any address curl reaches (a mirror, a server on loopback).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG CUDA_DEVEL_IMAGE=nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

# libtorch and the native shim, built with the CUDA toolkit.
FROM ${CUDA_DEVEL_IMAGE} AS native
ARG LIBTORCH_URL=https://download.pytorch.org/libtorch/cu124/libtorch-cxx11-abi-shared-with-deps-2.5.1%2Bcu124.zip
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake make g++ curl unzip ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL "$LIBTORCH_URL" -o /tmp/libtorch.zip && unzip -q /tmp/libtorch.zip -d /opt && rm /tmp/libtorch.zip
COPY Training/Native /src/Training/Native
RUN cmake -S /src/Training/Native -B /build -DCMAKE_BUILD_TYPE=Release -DTorch_DIR=/opt/libtorch/share/cmake/Torch \
 && cmake --build /build --parallel

# The .NET service, as in the CPU image.
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

FROM ${CUDA_RUNTIME_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates libgomp1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=native /opt/libtorch/lib /opt/libtorch/lib
COPY --from=dotnet /usr/share/dotnet/dotnet /usr/share/dotnet/dotnet
COPY --from=dotnet /usr/share/dotnet/host /usr/share/dotnet/host
COPY --from=dotnet /usr/share/dotnet/shared/Microsoft.NETCore.App /usr/share/dotnet/shared/Microsoft.NETCore.App
COPY --from=dotnet /usr/share/dotnet/shared/Microsoft.AspNetCore.App /usr/share/dotnet/shared/Microsoft.AspNetCore.App
COPY --from=dotnet /app /app
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && groupadd --system --gid 10001 rnn \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/rnnservice --no-create-home rnn \
 && mkdir -p /var/lib/rnnservice && chown rnn:rnn /var/lib/rnnservice
ENV LD_LIBRARY_PATH=/opt/libtorch/lib \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    ASPNETCORE_URLS=http://0.0.0.0:8080 \
    RNN_HEALTH_URL=http://127.0.0.1:8080/health/ready \
    Roles=worker \
    Storage__DataDirectory=/var/lib/rnnservice
VOLUME /var/lib/rnnservice
WORKDIR /app
USER rnn
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD curl -fsS -o /dev/null "$RNN_HEALTH_URL" || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "RnnService.Api.dll"]
