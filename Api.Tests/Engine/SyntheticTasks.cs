using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>Small sequence tasks with known answers, generated from a seed.</summary>
public static class SyntheticTasks
{
    /// <summary>Variable-length sequences of one feature in [-1, 1].</summary>
    public static List<float[]> Sequences(Random random, int count, int minLength, int maxLength) =>
        Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, random.Next(minLength, maxLength + 1)).Select(_ => random.NextSingle() * 2 - 1).ToArray())
            .ToList();

    /// <summary>Regression: the sum of the sequence (its variance is about length / 3).</summary>
    public static (SequenceBatch Batch, BatchTargets Targets) Sum(Random random, int count, int minLength = 1, int maxLength = 20)
    {
        var sequences = Sequences(random, count, minLength, maxLength);
        return (SequenceBatch.FromFeatures(sequences, 1), BatchTargets.FromValues(sequences.Select(s => new[] { s.Sum() }).ToList()));
    }

    /// <summary>Classification: is the first element positive? It must be carried through the whole sequence.</summary>
    public static (SequenceBatch Batch, BatchTargets Targets) FirstSign(Random random, int count, int minLength = 10, int maxLength = 30)
    {
        var sequences = Sequences(random, count, minLength, maxLength);
        return (SequenceBatch.FromFeatures(sequences, 1), BatchTargets.FromClasses(sequences.Select(s => s[0] > 0 ? 1L : 0L).ToArray()));
    }

    /// <summary>Takes <paramref name="steps"/> training steps on fresh batches of a task.</summary>
    public static void Train(ModelTrainer trainer, Func<Random, (SequenceBatch Batch, BatchTargets Targets)> task, int steps, int seed = 5)
    {
        var random = new Random(seed);
        for (var step = 0; step < steps; step++)
        {
            var (batch, targets) = task(random);
            trainer.Step(batch, targets);
        }
    }

    public static double Accuracy(ForwardResult result, long[] classes)
    {
        var correct = 0;
        for (var i = 0; i < result.Count; i++)
        {
            var output = result.Output(i);
            var predicted = output.IndexOf(MaxOf(output));
            if (predicted == classes[i]) correct++;
        }

        return (double)correct / result.Count;
    }

    private static float MaxOf(ReadOnlySpan<float> values)
    {
        var max = float.NegativeInfinity;
        foreach (var value in values) max = Math.Max(max, value);
        return max;
    }
}
