using RnnService.Domain.Models;
using RnnService.Domain.Predictions;
using RnnService.Domain.Validation;

namespace RnnService.Training.Tasks.Forecast;

/// <summary>A forecast model's serving: each input window scaled as in training, the outputs mapped back to the data's scale.</summary>
public sealed class ForecastServing(ModelSpec spec, ForecastPreprocessing preprocessing) : ServedTask(spec)
{
    protected override string TaskName => "forecast";

    protected override string FeatureNames => $" ({string.Join(", ", preprocessing.Features)})";

    protected override void CheckOptions(PredictRequest request, List<ValidationError> errors)
    {
        if (request.Horizon is { } horizon && horizon > preprocessing.Horizon)
            errors.Add(new("horizon", $"is {horizon}, but the model was trained for at most {preprocessing.Horizon} steps."));
    }

    protected override PreparedSequence PrepareFeatures(InputSequence input)
    {
        var window = new double[input.Values.Length];
        for (var v = 0; v < window.Length; v++) window[v] = input.Values[v];
        var scaled = preprocessing.ScaleInput(window, out var level, out var spread);
        return new PreparedSequence(scaled, null, input.Steps, level, spread);
    }

    public override PredictOutput Output(ReadOnlySpan<float> output, in PreparedSequence prepared, PredictRequest request)
    {
        var targets = preprocessing.Targets.Count;
        var steps = request.Horizon ?? preprocessing.Horizon;
        var result = new double[steps][];
        for (var h = 0; h < steps; h++)
        {
            result[h] = new double[targets];
            for (var k = 0; k < targets; k++)
                result[h][k] = preprocessing.Unscale(output[h * targets + k], k, prepared.Level!, prepared.Spread!);
        }
        return new PredictOutput { Forecast = result };
    }
}
