using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace RnnService.Api.Tests.Infrastructure;

/// <summary>
/// The built service (RnnService.Api.dll beside the tests) run with <c>dotnet</c> as its own process on a loopback
/// port, configured through environment variables as a container would be. Its output is kept for the tests to read.
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    private const int SigTerm = 15;

    private readonly Process process;
    private readonly List<string> output = [];

    private ServiceProcess(Process process, Uri address)
    {
        this.process = process;
        Address = address;
        process.OutputDataReceived += (_, line) => { lock (output) output.Add(line.Data ?? ""); };
        process.ErrorDataReceived += (_, line) => { lock (output) output.Add(line.Data ?? ""); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri Address { get; }

    public int Id => process.Id;

    /// <summary>Resident memory now (VmRSS).</summary>
    public long ResidentBytes => Status("VmRSS:");

    /// <summary>The most resident memory since the start or the last <see cref="ResetPeak"/> (VmHWM).</summary>
    public long PeakBytes => Status("VmHWM:");

    /// <summary>Address space mapped now (VmSize).</summary>
    public long VirtualBytes => Status("VmSize:");

    /// <summary>Starts the peak over from the resident memory now (Linux: "5" to /proc/PID/clear_refs).</summary>
    public void ResetPeak() => File.WriteAllText($"/proc/{process.Id}/clear_refs", "5");

    /// <summary>
    /// Caps the process's address space (the soft RLIMIT_AS) from now on: a mapping past it fails at once with ENOMEM,
    /// as an allocation on a machine without the memory would, instead of being overcommitted. Null lifts the cap.
    /// </summary>
    public void LimitAddressSpace(long? bytes)
    {
        var limit = new ResourceLimit { Current = bytes is { } cap ? (ulong)cap : ulong.MaxValue, Maximum = ulong.MaxValue };
        if (PrLimit(process.Id, AddressSpace, ref limit, IntPtr.Zero) != 0) Assert.Fail($"prlimit failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private long Status(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException($"no {field} in /proc/{process.Id}/status");
    }

    private const int AddressSpace = 9;  // RLIMIT_AS on Linux

    [StructLayout(LayoutKind.Sequential)]
    private struct ResourceLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [DllImport("libc", EntryPoint = "prlimit", SetLastError = true)]
    private static extern int PrLimit(int pid, int resource, ref ResourceLimit limit, IntPtr old);

    /// <summary>The embedded default (SQLite) on <paramref name="dataDirectory"/>, with a 2 s lease.</summary>
    public static ServiceProcess Start(string dataDirectory) =>
        Start(new Dictionary<string, string> { ["Storage__DataDirectory"] = dataDirectory });

    /// <summary>The service with these environment variables over fast polling and a 2 s lease.</summary>
    public static ServiceProcess Start(IReadOnlyDictionary<string, string> environment)
    {
        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        var start = new ProcessStartInfo("dotnet", ["RnnService.Api.dll", "--urls", address.ToString()])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["Worker__PollSeconds"] = "0.2",
                ["Worker__HeartbeatSeconds"] = "0.5",
                ["Worker__LeaseSeconds"] = "2",
                ["DOTNET_ENVIRONMENT"] = "Testing",
                ["ASPNETCORE_ENVIRONMENT"] = "Testing",
            },
        };
        foreach (var (key, value) in environment) start.Environment[key] = value;
        return new ServiceProcess(Process.Start(start)!, address);
    }

    /// <summary>A client once /health/ready answers 200.</summary>
    public async Task<HttpClient> ReadyClientAsync()
    {
        var client = new HttpClient { BaseAddress = Address };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) Assert.Fail($"the service exited with {process.ExitCode}:\n{Output}");
            try
            {
                if ((await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK) return client;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        Assert.Fail($"the service did not become ready:\n{Output}");
        return client;
    }

    /// <summary>Every line the process wrote so far, standard output and error together.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (output) return output.ToList();
        }
    }

    /// <summary>SIGKILL: no shutdown, no checkpoint, no lease release.</summary>
    public void Kill()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    /// <summary>
    /// SIGTERM, as a container runtime or Kubernetes stops a container, then waits for the process to end; fails the test
    /// when it has not within <paramref name="grace"/>. Returns the exit code.
    /// </summary>
    public async Task<int> TerminateAsync(TimeSpan grace)
    {
        if (Kill(process.Id, SigTerm) != 0) Assert.Fail($"kill({process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the service was still running {grace.TotalSeconds} s after SIGTERM:\n{Output}");
        }
        return process.ExitCode;
    }

    // DllImport rather than LibraryImport, whose generated code needs unsafe blocks in the tests.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>The last lines of output, for a failure message.</summary>
    public string Output => string.Join("\n", Lines.TakeLast(40));

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!process.HasExited) Kill();
        process.Dispose();
    }
}
