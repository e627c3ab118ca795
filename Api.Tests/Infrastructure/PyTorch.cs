using System.Diagnostics;

namespace RnnService.Api.Tests.Infrastructure;

/// <summary>
/// Runs Parity/pytorch_reference.py with Debian's python3-torch (or the interpreter in RNN_PYTHON):
/// the same libtorch kernels driven by PyTorch itself, as the reference our engine must match.
/// </summary>
public static class PyTorch
{
    public static string Python => Environment.GetEnvironmentVariable("RNN_PYTHON") ?? "/usr/bin/python3";

    public static string Run(params string[] arguments) => RunScript("pytorch_reference.py", arguments);

    /// <summary>Runs one of the scripts under Parity/ and returns what it printed.</summary>
    public static string RunScript(string script, params string[] arguments) =>
        Execute(Path.Combine(AppContext.BaseDirectory, "Parity", script), script, arguments);

    /// <summary>
    /// The repository's README.md, found above the test assembly or, where the assembly runs from a kit unpacked
    /// elsewhere (scripts/gpu/verify.sh), in the checkout RNN_REPOSITORY names.
    /// </summary>
    public static string Readme()
    {
        var checkout = Environment.GetEnvironmentVariable("RNN_REPOSITORY");
        if (!string.IsNullOrEmpty(checkout) && File.Exists(Path.Combine(checkout, "README.md"))) return Path.Combine(checkout, "README.md");
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var path = Path.Combine(directory.FullName, "README.md");
            if (File.Exists(path) && Directory.Exists(Path.Combine(directory.FullName, "Api.Tests"))) return path;
        }
        throw new FileNotFoundException("README.md above " + AppContext.BaseDirectory);
    }

    /// <summary>A page of the manual (<c>docs/NAME</c>): its examples are run by the tests, so that none can rot.</summary>
    public static string Manual(string name) => Path.Combine(Path.GetDirectoryName(Readme())!, "docs", name);

    /// <summary>Runs a few lines of Python (with <c>sys.argv[1:]</c> = <paramref name="arguments"/>) and returns what they printed.</summary>
    public static string RunCode(string code, params string[] arguments)
    {
        var file = Path.Combine(Path.GetTempPath(), $"rnnservice-{Guid.NewGuid():N}.py");
        File.WriteAllText(file, code);
        try
        {
            return Execute(file, "(inline code)", arguments);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string Execute(string path, string script, string[] arguments)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(path);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Python}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2))) process.Kill(entireProcessTree: true);
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{Python} {script} {string.Join(' ', arguments)} failed ({process.ExitCode}); is python3-torch installed? {stderr.Result}");
        return stdout.Result;
    }
}

/// <summary>Test classes that read <see cref="PyTorchCases"/> share one generation of them.</summary>
[CollectionDefinition(Name)]
public sealed class PyTorchCollection : ICollectionFixture<PyTorchCases>
{
    public const string Name = "PyTorch reference cases";
}

/// <summary>The cases PyTorch generates once per test run: weights, inputs and PyTorch's outputs.</summary>
public sealed class PyTorchCases : IDisposable
{
    public PyTorchCases()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("rnnservice-parity-").FullName;
        PyTorch.Run("generate", Directory);
        Cases = System.IO.Directory.GetFiles(Directory, "*.json")
            .Order(StringComparer.Ordinal)
            .Select(ParityCase.Load)
            .ToList();
    }

    public string Directory { get; }

    public IReadOnlyList<ParityCase> Cases { get; }

    public ParityCase this[string name] => Cases.Single(c => c.Name == name);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
