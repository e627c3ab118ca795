using RnnService.Api.Configuration;
using RnnService.Api.Datasets;
using RnnService.Api.Health;
using RnnService.Api.Infrastructure;
using RnnService.Api.Models;
using RnnService.Api.Predict;
using RnnService.Api.PredictionJobs;
using RnnService.Api.TrainingJobs;
using RnnService.Api.TuningJobs;
using RnnService.Training.Jobs;

var builder = WebApplication.CreateBuilder(args);
// api, worker, or both: a worker-only process serves just the health endpoints.
var roles = ServiceRoles.From(builder.Configuration);

builder.AddProblemHandling();
builder.AddStorageServices(roles);
builder.AddEngineServices();
builder.AddTelemetry(roles);
if (roles.Api)
{
    builder.AddSecurityServices();
    builder.AddInferenceServices();
    builder.AddApiDocumentation();
}

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseMetricsPort();

app.MapHealthApi();
if (roles.Api)
{
    app.MapWebConsole();
    app.UseSecurity();
    IdempotencyKeys.Use(app);
    StrictQuery.Use(app);
    app.MapApiDocumentation();
    app.MapDatasetsApi();
    app.MapTrainingJobsApi();
    app.MapTuningJobsApi();
    app.MapModelsApi();
    app.MapPredictApi();
    app.MapPredictionJobsApi();
}
app.MapMetrics(roles);

app.Run();

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
