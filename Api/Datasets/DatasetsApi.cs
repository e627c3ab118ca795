using System.ComponentModel;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RnnService.Api.Infrastructure;
using RnnService.Api.Security;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Training.Data;
using RnnService.Training.Storage;

namespace RnnService.Api.Datasets;

public static class DatasetsApi
{
    /// <summary>Room for the multipart framing and the small fields around the file.</summary>
    private const long FormOverhead = 64 << 10;

    private static readonly string[] FormFields = RequestBodies.FormFieldsOf<DatasetUploadForm>();

    public static RouteGroupBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/datasets").WithTags("Datasets");

        group.MapPost("/", UploadDatasetAsync)
            .Idempotent()
            .WithName("UploadDataset")
            .WithSummary("Upload a dataset")
            .WithDescription(
                "multipart/form-data with `file` (required), `name` and `format` (csv or jsonl; inferred from the file name); " +
                "or JSON with the text in `content` (choose application/json in Swagger UI to try it with the example). " +
                "The file is parsed and checked in full before it is stored; a problem is a 400 naming its line or row and column. " +
                "Time-series CSV: a header row, numeric columns, an optional `timestamp` (or any date) column that orders the rows, " +
                "an optional `series` column. JSON lines: `{\"sequence\": [[f1,...,fk], ...], \"label\": 2}` or `{\"text\": \"...\", \"label\": 1}`.")
            .Accepts<DatasetUploadForm>("multipart/form-data", "application/json")
            .DisableAntiforgery()
            .RequireScope(Scopes.Train);

