using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Predict;

public sealed class PredictTests(ServedModels served) : IClassFixture<ServedModels>
{
    private static double[] Window(int start, int length) =>
        Enumerable.Range(start, length).Select(i => Math.Round(100 + i + 20 * Math.Sin(i * Math.PI / 6), 2)).ToArray();

    [Fact]
    public async Task ForecastReturnsTheTrainedHorizonInTheDataScaleForSequencesOfAnyLength()
    {
        var answer = await served.PredictAsync(new { model = "load", inputs = new[] { Window(60, 12), Window(80, 5), Window(10, 30) } });

        Assert.Equal("load", answer["model"]!.GetValue<string>());
        Assert.Equal(1, answer["version"]!.GetValue<int>());
        var outputs = answer["outputs"]!.AsArray();
        Assert.Equal(3, outputs.Count);
        foreach (var output in outputs)
        {
            var forecast = output!["forecast"]!.AsArray();
            Assert.Equal(3, forecast.Count);
            // The series runs from 100 to about 200 with a swing of ±20: forecasts in its scale, not the network's.
            Assert.All(forecast, step => Assert.InRange(step![0]!.GetValue<double>(), 40, 260));
        }
    }

    [Fact]
    public async Task AHorizonShorterThanTheTrainedOneReturnsThatManySteps()
    {
        var full = await served.PredictAsync(new { model = "load", inputs = new[] { Window(60, 12) } });
        var one = await served.PredictAsync(new { model = "load", inputs = new[] { Window(60, 12) }, horizon = 1 });

        var forecast = one["outputs"]![0]!["forecast"]!.AsArray();
        Assert.Single(forecast);
        Assert.Equal(full["outputs"]![0]!["forecast"]![0]![0]!.GetValue<double>(), forecast[0]![0]!.GetValue<double>());
    }

    [Fact]
    public async Task StepsMayBeFeatureListsOrBareNumbers()
    {
        var window = Window(40, 12);
        var bare = await served.PredictAsync(new { model = "load", inputs = new[] { window } });
        var lists = await served.PredictAsync(new { model = "load", inputs = new[] { window.Select(v => new[] { v }).ToArray() } });

        Assert.Equal(bare["outputs"]!.ToJsonString(), lists["outputs"]!.ToJsonString());
    }

    [Fact]
    public async Task OutputsComeBackInInputOrder()
    {
        double[] a = Window(0, 12), b = Window(30, 20);
        var ab = await served.PredictAsync(new { model = "load", inputs = new[] { a, b } });
        var ba = await served.PredictAsync(new { model = "load", inputs = new[] { b, a } });

        Assert.Equal(ab["outputs"]![0]!.ToJsonString(), ba["outputs"]![1]!.ToJsonString());
        Assert.Equal(ab["outputs"]![1]!.ToJsonString(), ba["outputs"]![0]!.ToJsonString());
    }

    [Fact]
    public async Task ClassificationReturnsTheLabelAndProbabilitiesThatSumToOne()
    {
        // Label 1 when the first feature sums above zero.
        var positive = Enumerable.Range(0, 8).Select(_ => new[] { 0.9, 0.5 }).ToArray();
        var negative = Enumerable.Range(0, 5).Select(_ => new[] { -0.9, 0.5 }).ToArray();

        var answer = await served.PredictAsync(new { model = "signs", inputs = new[] { positive, negative } });

        var outputs = answer["outputs"]!.AsArray();
        Assert.Equal(1, outputs[0]!["label"]!.GetValue<double>());
        Assert.Equal(0, outputs[1]!["label"]!.GetValue<double>());
        foreach (var output in outputs)
        {
            var probabilities = output!["probabilities"]!.AsArray().Select(p => p!.GetValue<double>()).ToArray();
            Assert.Equal(2, probabilities.Length);
            Assert.Equal(1.0, probabilities.Sum(), 1e-9);
            Assert.Equal(output["label"]!.GetValue<double>(), Array.IndexOf(probabilities, probabilities.Max()));
        }
    }

    [Fact]
    public async Task TextModelsTakeTextsWithWordsTheyNeverSaw()
    {
        var answer = await served.PredictAsync(new { model = "reviews", texts = new[] { "The film was excellent!", "Awful, truly awful acting", "zzz qqq" } });

        var outputs = answer["outputs"]!.AsArray();
        Assert.Equal(3, outputs.Count);
        Assert.Equal(1, outputs[0]!["label"]!.GetValue<double>());
        Assert.Equal(0, outputs[1]!["label"]!.GetValue<double>());
    }

