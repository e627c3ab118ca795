using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace RnnService.Bench.Reliability;

/// <summary>
/// The published service (<c>dotnet RnnService.Api.dll</c>) as its own process on a loopback port, configured by
/// environment variables as a container is; its output goes to a log file in the work folder.
/// </summary>
public sealed class ServiceUnderTest : IDisposable
{
    private readonly Process process;
    private readonly StreamWriter log;

    private ServiceUnderTest(Process process, Uri address, StreamWriter log)
    {
        this.process = process;
        this.log = log;
        Address = address;
        process.OutputDataReceived += (_, line) => Write(line.Data);
        process.ErrorDataReceived += (_, line) => Write(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri Address { get; }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    public static ServiceUnderTest Start(string apiDll, IReadOnlyDictionary<string, string> environment, string logPath, int port = 0)
    {
        var address = new Uri($"http://127.0.0.1:{(port == 0 ? FreePort() : port)}");
        var start = new ProcessStartInfo("dotnet", [apiDll, "--urls", address.ToString()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment) start.Environment[key] = value;
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        return new ServiceUnderTest(Process.Start(start)!, address, log);
    }

    /// <summary>Waits until /health/ready answers 200.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (process.HasExited) throw new InvalidOperationException($"the service exited with {process.ExitCode}");
            try
            {
                if ((await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("the service did not become ready");
    }

    /// <summary>SIGKILL: nothing runs on the way out.</summary>
    public void Kill()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    /// <summary>SIGTERM, as <c>docker stop</c> and Kubernetes send it; waits for the exit and returns its code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (Kill(process.Id, 15) != 0) throw new InvalidOperationException($"kill(SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        using var deadline = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(deadline.Token);
        return process.ExitCode;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Resident memory now, from /proc.</summary>
    public long RssBytes() => Status("VmRSS:");

    /// <summary>The most resident memory since the start or the last <see cref="ResetPeak"/> (VmHWM).</summary>
    public long PeakBytes() => Status("VmHWM:");

    /// <summary>Starts the peak over from the resident memory now (Linux: "5" to /proc/PID/clear_refs).</summary>
    public void ResetPeak() => File.WriteAllText($"/proc/{process.Id}/clear_refs", "5");

    private long Status(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException($"no {field} in /proc status");
    }

    private void Write(string? line)
    {
        if (line is null) return;
        lock (log) log.WriteLine(line);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!process.HasExited) Kill();
        process.Dispose();
        lock (log) log.Dispose();
    }
}
