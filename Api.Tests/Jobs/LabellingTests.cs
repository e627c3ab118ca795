using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RnnService.Api.Tests.Jobs;

/// <summary>
/// Labelling (a label per step) through HTTP: upload, train, predict per-step labels, export, and PyTorch's README class
/// loading the exported weights and agreeing with the service.
/// </summary>
public sealed class LabellingTests(RnnServiceFactory factory, ITestOutputHelper output) : IClassFixture<RnnServiceFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    private static readonly string[] Words = ["a", "b", "c", "d", "not"];

    /// <summary>Token lists where a word is labelled 1 when "not" comes right before it: each label needs the step before.</summary>
    private static (string[][] Tokens, int[][] Labels) Negations(int count, int seed)
    {
        var random = new Random(seed);
        var tokens = new string[count][];
        var labels = new int[count][];
        for (var i = 0; i < count; i++)
        {
            tokens[i] = Enumerable.Range(0, random.Next(3, 13)).Select(_ => Words[random.Next(Words.Length)]).ToArray();
            labels[i] = tokens[i].Select((_, t) => t > 0 && tokens[i][t - 1] == "not" ? 1 : 0).ToArray();
        }
        return (tokens, labels);
    }

    private static string Jsonl(string[][] tokens, int[][] labels) =>
        string.Join('\n', tokens.Select((words, i) => JsonSerializer.Serialize(new { tokens = words, labels = labels[i] })));

    [Fact]
    public async Task ATokenLabellerTrainsPredictsALabelPerTokenAndItsExportedWeightsGiveTheSameAnswersInPyTorch()
    {
        var (tokens, labels) = Negations(300, seed: 1);
        var upload = await client.UploadAsync(Jsonl(tokens, labels), "negations.jsonl");
        var dataset = (await upload.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("tokens", dataset["kind"]!.GetValue<string>());
        Assert.True(dataset["labels"]!["perStep"]!.GetValue<bool>(), dataset.ToJsonString());

        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset["id"]!.GetValue<string>(), modelName = "negations", task = new { kind = "labelling" },
            model = new { hiddenSize = 12, embeddingDim = 6 }, training = new { epochs = 25, learningRate = 0.02, batchSize = 16 },
        }));

        Assert.Equal("succeeded", job.State());
        // Bidirectional by default, with the head at every step.
        Assert.True(job["request"]!["model"]!["bidirectional"]!.GetValue<bool>());
        var metrics = job["metrics"]!;
        output.WriteLine(metrics.ToJsonString());
        Assert.True(metrics["accuracy"]!.GetValue<double>() >= 0.97, metrics.ToJsonString());
        Assert.True(metrics["macroF1"]!.GetValue<double>() >= 0.9, metrics.ToJsonString());
        Assert.True(metrics["accuracy"]!.GetValue<double>() > metrics["majorityAccuracy"]!.GetValue<double>());
        var version = (await client.GetFromJsonAsync<JsonObject>("/models/negations/versions/1"))!;
        Assert.Equal("labelling", version["task"]!["kind"]!.GetValue<string>());
        Assert.True(version["spec"]!["perStep"]!.GetValue<bool>());
        // 5 words + <pad> + <unk>, embedded in 6; a bidirectional LSTM of 12; a head of 24 → 2 at every step.
        Assert.Equal(7 * 6 + 2 * 4 * 12 * (6 + 12 + 2) + 2 * 24 + 2, version["parameterCount"]!.GetValue<long>());

        var (fresh, truth) = Negations(40, seed: 99);
        var response = await client.PostAsJsonAsync("/predict", new { model = "negations", tokens = fresh });
        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(response.IsSuccessStatusCode, answer.ToJsonString());
        var outputs = answer["outputs"]!.AsArray();
        int right = 0, total = 0;
        for (var i = 0; i < fresh.Length; i++)
        {
            var predicted = outputs[i]!["labels"]!.AsArray().Select(label => label!.GetValue<double>()).ToArray();
            var probabilities = outputs[i]!["probabilities"]!.AsArray();
            Assert.Equal(fresh[i].Length, predicted.Length);
            Assert.Equal(fresh[i].Length, probabilities.Count);
            Assert.All(probabilities, row => Assert.Equal(1.0, row!.AsArray().Sum(p => p!.GetValue<double>()), 6));
            right += predicted.Where((label, t) => label == truth[i][t]).Count();
            total += predicted.Length;
        }
        Assert.True(right >= 0.97 * total, $"{right} of {total} fresh tokens labelled right");

        // The exported weights in docs/engine.md's PyTorch class, over the model's own vocabulary, give the same probabilities.
        var directory = Directory.CreateTempSubdirectory("rnnservice-labelling-").FullName;
        try
        {
            var weights = Path.Combine(directory, "negations.pt");
            await File.WriteAllBytesAsync(weights, await client.GetByteArrayAsync("/models/negations/versions/1/weights"));
            var request = Path.Combine(directory, "request.json");
            await File.WriteAllTextAsync(request, new JsonObject
            {
                ["spec"] = version["spec"]!.DeepClone(),
                ["vocabulary"] = version["preprocessing"]!["vocabulary"]!.DeepClone(),
                ["tokens"] = JsonSerializer.SerializeToNode(fresh),
            }.ToJsonString());
            var pytorch = JsonNode.Parse(PyTorch.RunCode(ReadmeLabeller, PyTorch.Manual("engine.md"), weights, request))!;
            var ours = new JsonArray(outputs.Select(o => o!["probabilities"]!.DeepClone()).ToArray());
            var gap = JsonNumbers.LargestDifference(ours, pytorch);
            output.WriteLine($"largest difference from PyTorch: {gap:g3}");
            Assert.True(gap <= 1e-5, $"PyTorch's probabilities differ from the service's by {gap}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>docs/engine.md's SequenceModel with pooling "steps", loaded with exported weights, run over token lists.</summary>
    private const string ReadmeLabeller = """
        import json, re, sys
        import torch
        import torch.nn as nn
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
        readme, weights, request = sys.argv[1:4]
        code = re.search(r"```python\n(class SequenceModel\(nn\.Module\):.*?)```", open(readme).read(), re.S).group(1)
        scope = {"nn": nn, "torch": torch, "pack_padded_sequence": pack_padded_sequence, "pad_packed_sequence": pad_packed_sequence}
        exec(code, scope)
        r = json.load(open(request))
        spec = r["spec"]
        cell = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[spec["cell"]]
        model = scope["SequenceModel"](spec["vocabularySize"], spec["inputSize"], spec["hiddenSize"], spec["numLayers"],
                                       spec["bidirectional"], spec["outputSize"], cell, "steps")
        model.load_state_dict(torch.load(weights), strict=True)
        model.eval()
        ids = {word: i for i, word in enumerate(r["vocabulary"])}
        sequences = [torch.tensor([ids.get(t, 1) for t in tokens]) for tokens in r["tokens"]]
        lengths = torch.tensor([len(s) for s in sequences])
        with torch.no_grad():
            probabilities = torch.softmax(model(pad_sequence(sequences, batch_first=True), lengths), dim=-1)
        print(json.dumps([probabilities[i, :n].tolist() for i, n in enumerate(lengths.tolist())]))
        """;

    [Fact]
    public async Task ANumericLabellerPredictsNumbersAtEveryStepInTheLabelsOwnScale()
    {
        // Each step's label is the running sum of the inputs so far, in the hundreds.
        var random = new Random(5);
        var lines = Enumerable.Range(0, 120).Select(_ =>
        {
            var steps = Enumerable.Range(0, random.Next(2, 9)).Select(_ => Math.Round(random.NextDouble(), 3)).ToArray();
            var sums = steps.Select((_, t) => 500 + 100 * steps.Take(t + 1).Sum()).ToArray();
            return JsonSerializer.Serialize(new { sequence = steps, labels = sums });
        });
        var dataset = await client.UploadDatasetAsync(string.Join('\n', lines), "running-sums.jsonl");

        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "running-sums", task = new { kind = "labelling" },
            model = new { hiddenSize = 16, bidirectional = false }, training = new { epochs = 40, learningRate = 0.01, batchSize = 8 },
        }));

        Assert.Equal("succeeded", job.State());
        var metrics = job["metrics"]!;
        output.WriteLine(metrics.ToJsonString());
        // In the labels' scale (hundreds): well under the training mean's error.
        Assert.True(metrics["mae"]!.GetValue<double>() < metrics["meanMae"]!.GetValue<double>() / 3, metrics.ToJsonString());
        var response = await client.PostAsJsonAsync("/predict", new
        {
            model = "running-sums", inputs = new[] { new[] { 0.5, 0.5, 0.5 }, new[] { 0.9 } }, returnStates = true,
        });
        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(response.IsSuccessStatusCode, answer.ToJsonString());
        var values = answer["outputs"]![0]!["values"]!.AsArray();
        Assert.Equal(3, values.Count);
        Assert.InRange(values[2]![0]!.GetValue<double>(), 620, 680);
        Assert.Single(answer["outputs"]![1]!["values"]!.AsArray());
        // The top layer's state at each step, as for any other kind.
        Assert.Equal(3, answer["outputs"]![0]!["states"]!["forward"]!.AsArray().Count);
        Assert.Equal(16, answer["outputs"]![0]!["states"]!["forward"]![0]!.AsArray().Count);
    }

    [Fact]
    public async Task LabellingRequestsThatCannotWorkAreRefusedNamingTheField()
    {
        var (tokens, labels) = Negations(20, seed: 3);
        var perStep = await client.UploadDatasetAsync(Jsonl(tokens, labels), "tags.jsonl");
        var perExample = await client.UploadDatasetAsync(TestData.SignSequencesJsonl(20), "signs.jsonl");

        var classification = await (await client.PostJobAsync(new { datasetId = perStep, modelName = "x", task = new { kind = "classification" } })).ProblemAsync();
        var labelling = await (await client.PostJobAsync(new { datasetId = perExample, modelName = "x", task = new { kind = "labelling" } })).ProblemAsync();
        var pooled = await (await client.PostJobAsync(new { datasetId = perStep, modelName = "x", task = new { kind = "labelling" }, model = new { pooling = "mean" } })).ProblemAsync();

        Assert.Equal("classification needs one label per example; this dataset labels every step (use labelling).", classification.Errors("task.kind"));
        Assert.StartsWith("labelling needs a label per step", labelling.Errors("task.kind"));
        Assert.Equal("is mean, but a labelling model reads every step's output and pools nothing; leave it out.", pooled.Errors("model.pooling"));

        var mismatched = await client.UploadAsync("""{"tokens": ["a", "b"], "labels": [1]}""", "short.jsonl");
        Assert.Equal(HttpStatusCode.BadRequest, mismatched.StatusCode);
        Assert.Contains("line 1: 1 labels for 2 steps; there must be one label per step.", (await mismatched.ProblemAsync()).ToJsonString());
    }

    [Fact]
    public async Task ATokenModelRefusesTextsAndATextModelRefusesTokenLists()
    {
        var (tokens, labels) = Negations(30, seed: 4);
        var dataset = await client.UploadDatasetAsync(Jsonl(tokens, labels), "few.jsonl");
        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "few", task = new { kind = "labelling" }, model = new { hiddenSize = 4, embeddingDim = 4 },
            training = new { epochs = 1 },
        }));
        Assert.Equal("succeeded", job.State());

        var texts = await (await client.PostAsJsonAsync("/predict", new { model = "few", texts = new[] { "a not b" } })).ProblemAsync();
        var empty = await (await client.PostAsJsonAsync("/predict", new { model = "few", tokens = new[] { new[] { "a", "" } } })).ProblemAsync();

        Assert.Equal("this model reads token lists; send each sequence's words as a list in tokens.", texts.Errors("texts"));
        Assert.Equal("must be a non-empty string.", empty.Errors("tokens[0][1]"));
    }
}