    [Fact]
    public async Task TokenModelsAlsoTakeTokenIdsAsInputs()
    {
        var version = await served.Client.GetFromJsonAsync<JsonObject>("/models/reviews/versions/1");
        var vocabulary = version!["preprocessing"]!["vocabulary"]!.AsArray().Select(w => w!.GetValue<string>()).ToList();
        var ids = new[] { "the", "film", "was", "excellent", "!" }.Select(word => vocabulary.IndexOf(word) is var id and >= 0 ? id : 1).ToArray();

        var byText = await served.PredictAsync(new { model = "reviews", texts = new[] { "The film was excellent!" } });
        var byIds = await served.PredictAsync(new { model = "reviews", inputs = new[] { ids } });

        Assert.Equal(byText["outputs"]!.ToJsonString(), byIds["outputs"]!.ToJsonString());
    }

    [Fact]
    public async Task ReturnStatesGivesTheTopLayersStateAtEveryStepPerDirection()
    {
        var answer = await served.PredictAsync(new
        {
            model = "signs", returnStates = true,
            inputs = new[] { new[] { new[] { 0.5, 0.1 }, new[] { -0.2, 0.3 }, new[] { 0.1, 0.9 } }, new[] { new[] { 0.3, 0.3 } } },
        });

        var first = answer["outputs"]![0]!["states"]!;
        Assert.Equal(3, first["forward"]!.AsArray().Count);
        Assert.Equal(3, first["backward"]!.AsArray().Count);
        Assert.All(first["forward"]!.AsArray(), step => Assert.Equal(16, step!.AsArray().Count));
        Assert.Single(answer["outputs"]![1]!["states"]!["forward"]!.AsArray());
        // The forward state after the last step and the backward state at the first step are what the head reads.
        Assert.Contains(first["forward"]![2]!.AsArray(), value => Math.Abs(value!.GetValue<double>()) > 1e-6);
    }

    [Fact]
    public async Task NameColonVersionSelectsThatVersion()
    {
        var answer = await served.PredictAsync(new { model = "signs:1", inputs = new[] { new[] { new[] { 0.5, 0.1 } } } });
        Assert.Equal(1, answer["version"]!.GetValue<int>());

        var missing = await served.Client.PostAsJsonAsync("/predict", new { model = "signs:7", inputs = new[] { new[] { 1.0 } } });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("model 'signs' has no version 7.", (await missing.ProblemAsync())["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task LoadingTheSameVersionAtOnceLoadsItOnce()
    {
        var before = served.Cache.Statistics.Loads;

        var answers = await Task.WhenAll(Enumerable.Range(0, 16)
            .Select(i => served.PredictAsync(new { model = "spare", inputs = new[] { Window(i, 6) } })));

        Assert.All(answers, answer => Assert.Equal("spare", answer["model"]!.GetValue<string>()));
        Assert.Equal(before + 1, served.Cache.Statistics.Loads);
    }

    [Fact]
    public async Task TheCacheKeepsItsBoundAndLetsTheLeastRecentlyUsedGoFirst()
    {
        await served.PredictAsync(new { model = "load", inputs = new[] { Window(0, 12) } });
        await served.PredictAsync(new { model = "signs", inputs = new[] { new[] { new[] { 0.5, 0.1 } } } });
        var before = served.Cache.Statistics;

        await served.PredictAsync(new { model = "signs", inputs = new[] { new[] { new[] { 0.5, 0.1 } } } });
        var hit = served.Cache.Statistics;
        await served.PredictAsync(new { model = "reviews", texts = new[] { "fine" } });   // evicts load, the older
        await served.PredictAsync(new { model = "signs", inputs = new[] { new[] { new[] { 0.5, 0.1 } } } });  // still there
        var after = served.Cache.Statistics;
        await served.PredictAsync(new { model = "load", inputs = new[] { Window(0, 12) } }); // loaded again

        Assert.Equal(before.Loads, hit.Loads);
        Assert.Equal(before.Loads + 1, after.Loads);
        Assert.True(after.Evictions > before.Evictions);
        Assert.Equal(2, after.Models);
        Assert.Equal(after.Loads + 1, served.Cache.Statistics.Loads);
    }

    [Fact]
    public async Task DeletingAVersionUnloadsIt()
    {
        await served.PredictAsync(new { model = "doomed", inputs = new[] { Window(0, 6) } });
        var before = served.Cache.Statistics;

        var deleted = await served.Client.DeleteAsync("/models/doomed/versions/1");
        var after = await served.Client.PostAsJsonAsync("/predict", new { model = "doomed", inputs = new[] { Window(0, 6) } });

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.Equal(before.Models - 1, served.Cache.Statistics.Models);
    }
}
