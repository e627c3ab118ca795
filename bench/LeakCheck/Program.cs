// Creates, uses and disposes thousands of models, trainers and batches, and watches the process's resident
// memory. Native memory that is not freed grows RSS with every iteration; memory that is freed stays flat.
//
//   dotnet run -c Release --project bench/LeakCheck -- [iterations] [--json FILE]
using System.Diagnostics;
using System.Text.Json;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

var iterations = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 5000;
var jsonPath = args.SkipWhile(a => a != "--json").Skip(1).FirstOrDefault();
var warmup = Math.Max(iterations / 10, 1);
var samples = new List<(int Iteration, double RssMiB)>();
var random = new Random(1);
var clock = Stopwatch.StartNew();

for (var i = 1; i <= iterations; i++)
{
    var cell = (CellKind)(i % 3);
    var tokens = i % 4 == 0;
    var spec = new ModelSpec
    {
        Cell = cell, InputSize = tokens ? 16 : 4, HiddenSize = 32, NumLayers = 1 + i % 2, Bidirectional = i % 5 == 0,
        VocabularySize = tokens ? 500 : 0, OutputSize = 3,
    };
    using var model = SequenceModel.Create(spec, seed: i);
    var lengths = Enumerable.Range(0, 16).Select(_ => random.Next(1, 60)).ToArray();
    var batch = tokens
        ? SequenceBatch.FromTokens(lengths.Select(l => Enumerable.Range(0, l).Select(_ => (long)random.Next(1, 500)).ToArray()).ToList())
        : SequenceBatch.FromFeatures(lengths.Select(l => Enumerable.Range(0, l * 4).Select(_ => random.NextSingle()).ToArray()).ToList(), 4);
    var targets = BatchTargets.FromClasses(lengths.Select(l => (long)(l % 3)).ToArray());

    model.Forward(batch, returnStates: true, softmax: true);
    using (var trainer = new ModelTrainer(model, new TrainerOptions { Loss = LossKind.CrossEntropy }))
    {
        trainer.Step(batch, targets);
        trainer.LoadState(trainer.SaveState());
        // The optimizer's state through a file, as checkpoints keep it; and one read of a file that is not one.
        var state = Path.Combine(Path.GetTempPath(), $"leak-check-{Environment.ProcessId}.pt");
        trainer.SaveState(state);
        trainer.LoadState(state);
        File.WriteAllBytes(state, [1, 2, 3]);
        try { trainer.LoadState(state); } catch (TorchEngineException) { }
        File.Delete(state);
    }

    using (var weights = new MemoryStream())
    {
        model.SaveWeights(weights);
        weights.Position = 0;
        model.LoadWeights(weights);
    }

    model.Evaluate(batch, targets, LossKind.CrossEntropy);
    // failures allocate native messages and tensors too
    try { model.Forward(SequenceBatch.FromFeatures([new float[7]], 7)); } catch (TorchEngineException) { }

    if (i % warmup == 0 || i == 1)
    {
        // As the worker does after each job: collected, and the heap's free pages handed back.
        TorchEngine.ReleaseFreeMemory();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        samples.Add((i, ResidentMiB()));
        Console.WriteLine($"iteration {i,6}: RSS {samples[^1].RssMiB,8:F1} MiB  ({clock.Elapsed.TotalSeconds:F0} s)");
    }
}

var afterWarmup = samples.First(s => s.Iteration >= warmup).RssMiB;
var end = samples[^1].RssMiB;
var growth = (end - afterWarmup) / afterWarmup * 100;
Console.WriteLine($"RSS after warm-up ({warmup} iterations): {afterWarmup:F1} MiB; at the end ({iterations}): {end:F1} MiB; growth {growth:+0.0;-0.0}%");
Console.WriteLine(growth <= 10 ? "flat: yes (within 10%)" : "flat: NO (more than 10% growth)");
if (jsonPath is not null)
    File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { iterations, warmup, afterWarmupMiB = afterWarmup, endMiB = end, growthPercent = growth, samples = samples.Select(s => new { s.Iteration, s.RssMiB }) }));
return growth <= 10 ? 0 : 1;

static double ResidentMiB()
{
    // VmRSS: resident set size, native allocations included
    var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
}
