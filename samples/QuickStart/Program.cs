using RnnService.Client;
using RnnService.Samples;

// dotnet run --project samples/QuickStart -- forecast samples/data/air-passengers.csv [http://127.0.0.1:5080]
// Kinds: forecast (a CSV), classification, regression, labelling (JSON lines); RNNSERVICE_API_KEY when keys are on.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: QuickStart forecast|classification|regression|labelling FILE [SERVICE_ADDRESS]");
    return 2;
}
using var http = new HttpClient { BaseAddress = new Uri(args.Length > 2 ? args[2] : "http://127.0.0.1:5080") };
var client = RnnServiceClients.Create(http, Environment.GetEnvironmentVariable("RNNSERVICE_API_KEY"));
var file = await File.ReadAllTextAsync(args[1]);
var name = Path.GetFileName(args[1]);
Func<RnnServiceClient, string, string, TextWriter, Task>? guide = args[0] switch
{
    "forecast" => Guides.ForecastAsync,
    "classification" => Guides.ClassifyAsync,
    "regression" => Guides.RegressAsync,
    "labelling" => Guides.LabelAsync,
    _ => null,
};
if (guide is null)
{
    Console.Error.WriteLine($"unknown kind '{args[0]}'");
    return 2;
}
await guide(client, file, name, Console.Out);
return 0;
