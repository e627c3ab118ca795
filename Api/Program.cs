using RnnService.Api.Configuration;
using RnnService.Api.Datasets;
using RnnService.Api.Health;
using RnnService.Api.Models;
using RnnService.Api.Predict;
using RnnService.Api.TrainingJobs;

var builder = WebApplication.CreateBuilder(args);

builder.AddProblemHandling();
builder.AddStorageServices();
builder.AddEngineServices();
builder.AddInferenceServices();
builder.AddApiDocumentation();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();

app.MapApiDocumentation();
app.MapHealthApi();
app.MapDatasetsApi();
app.MapTrainingJobsApi();
app.MapModelsApi();
app.MapPredictApi();

app.Run();

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
