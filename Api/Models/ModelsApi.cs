using System.ComponentModel;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RnnService.Api.Inference;
using RnnService.Api.Infrastructure;
using RnnService.Api.Security;
using RnnService.Domain.Budgets;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Engine;
using RnnService.Training.Jobs;
using RnnService.Training.Pipeline;
using RnnService.Training.Registry;
using RnnService.Training.Storage;
using RnnService.Training.Torch;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Api.Models;

/// <summary>A registered name and its latest version.</summary>
public sealed record ModelSummary(string Name, int LatestVersion, int Versions, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>One version as listed under its name.</summary>
public sealed record ModelVersionSummary(int Version, IReadOnlyDictionary<string, double>? Metrics, string Source, DateTimeOffset CreatedAt);

/// <summary>A name's versions, newest first, and its aliases: <c>latest</c> and those set with PUT /models/{name}/aliases/{alias}.</summary>
public sealed record ModelResponse(string Name, IReadOnlyList<ModelVersionSummary> Versions, IReadOnlyDictionary<string, int> Aliases);

/// <summary>PUT /models/{name}/aliases/{alias}: the version the alias is to point to.</summary>
public sealed record ModelAliasRequest
{
    [Description("The version the alias points to from now on.")]
    public int? Version { get; init; }
}

/// <summary>An alias and the version it points to.</summary>
public sealed record ModelAliasResponse(string Name, string Alias, int Version, DateTimeOffset UpdatedAt);

/// <summary>Everything about one version: what it is, what it was trained for, how inputs are prepared, how well it did.</summary>
public sealed record ModelVersionResponse(
    string Name,
    int Version,
    [property: Description("The network: cell, inputSize, hiddenSize, numLayers, bidirectional, dropout, vocabularySize, outputSize.")] JsonElement Spec,
    [property: Description("The task it was trained for, with every default filled in.")] JsonElement Task,
    [property: Description("Scalers, vocabulary or class labels: what turns inputs into the network's and outputs back.")] JsonElement Preprocessing,
    IReadOnlyDictionary<string, double>? Metrics,
    long ParameterCount,
    [property: Description("The job that trained it, the tuning job whose best trial it is, or import.")] string Source,
    string? Device,
    DateTimeOffset CreatedAt)
{
    public static ModelVersionResponse From(ModelVersionRecord record) => new(
        record.Name, record.Version, Parse(record.Spec), Parse(record.Task), Parse(record.Preprocessing),
        record.Metrics is null ? null : StoredJson.Read<Dictionary<string, double>>(record.Metrics),
        record.ParameterCount, record.SourceJobId ?? record.SourceTuningJobId ?? "import", record.Device, record.CreatedAt);

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}

public static class ModelsApi
{
    /// <summary>Room for the multipart framing and the spec beside the weights.</summary>
    private const long FormOverhead = 1 << 20;

    private static readonly string[] ImportFormFields = RequestBodies.FormFieldsOf<ModelImportForm>();

    public static RouteGroupBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/models").WithTags("Models");
        group.MapGet("/", ListModelsAsync).WithName("ListModels").WithSummary("Registered names with their latest version, newest first, a page at a time")
            .RequireScope(Scopes.Predict, Scopes.Train);
        group.MapGet("/{name}", GetModelAsync).WithName("GetModel").WithSummary("A name's versions, newest first, and its aliases")
            .RequireScope(Scopes.Predict, Scopes.Train);
        group.MapGet("/{name}/versions/{version:int}", GetModelVersionAsync)
            .WithName("GetModelVersion").WithSummary("One version: spec, task, preprocessing, metrics, parameter count, source")
            .RequireScope(Scopes.Predict, Scopes.Train);
        group.MapGet("/{name}/versions/{version:int}/weights", GetModelWeightsAsync)
            .WithName("GetModelWeights")
            .WithSummary("The version's weights as a PyTorch state_dict file")
            .WithDescription("`torch.load(path)` gives an OrderedDict that `model.load_state_dict` takes, with the key names of the API contract.")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .RequireScope(Scopes.Predict, Scopes.Train);
        group.MapGet("/{name}/versions/{version:int}/evaluation", GetModelEvaluationAsync)
            .WithName("GetModelEvaluation")
            .WithSummary("What the version did on its validation split")
            .WithDescription(
                "Kept when the version was trained (imports have none: 404). `kind` `classes`: `labels` and `confusion[actual][predicted]` " +
                "(labelling: over steps); `numbers`: `points`, [actual, predicted] of the first target (at most 2000, evenly sampled); " +
                "`forecast`: `windows` (at most 60, evenly sampled), each with its series, first input step, the input's target values " +
                "(`history`), `actual`, `forecast` and, for quantile models, `quantiles` (horizon × targets each).")
            .Produces<ModelEvaluation>()
            .RequireScope(Scopes.Predict, Scopes.Train);
        group.MapPost("/{name}/versions/{version:int}/matches", StateMatches.FindAsync)
            .WithName("FindStateMatches")
            .WithSummary("Ranges of the version's own dataset where given hidden units are on together")
            .WithDescription(
                "LSTMVis's match view: the units (of the top layer, `forward` or `backward`) that are on (above `threshold`) over a " +
                "range selected in a `returnStates` answer are looked for in the dataset the version was trained on: each range " +
                "where all of them are on scores the mean Jaccard similarity of the selected units and the units on at its steps, " +
                "lowered as its length moves away from `length`. Best first, with five steps of context either side. The search " +
                "reads at most `maxSequences` sequences (time series: windows of the model's input length) and " +
                "Inference:MaxMatchSteps steps; `truncated` says whether the dataset had more. 409 for an imported version or a deleted dataset.")
            .Accepts<StateMatchRequest>("application/json")
            .RequireScope(Scopes.Predict, Scopes.Train);
        group.MapPost("/{name}/versions", ImportModelVersionAsync)
            .Idempotent()
            .WithName("ImportModelVersion")
            .WithSummary("Import a model trained elsewhere (PyTorch)")
            .WithDescription(
                "multipart/form-data with `spec` (JSON: `task`, optional `model`, and `preprocessing`, required for forecasts) and " +
                "`weights` (the file `torch.save(model.state_dict())` writes, with the key names of the API contract). The cell, " +
                "sizes, layers, directions, vocabulary and outputs are read from the weights' shapes. Missing, unexpected or " +
                "mis-shaped keys are a 400 listing them. 201 with the new version.")
            .Accepts<ModelImportForm>("multipart/form-data")
            .DisableAntiforgery()
            .RequireScope(Scopes.Admin);
        group.MapPut("/{name}/aliases/{alias}", SetModelAliasAsync)
            .Accepts<ModelAliasRequest>("application/json")
            .WithName("SetModelAlias")
            .WithSummary("Point an alias at a version")
            .WithDescription(
                "Creates the alias or moves it; `/predict` with `name@alias` then serves that version. A request resolves the alias " +
                "once, so it is answered by the old version or the new one, never a mix. A version an alias points to cannot be deleted.")
            .RequireScope(Scopes.Admin);
        group.MapDelete("/{name}/aliases/{alias}", DeleteModelAliasAsync).WithName("DeleteModelAlias").WithSummary("Delete an alias")
            .RequireScope(Scopes.Admin);
        group.MapDelete("/{name}/versions/{version:int}", DeleteModelVersionAsync).WithName("DeleteModelVersion").WithSummary("Delete a version")
            .RequireScope(Scopes.Admin);
        return group;
    }

    /// <summary>Names newest first by when each was first registered (a new version does not move a name between pages).</summary>
    public static async Task<Results<Ok<Page<ModelSummary>>, ValidationProblem>> ListModelsAsync(
        IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken,
        [Description(Pagination.LimitDescription)] int limit = Pagination.DefaultLimit,
        [Description(Pagination.CursorDescription)] string? cursor = null)
    {
        var errors = Pagination.Check(limit, cursor, out var after);
        if (errors.Count > 0) return Problems.Validation(errors);
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var versions = await context.ModelVersions.AsNoTracking()
            .Select(v => new { v.Name, v.Version, v.CreatedAt }).ToListAsync(cancellationToken);
        var names = versions.GroupBy(v => v.Name)
            .Select(g => new ModelSummary(g.Key, g.Max(v => v.Version), g.Count(), g.Min(v => v.CreatedAt), g.Max(v => v.CreatedAt)))
            .Where(m => after is not { } c || m.CreatedAt < c.CreatedAt || m.CreatedAt == c.CreatedAt && string.CompareOrdinal(m.Name, c.Id) < 0)
            .OrderByDescending(m => m.CreatedAt).ThenByDescending(m => m.Name, StringComparer.Ordinal)
            .Take(limit + 1).ToList();
        return TypedResults.Ok(Pagination.Of(names, limit, m => new Cursor(m.CreatedAt.UtcDateTime, m.Name), m => m));
    }

    public static async Task<Results<Ok<ModelResponse>, ProblemHttpResult>> GetModelAsync(
        string name, IDbContextFactory<RnnDbContext> contexts, ModelRegistry registry, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var versions = await context.ModelVersions.AsNoTracking().Where(v => v.Name == name)
            .OrderByDescending(v => v.Version).ToListAsync(cancellationToken);
        if (versions.Count == 0) return Problems.NotFound($"there is no model '{name}'.");
        return TypedResults.Ok(new ModelResponse(
            name,
            versions.Select(v => new ModelVersionSummary(
                v.Version, v.Metrics is null ? null : StoredJson.Read<Dictionary<string, double>>(v.Metrics),
                v.SourceJobId ?? v.SourceTuningJobId ?? "import", v.CreatedAt)).ToArray(),
            (await registry.AliasesAsync(name, cancellationToken)).Where(a => versions.Any(v => v.Version == a.Version))
                .ToDictionary(a => a.Alias, a => a.Version).Prepend(new(ModelSelector.Latest, versions[0].Version)).ToDictionary()));
    }

    public static async Task<Results<Ok<ModelVersionResponse>, ProblemHttpResult>> GetModelVersionAsync(
        string name, int version, ModelRegistry registry, CancellationToken cancellationToken)
    {
        var record = await registry.FindAsync(name, version, cancellationToken);
        return record is null ? Problems.NotFound($"model '{name}' has no version {version}.") : TypedResults.Ok(ModelVersionResponse.From(record));
    }

    public static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> GetModelWeightsAsync(
        string name, int version, ModelRegistry registry, FileStore files, CancellationToken cancellationToken)
    {
        var record = await registry.FindAsync(name, version, cancellationToken);
        if (record is null) return Problems.NotFound($"model '{name}' has no version {version}.");
        return TypedResults.PhysicalFile(files.WeightsPath(record.WeightsFile), "application/octet-stream", $"{name}-v{version}.pt");
    }

    public static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetModelEvaluationAsync(
        string name, int version, ModelRegistry registry, CancellationToken cancellationToken)
    {
        var record = await registry.FindAsync(name, version, cancellationToken);
        if (record is null) return Problems.NotFound($"model '{name}' has no version {version}.");
        var path = registry.EvaluationPath(record);
        if (!File.Exists(path)) return Problems.NotFound($"{name}:{version} has no evaluation: imported versions (and those trained before evaluations were kept) have none.");
        return TypedResults.Stream(File.OpenRead(path), "application/json");
    }

    public static async Task<Results<Created<ModelVersionResponse>, ValidationProblem, ProblemHttpResult, IdempotentAnswer>> ImportModelVersionAsync(
        string name, HttpRequest request, IdempotencyKeys keys, IOptions<ModelImportOptions> options, IOptions<JobsOptions> jobs, ModelRegistry registry,
        ISequenceEngine engine, CancellationToken cancellationToken)
    {
        if (!ModelNames.IsValid(name)) return Problems.Validation("name", $"'{name}' {ModelNames.Rule}.");
        if (ModelNames.IsReserved(name)) return Problems.Validation("name", $"'{name}' {ModelNames.ReservedRule}.");
        var limit = options.Value.MaxImportBytes;
        if (RequestBodies.Limit(request, limit + FormOverhead, $"weights may be at most {limit} bytes") is { } tooLarge) return tooLarge;
        if (!request.HasFormContentType)
            return Problems.UnsupportedMediaType("send multipart/form-data with the fields 'spec' and 'weights'.");
        var (form, invalid, failed) = await RequestBodies.ReadFormAsync(request, limit + FormOverhead, "body", cancellationToken);
        if (invalid is not null) return invalid;
        if (failed is not null) return failed;
        if (RequestBodies.UnknownFormFields(form!, ImportFormFields) is { } unknown) return unknown;
        await IdempotencyKeys.FingerprintAsync(request, form!, cancellationToken);
        if (await keys.BeginAsync(request.HttpContext, cancellationToken) is { } answer) return answer;

        var specText = form!["spec"].ToString();
        if (specText.Length == 0 && form.Files.GetFile("spec") is { } specFile)
        {
            using var reader = new StreamReader(specFile.OpenReadStream());
            specText = await reader.ReadToEndAsync(cancellationToken);
        }
        if (specText.Length == 0) return Problems.Validation("spec", "is required: JSON with task, model and preprocessing.");
        ModelImportSpec? import = null;
        JsonException? unread = null;
        try
        {
            import = JsonSerializer.Deserialize<ModelImportSpec>(specText, StoredJson.Options)
                ?? throw new JsonException("the spec is null", "$", null, null);
        }
        catch (JsonException exception)
        {
            unread = exception;
        }
        // Unknown fields and enum values first, named with what was meant, as for request bodies; then what else stopped the read.
        var unknownInSpec = StrictJson.UnknownFieldsAndValues(Encoding.UTF8.GetBytes(specText), StoredJson.Options.GetTypeInfo(typeof(ModelImportSpec)));
        if (unknownInSpec.Count > 0) return Problems.Validation(unknownInSpec.Select(error => new ValidationError("spec." + error.Field, error.Message)));
        if (import is null)
        {
            var (field, message) = Problems.DescribeJsonError(unread!);
            return Problems.Validation(field == "body" ? "spec" : "spec." + field, message);
        }

        var file = form.Files.GetFile("weights");
        if (file is null) return Problems.Validation("weights", "is required: the state_dict file, as a form field named 'weights'.");
        if (file.Length > limit) return Problems.TooLarge($"the weights are {file.Length} bytes; at most {limit} are accepted.");
        StateDict weights;
        var maxParameters = jobs.Value.MaxParameters;
        try
        {
            // The shapes are budgeted before any tensor is read: a small file may describe (strided views of) a huge model.
            await using var stream = file.OpenReadStream();
            weights = StateDictReader.Read(stream, limit, maxParameters);
        }
        catch (StateDictTooLargeException tooMany)
        {
            return Problems.Validation("weights",
                $"the weights hold {Sizes.Count(tooMany.Elements)} parameters ({Sizes.Bytes(Sizes.Product(4, tooMany.Elements))} as float32); " +
                $"at most {Sizes.Count(maxParameters)} parameters are allowed (Jobs:MaxParameters).");
        }
        catch (StateDictFormatException exception)
        {
            return Problems.Validation("weights", $"is not a PyTorch state_dict file: {exception.Message}");
        }

        var errors = new List<ValidationError>();
        var plan = ModelImport.Plan(import, weights, errors);
        if (plan is null) return Problems.Validation(errors);

        // Loading into a real network is the strict check: every key present, none extra, every shape right.
        using var model = engine.Create(plan.Spec);
        try
        {
            model.LoadStateDict(weights);
        }
        catch (StateDictMismatchException mismatch)
        {
            var problems = mismatch.Missing.Select(key => $"missing key: {key}")
                .Concat(mismatch.Unexpected.Select(key => $"unexpected key: {key}"))
                .Concat(mismatch.Misshaped.Select(text => $"shape mismatch: {text}"));
            return Problems.Validation(problems.Select(text => new ValidationError("weights", text)));
        }

        var record = new ModelVersionRecord
        {
            Id = Ids.New("mv"), Name = name, Spec = StoredJson.Write(plan.Spec), Task = StoredJson.Write(plan.Task),
            Preprocessing = plan.Preprocessing, ParameterCount = model.ParameterCount,
        };
        // The stored file is our writer's, straight from the network into the registry's file.
        await registry.RegisterImportAsync(record, stream =>
        {
            model.SaveWeights(stream);
            return Task.CompletedTask;
        }, cancellationToken);
        return TypedResults.Created($"/models/{name}/versions/{record.Version}", ModelVersionResponse.From(record));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteModelVersionAsync(
        string name, int version, ModelRegistry registry, ModelCache cache, CancellationToken cancellationToken)
    {
        var deleted = await registry.DeleteAsync(name, version, cancellationToken);
        if (deleted.KeptByAliases.Count > 0)
            return Problems.Conflict(
                $"{name}:{version} is what {string.Join(", ", deleted.KeptByAliases.Select(a => $"{name}@{a}"))} point{(deleted.KeptByAliases.Count == 1 ? "s" : "")} to; " +
                "move or delete the alias first (PUT or DELETE /models/{name}/aliases/{alias}).");
        if (deleted.Id is null) return Problems.NotFound($"model '{name}' has no version {version}.");
        cache.Evict(deleted.Id);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<ModelAliasResponse>, ValidationProblem, ProblemHttpResult>> SetModelAliasAsync(
        string name, string alias, HttpRequest request, ModelRegistry registry, CancellationToken cancellationToken)
    {
        if (CheckAlias(alias) is { } invalidAlias) return invalidAlias;
        if (!request.HasJsonContentType()) return Problems.UnsupportedMediaType("send the request as application/json: { \"version\": 3 }.");
        var (body, invalid, failed) = await RequestBodies.ReadJsonAsync<ModelAliasRequest>(request, 4096, cancellationToken);
        if (invalid is not null) return invalid;
        if (failed is not null) return failed;
        if (body!.Version is not { } version) return Problems.Validation("version", "is required: the version the alias points to.");
        if (version < 1) return Problems.Validation("version", $"must be a whole number from 1, got {version}.");
        if (await registry.FindAsync(name, null, cancellationToken) is null) return Problems.NotFound($"there is no model '{name}'.");
        var record = await registry.SetAliasAsync(name, alias, version, cancellationToken);
        if (record is null) return Problems.Validation("version", $"model '{name}' has no version {version}.");
        return TypedResults.Ok(new ModelAliasResponse(record.Name, record.Alias, record.Version, record.UpdatedAt));
    }

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteModelAliasAsync(
        string name, string alias, ModelRegistry registry, CancellationToken cancellationToken)
    {
        if (CheckAlias(alias) is { } invalidAlias) return invalidAlias;
        return await registry.RemoveAliasAsync(name, alias, cancellationToken)
            ? TypedResults.NoContent()
            : Problems.NotFound($"model '{name}' has no alias '{alias}'.");
    }

    private static ValidationProblem? CheckAlias(string alias) =>
        !ModelSelector.IsValidAlias(alias) ? Problems.Validation("alias", $"'{alias}' {ModelSelector.AliasRule}.")
        : alias == ModelSelector.Latest ? Problems.Validation("alias", "'latest' always points to the newest version; it cannot be set or deleted.")
        : null;
}
