#!/usr/bin/env bash
# Packs what scripts/gpu/verify.sh needs on a GPU machine that has PyTorch but no .NET into .gpu/ (ignored by git;
# carry it there, 64 MiB at most):
#   dotnet.tar.xz   the .NET host and shared runtimes (no SDK)
#   app.tar.xz      one folder with the test assembly and an xunit console runner, the service, and the benchmark
#                   harnesses (TrainingBench, LoadGen), built without the shim: verify.sh builds it there against that
#                   machine's libtorch
#   peer.tar.xz     the FastAPI peer's pure-Python packages, from Debian (fastapi, starlette, pydantic 1, uvicorn, ...)
# Run here, with the .NET SDK: scripts/gpu/pack.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh --bench
kit=.gpu
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
rm -rf "$kit"
mkdir -p "$kit" "$stage/app"

dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
tar -C "$dotnet_root" -cf - dotnet host shared/Microsoft.NETCore.App shared/Microsoft.AspNetCore.App | xz -T0 -6 > "$kit/dotnet.tar.xz"

# xunit's console runner (the machine has no SDK, so no `dotnet test`), restored through a throwaway project.
mkdir -p "$stage/runner"
cat > "$stage/runner/runner.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
  <ItemGroup><PackageDownload Include="xunit.runner.console" Version="[2.4.1]" /></ItemGroup>
</Project>
XML
dotnet restore "$stage/runner/runner.csproj" --packages "$stage/packages" -v quiet >/dev/null

for project in Api.Tests bench/TrainingBench bench/LoadGen; do
  dotnet build "$project" -c Release -p:SkipNativeBuild=true -p:SatelliteResourceLanguages=en --nologo -v quiet >/dev/null
  cp -rn "$project/bin/Release/net10.0/." "$stage/app/"
done
rm -f "$stage/app/librnnshim.so"
# Linux x86-64 only: SQLite's native builds for other systems and the compile-time reference assemblies stay here.
find "$stage/app/runtimes" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
rm -rf "$stage/app/refs"
# The xunit runner is the host there, so the test assembly's native assets (SQLite) must lie beside it.
cp "$stage"/app/runtimes/linux-x64/native/*.so "$stage/app/"
cp "$stage"/packages/xunit.runner.console/2.4.1/tools/netcoreapp2.0/xunit.*.dll "$stage/app/"
# The runner starts with the test assembly's frameworks (ASP.NET Core too) and finds its own assemblies beside it.
cp Api.Tests/bin/Release/net10.0/Api.Tests.runtimeconfig.json "$stage/app/xunit.console.runtimeconfig.json"
tar -C "$stage/app" -cf - . | xz -T0 -6 > "$kit/app.tar.xz"

packages=(fastapi starlette pydantic uvicorn asgiref anyio sniffio h11 click typing_extensions.py idna)
tar -C /usr/lib/python3/dist-packages -cf - "${packages[@]}" | xz -T0 -6 > "$kit/peer.tar.xz"
du -h "$kit"/*
