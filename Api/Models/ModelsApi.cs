using System.ComponentModel;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RnnService.Api.Infrastructure;
using RnnService.Training.Registry;
using RnnService.Training.Storage;

namespace RnnService.Api.Models;

/// <summary>A registered name and its latest version.</summary>
public sealed record ModelSummary(string Name, int LatestVersion, int Versions, DateTimeOffset UpdatedAt);

/// <summary>One version as listed under its name.</summary>
public sealed record ModelVersionSummary(int Version, IReadOnlyDictionary<string, double>? Metrics, string Source, DateTimeOffset CreatedAt);

/// <summary>A name's versions, newest first, and its aliases (<c>latest</c>).</summary>
public sealed record ModelResponse(string Name, IReadOnlyList<ModelVersionSummary> Versions, IReadOnlyDictionary<string, int> Aliases);

/// <summary>Everything about one version: what it is, what it was trained for, how inputs are prepared, how well it did.</summary>
public sealed record ModelVersionResponse(
    string Name,
    int Version,
    [property: Description("The network: cell, inputSize, hiddenSize, numLayers, bidirectional, dropout, vocabularySize, outputSize.")] JsonElement Spec,
    [property: Description("The task it was trained for, with every default filled in.")] JsonElement Task,
    [property: Description("Scalers, vocabulary or class labels: what turns inputs into the network's and outputs back.")] JsonElement Preprocessing,
    IReadOnlyDictionary<string, double>? Metrics,
    long ParameterCount,
    [property: Description("The job that trained it, or import.")] string Source,
    string? Device,
    DateTimeOffset CreatedAt)
{
    public static ModelVersionResponse From(ModelVersionRecord record) => new(
        record.Name, record.Version, Parse(record.Spec), Parse(record.Task), Parse(record.Preprocessing),
        record.Metrics is null ? null : StoredJson.Read<Dictionary<string, double>>(record.Metrics),
        record.ParameterCount, record.SourceJobId ?? "import", record.Device, record.CreatedAt);

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}

public static class ModelsApi
{
    public static RouteGroupBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/models").WithTags("Models");
        group.MapGet("/", ListModelsAsync).WithName("ListModels").WithSummary("Registered names with their latest version");
        group.MapGet("/{name}", GetModelAsync).WithName("GetModel").WithSummary("A name's versions, newest first, and its aliases");
        group.MapGet("/{name}/versions/{version:int}", GetModelVersionAsync)
            .WithName("GetModelVersion").WithSummary("One version: spec, task, preprocessing, metrics, parameter count, source");
        group.MapGet("/{name}/versions/{version:int}/weights", GetModelWeightsAsync)
            .WithName("GetModelWeights")
            .WithSummary("The version's weights as a PyTorch state_dict file")
            .WithDescription("`torch.load(path)` gives an OrderedDict that `model.load_state_dict` takes, with the key names of the API contract.")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream");
        group.MapDelete("/{name}/versions/{version:int}", DeleteModelVersionAsync).WithName("DeleteModelVersion").WithSummary("Delete a version");
        return group;
    }

    public static async Task<Ok<ModelSummary[]>> ListModelsAsync(IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var versions = await context.ModelVersions.AsNoTracking()
            .Select(v => new { v.Name, v.Version, v.CreatedAt }).ToListAsync(cancellationToken);
        return TypedResults.Ok(versions.GroupBy(v => v.Name).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ModelSummary(g.Key, g.Max(v => v.Version), g.Count(), g.Max(v => v.CreatedAt)))
            .ToArray());
    }

    public static async Task<Results<Ok<ModelResponse>, ProblemHttpResult>> GetModelAsync(
        string name, IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var versions = await context.ModelVersions.AsNoTracking().Where(v => v.Name == name)
            .OrderByDescending(v => v.Version).ToListAsync(cancellationToken);
        if (versions.Count == 0) return Problems.NotFound($"there is no model '{name}'.");
        return TypedResults.Ok(new ModelResponse(
            name,
            versions.Select(v => new ModelVersionSummary(
                v.Version, v.Metrics is null ? null : StoredJson.Read<Dictionary<string, double>>(v.Metrics),
                v.SourceJobId ?? "import", v.CreatedAt)).ToArray(),
            new Dictionary<string, int> { ["latest"] = versions[0].Version }));
    }

    public static async Task<Results<Ok<ModelVersionResponse>, ProblemHttpResult>> GetModelVersionAsync(
        string name, int version, IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken)
    {
        var record = await FindAsync(contexts, name, version, cancellationToken);
        return record is null ? Problems.NotFound($"model '{name}' has no version {version}.") : TypedResults.Ok(ModelVersionResponse.From(record));
    }

    public static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> GetModelWeightsAsync(
        string name, int version, IDbContextFactory<RnnDbContext> contexts, FileStore files, CancellationToken cancellationToken)
    {
        var record = await FindAsync(contexts, name, version, cancellationToken);
        if (record is null) return Problems.NotFound($"model '{name}' has no version {version}.");
        return TypedResults.PhysicalFile(files.WeightsPath(record.WeightsFile), "application/octet-stream", $"{name}-v{version}.pt");
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteModelVersionAsync(
        string name, int version, ModelRegistry registry, CancellationToken cancellationToken) =>
        await registry.DeleteAsync(name, version, cancellationToken)
            ? TypedResults.NoContent()
            : Problems.NotFound($"model '{name}' has no version {version}.");

    private static async Task<ModelVersionRecord?> FindAsync(
        IDbContextFactory<RnnDbContext> contexts, string name, int version, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.ModelVersions.AsNoTracking().SingleOrDefaultAsync(v => v.Name == name && v.Version == version, cancellationToken);
    }
}
