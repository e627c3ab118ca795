using RnnService.Domain.Jobs;
using RnnService.Training.Tasks.Classification;
using RnnService.Training.Tasks.Forecast;
using RnnService.Training.Tasks.Labelling;
using RnnService.Training.Tasks.Regression;

namespace RnnService.Training.Tasks;

/// <summary>Every task kind the service trains and serves, by <see cref="TaskKind"/>.</summary>
public static class TaskKinds
{
    private static readonly Dictionary<TaskKind, SequenceTask> Kinds = new SequenceTask[]
    {
        new ForecastTask(), new ClassificationTask(), new RegressionTask(), new LabellingTask(),
    }.ToDictionary(task => task.Kind);

    public static IReadOnlyCollection<SequenceTask> All => Kinds.Values;

    /// <summary>"forecast, classification, regression or labelling": for messages.</summary>
    public static string Names
    {
        get
        {
            var names = Kinds.Values.Select(task => task.Name).ToArray();
            return string.Join(", ", names[..^1]) + " or " + names[^1];
        }
    }

    public static SequenceTask For(TaskKind kind) =>
        Kinds.TryGetValue(kind, out var task) ? task : throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a task kind");
}
