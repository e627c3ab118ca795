// Reliability drivers of the published service, on loopback only; both stop by themselves and exit 1 when a rule is
// broken. bench/reliability.sh builds the service and runs them.
//
//   Reliability fault --api RnnService.Api.dll --work DIR [--kills 5] [--seed 1] [--json FILE]
//   Reliability soak  --api RnnService.Api.dll --work DIR [--seconds 600] [--warmup 120] [--concurrency 32] [--seed 1] [--json FILE]
//   Reliability memory --api RnnService.Api.dll --work DIR [--shape NAME] [--json FILE]
//   Reliability engine [--json FILE]       the factors of Domain/Budgets/EngineMemory, measured again
using System.Globalization;
using RnnService.Bench.Reliability;

if (args.Length > 0 && args[0] == "engine-child") return EngineFactors.Child(args);
if (args.Length == 0 || args[0] is not ("fault" or "soak" or "memory" or "engine"))
{
    Console.Error.WriteLine("usage: Reliability fault|soak|memory|engine --api DLL --work DIR [options]");
    return 2;
}
var settings = new Dictionary<string, string>
{
    ["kills"] = "5", ["seed"] = "1", ["seconds"] = "600", ["warmup"] = "120", ["concurrency"] = "32",
    ["json"] = $"bench/results/{args[0]}.json",
};
for (var i = 1; i + 1 < args.Length; i += 2) settings[args[i].TrimStart('-')] = args[i + 1];
int Setting(string name) => int.Parse(settings[name], CultureInfo.InvariantCulture);
if (args[0] == "engine") return await EngineFactors.RunAsync(settings["json"]);
var api = Path.GetFullPath(settings["api"]);
var work = Path.GetFullPath(settings["work"]);
Directory.CreateDirectory(work);

return args[0] switch
{
    "fault" => await Fault.RunAsync(api, work, Setting("seed"), Setting("kills"), settings["json"]),
    "memory" => await Memory.RunAsync(api, work, settings["json"], settings.GetValueOrDefault("shape")),
    _ => await Soak.RunAsync(api, work, Setting("seconds"), Setting("warmup"), Setting("concurrency"), Setting("seed"), settings["json"]),
};
