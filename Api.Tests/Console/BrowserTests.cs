using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using RnnService.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RnnService.Api.Tests.Console;

/// <summary>
/// The console and Swagger UI in a real browser: Console/tests/console.mjs drives Debian's Chromium with playwright-core
/// against the built service, run as its own process with an API key required. The script's steps and figures are in
/// the test's output; its screenshots in screenshots/console/ at the repository's root.
/// </summary>
public sealed class BrowserTests(ITestOutputHelper output)
{
    private const string Key = "console-browser-test-key";

    private static string Root() => Path.GetDirectoryName(PyTorch.Readme())!;

    [Fact]
    public async Task UploadTrainWatchPredictAndExploreInTheConsoleThenTryItOutInSwaggerUi()
    {
        var root = Root();
        var chromium = Environment.GetEnvironmentVariable("CHROMIUM") ?? "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), $"{chromium} is missing: scripts/install-deps.sh --test installs Debian's chromium");
        Assert.True(Directory.Exists(Path.Combine(root, "Console", "node_modules", "playwright-core")), "Console/node_modules has no playwright-core: the build runs npm ci there");

        var data = Directory.CreateTempSubdirectory("rnn-console-");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["Storage__DataDirectory"] = data.FullName,
            ["Auth__Keys__0__Name"] = "console",
            ["Auth__Keys__0__Sha256"] = hash,
            ["Auth__Keys__0__Scopes__0"] = "admin",
            ["Auth__Keys__0__Scopes__1"] = "train",
            ["Auth__Keys__0__Scopes__2"] = "predict",
            ["Worker__PollSeconds"] = "0.2",
        });
        await service.ReadyClientAsync();
        var shots = Path.Combine(root, "screenshots", "console");
        var start = new ProcessStartInfo("node", ["tests/console.mjs", service.Address.ToString().TrimEnd('/'), shots, Key])
        {
            WorkingDirectory = Path.Combine(root, "Console"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["CHROMIUM"] = chromium },
        };
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try
        {
            await node.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
        }
        output.WriteLine(await stdout);
        output.WriteLine(await stderr);
        try
        {
            data.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        Assert.True(node.HasExited && node.ExitCode == 0,
            $"the browser run failed (screenshot: {shots}/failure.png):\n{await stdout}\n{await stderr}\nservice:\n{service.Output}");
        Assert.Contains("all checks passed", await stdout);
        foreach (var page in new[] { "job-running", "explorer", "model-forecast", "swagger-try-it-out", "phone-explorer" })
            Assert.True(File.Exists(Path.Combine(shots, page + ".png")), page);
    }
}
