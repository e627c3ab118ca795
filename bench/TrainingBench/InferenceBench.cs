using System.Diagnostics;
using System.Text.Json;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

/// <summary>
/// The serving benchmark's forward pass alone, without HTTP: a model of bench/serving's shape (2 layers of 128, 8
/// features, one output) answers batches of 1, 16 and 64 sequences of 20–200 steps, as the batcher sends them (sorted
/// by length). Each size runs for the given seconds after a warm-up; prints one JSON line per size with the median
/// milliseconds a batch and the recurrent layers' matrix-product rate. For comparing engine settings (for example
/// RNNSHIM_SMALL_GEMM=0) in separate processes, interleaved.
/// </summary>
internal static class InferenceBench
{
    public static void Run(int threads, int seed, string cell, int seconds)
    {
        TorchEngine.SetIntraOpThreads(threads);
        TorchEngine.SetFlushDenormals(true);
        TorchEngine.KeepFreedMemory(TorchEngine.DefaultKeepFreedMemoryMiB);
        const int features = 8, hidden = 128, layers = 2;
        var spec = new ModelSpec
        {
            Cell = cell == "gru" ? CellKind.Gru : CellKind.Lstm, NumLayers = layers, HiddenSize = hidden, InputSize = features,
            OutputSize = 1, Dropout = 0,
        };
        using var model = SequenceModel.Create(spec, EngineDevice.Cpu, seed);
        var random = new Random(seed);
        var gates = spec.Cell == CellKind.Gru ? 3 : 4;
        foreach (var size in new[] { 1, 16, 64 })
        {
            var batches = Enumerable.Range(0, 64).Select(_ =>
            {
                var sequences = Enumerable.Range(0, size).Select(_ =>
                {
                    var length = random.Next(20, 201);
                    return Enumerable.Range(0, length * features).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                }).OrderByDescending(s => s.Length).ToList();
                return SequenceBatch.FromFeatures(sequences, features);
            }).ToArray();
            for (var i = 0; i < 8; i++) model.Forward(batches[i % batches.Length]);  // warm-up
            var times = new List<double>();
            long steps = 0;
            var clock = Stopwatch.StartNew();
            for (var i = 0; clock.Elapsed.TotalSeconds < seconds; i++)
            {
                var batch = batches[i % batches.Length];
                var started = Stopwatch.GetTimestamp();
                model.Forward(batch);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                steps += batch.Lengths.Sum();
            }
            times.Sort();
            // Per sequence step: each layer's input projection and recurrent product, 2 flops a multiply-add.
            var flops = steps * 2.0 * gates * hidden * (features + hidden + hidden + hidden);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                cell, threads, batch = size, calls = times.Count,
                medianMs = Math.Round(times[times.Count / 2], 3),
                gflops = Math.Round(flops / clock.Elapsed.TotalSeconds / 1e9, 1),
            }));
        }
    }
}
