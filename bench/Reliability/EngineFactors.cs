using System.Diagnostics;
using System.Globalization;
using RnnService.Domain.Budgets;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Bench.Reliability;

/// <summary>
/// Re-measures the factors of <see cref="EngineMemory"/> on this machine's libtorch: for each cell and direction, the
/// peak resident memory of a training step and of a forward pass over batches of 128 × 200 steps × 512 units, with 1,
/// 2 and 3 layers, each in a fresh process (so that no freed memory is reused), less the model's own 16 bytes a
/// parameter and libtorch's working memory. A training step's factors are the least-squares line through the layers;
/// printed beside the ones the estimates use.
/// </summary>
public static class EngineFactors
{
    private const int Batch = 128, Steps = 200, Hidden = 512, Features = 4;

    public static async Task<int> RunAsync(string jsonPath)
    {
        var rows = new List<object>();
        Console.WriteLine("cell dir  measured α, β (step)  used α, β      measured φ (forward)  used φ");
        foreach (var cell in new[] { CellKind.Lstm, CellKind.Gru, CellKind.Rnn })
        foreach (var bidirectional in new[] { false, true })
        {
            var units = new List<(int Layers, double Step, double Forward)>();
            for (var layers = 1; layers <= 3; layers++)
            {
                var output = await ChildAsync(cell, layers, bidirectional);
                var parts = output.Split(' ');
                units.Add((layers, double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture)));
            }
            // Least squares of step units against layers: α the slope, β the intercept.
            var meanLayers = units.Average(u => u.Layers);
            var meanStep = units.Average(u => u.Step);
            var alpha = units.Sum(u => (u.Layers - meanLayers) * (u.Step - meanStep)) / units.Sum(u => (u.Layers - meanLayers) * (u.Layers - meanLayers));
            var beta = meanStep - alpha * meanLayers;
            var phi = units.Max(u => u.Forward);
            var (usedAlpha, usedBeta) = EngineMemory.StepFactors(cell, bidirectional);
            var usedPhi = EngineMemory.ForwardFactor(cell);
            Console.WriteLine($"{cell,-4} {(bidirectional ? "bi" : "uni"),-4} {alpha,8:F2} {beta,7:F2}      {usedAlpha,6:F2} {usedBeta,6:F2}    {phi,8:F2}              {usedPhi:F2}");
            rows.Add(new { cell = cell.ToString(), bidirectional, units, alpha, beta, usedAlpha, usedBeta, forward = phi, usedForward = usedPhi });
        }
        Report.Write(jsonPath, new { batch = Batch, steps = Steps, hidden = Hidden, features = Features, rows });
        return 0;
    }

    private static ModelSpec Spec(CellKind cell, int layers, bool bidirectional) => new()
    {
        Cell = cell, InputSize = Features, HiddenSize = Hidden, NumLayers = layers, Bidirectional = bidirectional, OutputSize = 1,
        Dropout = layers > 1 ? 0.1 : 0,
    };

    private static async Task<string> ChildAsync(CellKind cell, int layers, bool bidirectional)
    {
        var start = new ProcessStartInfo("dotnet", [typeof(EngineFactors).Assembly.Location, "engine-child", cell.ToString(), layers.ToString(CultureInfo.InvariantCulture), bidirectional.ToString()])
        {
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"the measuring process failed ({process.ExitCode})");
        return output.Trim();
    }

    /// <summary>
    /// In the child: a forward pass's peak above the model, less libtorch's working memory, in units of 4 · batch · steps · hidden · directions, then a
    /// training step's peak above the process before the model, less the model's 16 bytes a parameter and libtorch's
    /// working memory, in units of 4 · batch · steps · hidden. The second step is measured: the first has made the
    /// allocator's arenas, as every step after the first of a job finds them.
    /// </summary>
    public static int Child(string[] args)
    {
        var spec = Spec(Enum.Parse<CellKind>(args[1]), int.Parse(args[2], CultureInfo.InvariantCulture), bool.Parse(args[3]));
        TorchEngine.KeepFreedMemory(TorchEngine.DefaultKeepFreedMemoryMiB);
        var random = new Random(1);
        var sequences = Enumerable.Range(0, Batch).Select(_ => Enumerable.Range(0, Steps * Features).Select(_ => random.NextSingle()).ToArray()).ToList();
        var batch = SequenceBatch.FromFeatures(sequences, Features);
        var targets = BatchTargets.FromValues(Enumerable.Range(0, Batch).Select(_ => new[] { random.NextSingle() }).ToList());
        GC.Collect();
        var before = Bytes("VmRSS:");
        using var model = SequenceModel.Create(spec, seed: 1);

        var withModel = Bytes("VmRSS:");
        ResetPeak();
        model.Forward(batch);
        var forward = (Bytes("VmHWM:") - withModel - EngineMemory.WorkingBytes) / (4.0 * Batch * Steps * spec.StateSize);

        using var trainer = new ModelTrainer(model, new TrainerOptions());
        trainer.Step(batch, targets);
        ResetPeak();
        trainer.Step(batch, targets);
        var step = (Bytes("VmHWM:") - before - 16.0 * model.ParameterCount - EngineMemory.WorkingBytes) / (4.0 * Batch * Steps * spec.HiddenSize);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{step:F3} {forward:F3}"));
        return 0;
    }

    private static double Bytes(string field) => Kilobytes(field) * 1024.0;

    private static long Kilobytes(string field) =>
        long.Parse(File.ReadLines("/proc/self/status").First(line => line.StartsWith(field, StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");
}
