using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RnnService.Api.Inference;
using RnnService.Api.Infrastructure;
using RnnService.Api.Telemetry;
using RnnService.Api.Security;
using RnnService.Domain.Budgets;
using RnnService.Domain.Models;
using RnnService.Domain.Predictions;
using RnnService.Domain.Validation;
using RnnService.Training.Registry;

namespace RnnService.Api.Predict;

/// <summary>The model version that answered and one output per input, in input order.</summary>
public sealed record PredictResponse(string Model, int Version, IReadOnlyList<PredictOutput> Outputs);

public static class PredictApi
{
    /// <summary>Where the request's resolved model and version are left for its metrics.</summary>
    private const string ModelItem = "rnnservice.model", VersionItem = "rnnservice.version";

    public static RouteGroupBuilder MapPredictApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/predict").WithTags("Predict").RequireScope(Scopes.Predict);
        group.MapPost("/", PredictAsync)
            .WithName("Predict")
            .WithSummary("Predict with a registered model")
            .WithDescription(
                "`model` is `name` (its latest version), `name:version` or `name@alias`. `inputs` holds sequences of any lengths; a step is a " +
                "list of features or a bare number. Text models take `texts` instead, token-list (labelling) models `tokens`. Concurrent requests for one version are " +
                "batched together on the server; outputs come back in input order. A problem with an input is a 400 naming it " +
                "(`inputs[3][17]`); a body over the size limit is a 413.")
            .Accepts<PredictRequest>("application/json")
            .AddEndpointFilter(async (context, next) =>
            {
                // Every request counted once with its outcome and time, whichever way it leaves; and traced when traces are on.
                var started = Stopwatch.GetTimestamp();
                using var span = Training.Tracing.Source.StartActivity("rnnservice.predict");
                var status = StatusCodes.Status500InternalServerError;
                try
                {
                    var result = await next(context);
                    var inner = result is INestedHttpResult nested ? nested.Result : result;
                    status = inner is IStatusCodeHttpResult { StatusCode: { } code } ? code : StatusCodes.Status200OK;
                    return result;
                }
                catch (ServiceBusyException busy)
                {
                    status = busy.StatusCode;
                    throw;
                }
                catch (OperationCanceledException) when (context.HttpContext.RequestAborted.IsCancellationRequested)
                {
                    status = StatusCodes.Status499ClientClosedRequest;
                    throw;
                }
                finally
                {
                    var items = context.HttpContext.Items;
                    ServingMetrics.RecordPrediction(status, Stopwatch.GetElapsedTime(started), items[ModelItem] as string, items[VersionItem] as int?);
                    if (span is not null)
                    {
                        span.SetTag("rnnservice.model", items[ModelItem] as string);
                        span.SetTag("rnnservice.model.version", items[VersionItem] as int?);
                        span.SetTag("http.response.status_code", status);
                        if (status >= 500) span.SetStatus(ActivityStatusCode.Error);
                    }
                }
            });
        return group;
    }

    public static async Task<Results<Ok<PredictResponse>, ValidationProblem, ProblemHttpResult>> PredictAsync(
        HttpRequest request, IOptions<InferenceOptions> options, ModelRegistry registry, ModelCache cache, CancellationToken cancellationToken)
    {
        var limits = options.Value;
        if (RequestBodies.Limit(request, limits.MaxRequestBytes, $"predict requests may be at most {limits.MaxRequestBytes} bytes") is { } tooLarge) return tooLarge;
        if (!request.HasJsonContentType()) return Problems.UnsupportedMediaType("send the request as application/json.");
        var (parsed, invalid, failed) = await RequestBodies.ReadJsonAsync<PredictRequest>(request, limits.MaxRequestBytes, cancellationToken);
        if (invalid is not null) return invalid;
        if (failed is not null) return failed;
        var body = parsed!;

        var errors = Validate(body, limits, out var reference);
        if (errors.Count > 0) return Problems.Validation(errors);

        var record = await registry.FindAsync(reference, cancellationToken);
        if (record is null)
            return Problems.NotFound(reference switch
            {
                { Alias: { } alias } => $"model '{reference.Name}' has no alias '{alias}'.",
                { Version: { } version } => $"model '{reference.Name}' has no version {version}.",
                _ => $"there is no model '{reference.Name}'.",
            });
        request.HttpContext.Items[ModelItem] = record.Name;
        request.HttpContext.Items[VersionItem] = record.Version;

        using var lease = await cache.AcquireAsync(record, cancellationToken);
        var model = lease.Model;
        var mismatches = model.Task.Prepare(body, limits.MaxStepsPerSequence, out var prepared);
        if (mismatches.Count > 0) return Problems.Validation(mismatches);
        if (body.ReturnStates)
        {
            var values = prepared.Sum(p => (long)p.Length) * model.Model.Spec.StateSize;
            if (values > limits.MaxStateValues)
                return Problems.Validation("returnStates",
                    $"would return {values} state values; at most {limits.MaxStateValues} are allowed. Send fewer or shorter sequences.");
        }

        var spec = model.Model.Spec;
        var needed = RequestMemory.Estimate(
            spec, prepared.Select(p => p.Length).ToArray(), spec.HasEmbedding ? sizeof(long) : sizeof(float) * (long)spec.InputSize,
            body.ReturnStates, limits.Batching.MaxBatchSequences, model.ConcurrentBatches);
        if (needed > limits.MaxRequestMemoryMiB * Sizes.MiB)
            return Problems.Validation(SequencesField(body),
                $"serving these {prepared.Length} sequences ({Sizes.Count(prepared.Sum(p => (long)p.Length))} steps{(body.ReturnStates ? ", with their states" : "")}) " +
                $"would need about {Sizes.Bytes(needed)}; one request may use at most {Sizes.Bytes(limits.MaxRequestMemoryMiB * Sizes.MiB)} " +
                "(Inference:MaxRequestMemoryMiB). Send fewer or shorter sequences.");

        var results = await model.Batcher.RunAsync(prepared, body.ReturnStates, cancellationToken);
        var hidden = model.Model.Spec.HiddenSize;
        var outputs = new PredictOutput[results.Length];
        for (var i = 0; i < results.Length; i++)
        {
            var output = model.Task.Output(results[i].Output, prepared[i], body);
            outputs[i] = results[i].States is { } states
                ? output with
                {
                    States = SplitStates(states, prepared[i].Length, hidden, model.Model.Spec.Bidirectional),
                    Tokens = body.Texts is { } texts ? Training.Data.Tokenizer.Tokenize(texts[i] ?? "").Take(prepared[i].Length).ToArray() : null,
                }
                : output;
        }
        return TypedResults.Ok(new PredictResponse(model.Name, model.Version, outputs));
    }

    /// <summary>What is wrong with the request before any model is looked at: the reference, the shape, the limits.</summary>
    private static List<ValidationError> Validate(PredictRequest body, InferenceOptions limits, out ModelSelector reference)
    {
        var errors = new List<ValidationError>();
        reference = ModelSelector.Parse(body.Model, out var problem) ?? default;
        if (problem is not null) errors.Add(new("model", problem));

        if (body.Horizon is < 1) errors.Add(new("horizon", $"must be at least 1, got {body.Horizon}."));

        var count = body.Inputs?.Count ?? body.Texts?.Count ?? body.Tokens?.Count;
        var field = SequencesField(body);
        if ((body.Inputs is null ? 0 : 1) + (body.Texts is null ? 0 : 1) + (body.Tokens is null ? 0 : 1) > 1)
            errors.Add(new(body.Tokens is not null ? "tokens" : "texts", "send one of inputs, texts or tokens."));
        else if (count is null) errors.Add(new("inputs", "is required: a list of sequences (or texts, for text models; tokens, for token-list models)."));
        else if (count == 0) errors.Add(new(field, "is empty; send at least one sequence."));
        else if (count > limits.MaxSequencesPerRequest)
            errors.Add(new(field, $"holds {count} sequences; at most {limits.MaxSequencesPerRequest} are allowed in one request."));
        else if (body.Inputs is { } inputs)
        {
            errors.AddRange(inputs.Problems);
            for (var i = 0; i < inputs.Count && errors.Count < SequenceInputs.MaxProblems; i++)
            {
                if (inputs[i].Steps > limits.MaxStepsPerSequence)
                    errors.Add(new($"inputs[{i}]", $"has {inputs[i].Steps} steps; at most {limits.MaxStepsPerSequence} are allowed."));
            }
        }
        else if (body.Texts is { } texts)
        {
            for (var i = 0; i < texts.Count; i++)
            {
                if (texts[i] is null)
                {
                    errors.Add(new($"texts[{i}]", "must be a string."));
                    break;
                }
            }
        }
        else
        {
            for (var i = 0; i < body.Tokens!.Count; i++)
            {
                if (body.Tokens[i] is null)
                {
                    errors.Add(new($"tokens[{i}]", "must be a list of tokens."));
                    break;
                }
            }
        }
        return errors;
    }

    /// <summary>The field that holds the request's sequences, for messages about all of them.</summary>
    private static string SequencesField(PredictRequest body) => body.Texts is not null ? "texts" : body.Tokens is not null ? "tokens" : "inputs";

    /// <summary>(length × directions·hidden) per step → per direction, (length × hidden) each.</summary>
    private static SequenceStates SplitStates(float[] states, int length, int hidden, bool bidirectional)
    {
        var width = bidirectional ? 2 * hidden : hidden;
        var forward = new float[length][];
        var backward = bidirectional ? new float[length][] : null;
        for (var t = 0; t < length; t++)
        {
            forward[t] = states.AsSpan(t * width, hidden).ToArray();
            if (backward is not null) backward[t] = states.AsSpan(t * width + hidden, hidden).ToArray();
        }
        return new SequenceStates(forward, backward);
    }
}