        group.MapGet("/", ListDatasetsAsync).WithName("ListDatasets").WithSummary("List datasets, newest first, a page at a time").RequireScope(Scopes.Train);
        group.MapGet("/{id}", GetDatasetAsync).WithName("GetDataset").WithSummary("A dataset's summary").RequireScope(Scopes.Train);
        group.MapGet("/{id}/preview", GetDatasetPreviewAsync)
            .WithName("GetDatasetPreview")
            .WithSummary("What to plot of a dataset")
            .WithDescription(
                "Bounded whatever the dataset's size: for time series, each column of the first 12 series sampled to at most 500 " +
                "steps (with their times when the data has them); for sequences, texts and token lists, a histogram of lengths, " +
                "one of numeric labels, and the first five examples. Class counts are in the summary.")
            .RequireScope(Scopes.Train);
        group.MapDelete("/{id}", DeleteDatasetAsync)
            .WithName("DeleteDataset")
            .WithSummary("Delete a dataset")
            .WithDescription("409 while a queued or running job or tuning job uses it.")
            .RequireScope(Scopes.Admin);
        return group;
    }

    public static async Task<Results<Created<DatasetResponse>, ValidationProblem, ProblemHttpResult, IdempotentAnswer>> UploadDatasetAsync(
        HttpRequest request, IdempotencyKeys keys, IOptions<DatasetOptions> options, IDbContextFactory<RnnDbContext> contexts, FileStore files,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxUploadBytes;
        if (RequestBodies.Limit(request, limit + FormOverhead, $"datasets may be at most {limit} bytes") is { } tooLarge) return tooLarge;
        if (request.HasJsonContentType()) return await UploadInlineDatasetAsync(request, keys, limit, contexts, files, time, cancellationToken);
        if (!request.HasFormContentType)
            return Problems.UnsupportedMediaType(
                "send multipart/form-data with the dataset in a field named 'file', or JSON with its text in 'content'.");
        var (form, invalid, failed) = await RequestBodies.ReadFormAsync(request, limit + FormOverhead, "file", cancellationToken);
        if (invalid is not null) return invalid;
        if (failed is not null) return failed;
        if (RequestBodies.UnknownFormFields(form!, FormFields) is { } unknown) return unknown;
        await IdempotencyKeys.FingerprintAsync(request, form!, cancellationToken);
        if (await keys.BeginAsync(request.HttpContext, cancellationToken) is { } answer) return answer;

        var file = form!.Files.GetFile("file");
        if (file is null) return Problems.Validation("file", "is required: the dataset file, as a form field named 'file'.");
        if (file.Length > limit) return Problems.TooLarge($"the file is {file.Length} bytes; datasets may be at most {limit} bytes.");
        if (file.Length == 0) return Problems.Validation("file", "is empty.");

        DatasetFormat format;
        var formatText = form["format"].ToString();
        if (formatText.Length > 0)
        {
            if (ParseFormat(formatText) is not { } given) return Problems.Validation("format", $"'{formatText}' is not csv or jsonl.");
            format = given;
        }
        else if (DatasetParser.FormatOf(file.FileName) is { } inferred) format = inferred;
        else return Problems.Validation("format", $"cannot be inferred from the file name '{file.FileName}'; send format=csv or format=jsonl.");

        var name = form["name"].ToString().Trim();
        if (name.Length == 0) name = Path.GetFileNameWithoutExtension(file.FileName);
        if (name.Length == 0) name = "dataset";

        await using var content = file.OpenReadStream();
        return await StoreAsync(content, file.Length, "file", name, format, contexts, files, time, cancellationToken);
    }

    /// <summary>
    /// The dataset's text inside a JSON body: what Swagger UI's "Try it out" can send without a file at hand, and what a
    /// script with the data in memory finds simplest.
    /// </summary>
    private static async Task<Results<Created<DatasetResponse>, ValidationProblem, ProblemHttpResult, IdempotentAnswer>> UploadInlineDatasetAsync(
        HttpRequest request, IdempotencyKeys keys, long limit, IDbContextFactory<RnnDbContext> contexts, FileStore files, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var (inline, invalid, failed) = await RequestBodies.ReadJsonAsync<InlineDataset>(request, limit + FormOverhead, cancellationToken);
        if (invalid is not null) return invalid;
        if (failed is not null) return failed;
        if (await keys.BeginAsync(request.HttpContext, cancellationToken) is { } answer) return answer;
        if (string.IsNullOrEmpty(inline?.Content)) return Problems.Validation("content", "is required: the dataset's text (CSV or JSON lines).");
        var bytes = Encoding.UTF8.GetBytes(inline.Content);
        if (bytes.Length > limit) return Problems.TooLarge($"the content is {bytes.Length} bytes; datasets may be at most {limit} bytes.");

        DatasetFormat format;
        if (!string.IsNullOrEmpty(inline.Format))
        {
            if (ParseFormat(inline.Format) is not { } named) return Problems.Validation("format", $"'{inline.Format}' is not csv or jsonl.");
            format = named;
        }
        else format = inline.Content.TrimStart().StartsWith('{') ? DatasetFormat.Jsonl : DatasetFormat.Csv;
        var name = inline.Name?.Trim() is { Length: > 0 } given ? given : "dataset";
        using var content = new MemoryStream(bytes);
        return await StoreAsync(content, bytes.Length, "content", name, format, contexts, files, time, cancellationToken);
    }

    /// <summary>csv or jsonl, in any case; null for anything else (numbers included, which Enum.TryParse would take).</summary>
    private static DatasetFormat? ParseFormat(string text) =>
        Enum.TryParse(text, ignoreCase: true, out DatasetFormat format) && Enum.IsDefined(format) && !int.TryParse(text, out _) ? format : null;

    /// <summary>Parses and stores an upload; a bad one leaves nothing behind.</summary>
    private static async Task<Results<Created<DatasetResponse>, ValidationProblem, ProblemHttpResult, IdempotentAnswer>> StoreAsync(
        Stream source, long length, string field, string name, DatasetFormat format, IDbContextFactory<RnnDbContext> contexts, FileStore files,
        TimeProvider time, CancellationToken cancellationToken)
    {
        if (name.Length > 200) return Problems.Validation("name", "must be at most 200 characters.");
        // NUL above all: PostgreSQL refuses it in text.
        if (name.Any(char.IsControl)) return Problems.Validation("name", "must not contain control characters.");
        // Written beside its final place, parsed, and moved in only when valid: a bad upload leaves nothing behind.
        var id = Ids.New("ds");
        var fileName = id + (format == DatasetFormat.Csv ? ".csv" : ".jsonl");
        var path = files.DatasetPath(fileName);
        var temporary = FileStore.TemporaryBeside(path);
        try
        {
            await using (var target = File.Create(temporary))
            {
                await source.CopyToAsync(target, cancellationToken);
                // On disk before the rename: other processes on a shared volume see the whole file or none.
                target.Flush(flushToDisk: true);
            }
            ParsedDataset parsed;
            try
            {
                parsed = await Task.Run(() => DatasetParser.Parse(temporary, format), cancellationToken);
            }
            catch (DatasetParseException exception)
            {
                return TypedResults.ValidationProblem(
                    new Dictionary<string, string[]> { [field] = exception.Problems.ToArray() },
                    title: "The dataset is not valid.", detail: exception.Problems[0]);
            }
            File.Move(temporary, path);
            var record = new DatasetRecord
            {
                Id = id, Name = name, Format = format, Kind = parsed.Summary.Kind, FileName = fileName,
                SizeBytes = length, Summary = StoredJson.Write(parsed.Summary), CreatedAt = StoredTime.Now(time),
            };
            await using var context = await contexts.CreateDbContextAsync(cancellationToken);
            context.Datasets.Add(record);
            try
            {
                await WritePreviewAsync(files, id, parsed, CancellationToken.None);
                await context.SaveChangesAsync(CancellationToken.None);
            }
            catch
            {
                File.Delete(path);
                File.Delete(PreviewPath(files, id));
                throw;
            }
            return TypedResults.Created($"/datasets/{id}", DatasetResponse.From(record));
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    public static async Task<Results<Ok<Page<DatasetResponse>>, ValidationProblem>> ListDatasetsAsync(
        IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken,
        [Description(Pagination.LimitDescription)] int limit = Pagination.DefaultLimit,
        [Description(Pagination.CursorDescription)] string? cursor = null)
    {
        var errors = Pagination.Check(limit, cursor, out var after);
        if (errors.Count > 0) return Problems.Validation(errors);
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return TypedResults.Ok((await Pagination.PageAsync(context.Datasets.AsNoTracking(), limit, after, cancellationToken)).Select(DatasetResponse.From));
    }

    public static async Task<Results<Ok<DatasetResponse>, ProblemHttpResult>> GetDatasetAsync(
        string id, IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var record = await context.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == id, cancellationToken);
        return record is null ? Problems.NotFound($"there is no dataset '{id}'.") : TypedResults.Ok(DatasetResponse.From(record));
    }

    public static async Task<Results<Ok<DatasetPreview>, ProblemHttpResult>> GetDatasetPreviewAsync(
        string id, IDbContextFactory<RnnDbContext> contexts, FileStore files, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var record = await context.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == id, cancellationToken);
        if (record is null) return Problems.NotFound($"there is no dataset '{id}'.");
        var path = PreviewPath(files, id);
        if (File.Exists(path))
        {
            await using var stream = File.OpenRead(path);
            return TypedResults.Ok((await JsonSerializer.DeserializeAsync<DatasetPreview>(stream, StoredJson.Options, cancellationToken))!);
        }
        // Uploaded before previews were kept: made once from the file, as the upload does now.
        var parsed = await Task.Run(() => DatasetParser.Parse(files.DatasetPath(record.FileName), record.Format), cancellationToken);
        return TypedResults.Ok(await WritePreviewAsync(files, id, parsed, cancellationToken));
    }

    private static string PreviewPath(FileStore files, string id) => files.DatasetPath(id + ".preview.json");

    private static async Task<DatasetPreview> WritePreviewAsync(FileStore files, string id, ParsedDataset parsed, CancellationToken cancellationToken)
    {
        var preview = DatasetPreview.From(parsed);
        var bytes = StoredJson.Bytes(preview);
        await FileStore.WriteAtomicallyAsync(PreviewPath(files, id), stream => stream.WriteAsync(bytes, cancellationToken).AsTask(), cancellationToken);
        return preview;
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteDatasetAsync(
        string id, IDbContextFactory<RnnDbContext> contexts, FileStore files, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var record = await context.Datasets.SingleOrDefaultAsync(d => d.Id == id, cancellationToken);
        if (record is null) return Problems.NotFound($"there is no dataset '{id}'.");
        var user = await context.TrainingJobs.AsNoTracking()
            .Where(job => job.DatasetId == id && (job.State == JobState.Queued || job.State == JobState.Running))
            .Select(job => job.Id).FirstOrDefaultAsync(cancellationToken);
        if (user is not null) return Problems.Conflict($"job {user} uses this dataset; cancel it or wait for it to end.");
        var search = await context.TuningJobs.AsNoTracking()
            .Where(t => t.DatasetId == id && (t.State == JobState.Queued || t.State == JobState.Running))
            .Select(t => t.Id).FirstOrDefaultAsync(cancellationToken);
        if (search is not null) return Problems.Conflict($"tuning job {search} uses this dataset; cancel it or wait for it to end.");
        context.Datasets.Remove(record);
        await context.SaveChangesAsync(cancellationToken);
        File.Delete(files.DatasetPath(record.FileName));
        File.Delete(PreviewPath(files, record.Id));
        return TypedResults.NoContent();
    }
}
