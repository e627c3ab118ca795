using RnnService.Client;
using RnnService.Client.Models;

namespace RnnService.Samples;

/// <summary>
/// The C# examples of docs/guides/: each guide shows the lines between its <c>// guide:</c> marks, and a test checks that
/// the page and this file agree and runs these methods against the service.
/// </summary>
public static class Guides
{
    // guide:train
    /// <summary>Uploads a file, queues a training job, reports each epoch as it ends, and returns the finished job.</summary>
    public static async Task<TrainingJobResponse> TrainAsync(
        RnnServiceClient client, string file, string fileName, string modelName, TaskOptions task, TextWriter log, TrainingOptions? training = null)
    {
        var dataset = await client.Datasets.PostAsync(new() { Content = file, Name = fileName });
        var job = await client.TrainingJobs.PostAsync(new()
        {
            DatasetId = dataset!.Id, ModelName = modelName, Task = task, Training = training,
        });
        var reported = 0;
        while (job!.State is JobState.Queued or JobState.Running)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            job = await client.TrainingJobs[job.Id].GetAsync();
            foreach (var epoch in job!.History?.Skip(reported) ?? [])
                log.WriteLine($"epoch {epoch.Epoch}: train loss {epoch.TrainLoss:g4}, validation loss {epoch.ValidationLoss:g4}");
            reported = job.History?.Count ?? 0;
        }
        if (job.State != JobState.Succeeded) throw new InvalidOperationException($"job {job.Id} {job.State}: {job.Error}");
        log.WriteLine($"{job.Id} succeeded: {modelName} version {job.Model?.Version}");
        return job;
    }
    // end guide

    // guide:forecast
    /// <summary>Trains a forecaster of the next 12 months with an 80% interval, and forecasts after the file's last 24.</summary>
    public static async Task<double[]> ForecastAsync(RnnServiceClient client, string csv, string fileName, TextWriter log)
    {
        await TrainAsync(client, csv, fileName, "passengers",
            new TaskOptions { Kind = TaskKind.Forecast, Horizon = 12, Quantiles = [0.1, 0.9] }, log);
        var rows = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[1..];
        var last = rows[^24..].Select(row => row.Split(',')).ToList();
        var answer = await client.Predict.PostAsync(new()
        {
            Model = "passengers",
            Inputs = Sequences.Of([last.Select(row => double.Parse(row[1]))]),
            Starts = [last[0][0]],
        });
        var output = answer!.Outputs![0];
        var forecast = Sequences.Matrix(output.Forecast).Select(step => step[0]).ToArray();
        var low = Sequences.Matrix(output.Quantiles!.AdditionalData["0.1"] as Microsoft.Kiota.Abstractions.Serialization.UntypedNode);
        for (var h = 0; h < forecast.Length; h++) log.WriteLine($"month +{h + 1}: {forecast[h]:f0} (10%: {low[h][0]:f0})");
        return forecast;
    }
    // end guide

    // guide:classification
    /// <summary>Trains a classifier of sequences of two features, and asks for the classes of two new ones.</summary>
    public static async Task<double[]> ClassifyAsync(RnnServiceClient client, string jsonl, string fileName, TextWriter log)
    {
        var job = await TrainAsync(client, jsonl, fileName, "turns", new TaskOptions { Kind = TaskKind.Classification }, log,
            new TrainingOptions { Epochs = 20 });
        log.WriteLine($"validation accuracy {job.Metrics!.AdditionalData["accuracy"]}");
        var answer = await client.Predict.PostAsync(new()
        {
            Model = "turns",
            Inputs = Sequences.Of([
                [[0.9, 0.5], [0.7, 0.2], [0.8, 0.9], [0.4, 0.3]],
                [[-0.6, 0.1], [-0.9, 0.4], [0.1, 0.5], [-0.8, 0.7], [-0.5, 0.2]],
            ]),
        });
        foreach (var output in answer!.Outputs!) log.WriteLine($"class {output.Label}, probabilities {string.Join(", ", Sequences.Vector(output.Probabilities))}");
        return answer.Outputs!.Select(output => output.Label ?? -1).ToArray();
    }
    // end guide

    // guide:regression
    /// <summary>Trains a regressor of one number per sequence, and asks for two.</summary>
    public static async Task<double[]> RegressAsync(RnnServiceClient client, string jsonl, string fileName, TextWriter log)
    {
        var job = await TrainAsync(client, jsonl, fileName, "totals", new TaskOptions { Kind = TaskKind.Regression }, log,
            new TrainingOptions { Epochs = 30 });
        log.WriteLine($"validation MAE {job.Metrics!.AdditionalData["mae"]} (the training mean's: {job.Metrics.AdditionalData["meanMae"]})");
        var answer = await client.Predict.PostAsync(new()
        {
            Model = "totals",
            Inputs = Sequences.Of([[0.5, 0.5, 0.5, 0.5], [0.9, 0.8, 0.9, 0.7, 0.9, 0.8, 0.9, 0.9, 0.8, 0.9]]),
        });
        var values = answer!.Outputs!.Select(output => Sequences.Vector(output.Values)[0]).ToArray();
        log.WriteLine($"predicted {string.Join(", ", values.Select(v => v.ToString("f2")))}");
        return values;
    }
    // end guide

    // guide:labelling
    /// <summary>Trains a labeller (a class at every step), and labels the steps of a new sequence.</summary>
    public static async Task<double[]> LabelAsync(RnnServiceClient client, string jsonl, string fileName, TextWriter log)
    {
        await TrainAsync(client, jsonl, fileName, "rises", new TaskOptions { Kind = TaskKind.Labelling }, log,
            new TrainingOptions { Epochs = 20 });
        var answer = await client.Predict.PostAsync(new()
        {
            Model = "rises",
            Inputs = Sequences.Of([[5.0, 7.5, 2.0, 2.5, 9.0, 1.0]]),
        });
        var labels = answer!.Outputs![0].Labels!.Select(label => label ?? -1).ToArray();
        log.WriteLine($"labels {string.Join(" ", labels)}");
        return labels;
    }
    // end guide
}
