using RnnService.Api.Configuration;
using RnnService.Api.Health;

var builder = WebApplication.CreateBuilder(args);

builder.AddProblemHandling();
builder.AddStorageServices();
builder.AddEngineServices();
builder.AddApiDocumentation();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();

app.MapApiDocumentation();
app.MapHealthApi();

app.Run();

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
