using Microsoft.Extensions.Configuration;

namespace RnnService.Training.Jobs;

/// <summary>
/// What this process does, from the setting <c>Roles</c>: <c>api</c> (serves HTTP: datasets, jobs, models, predict),
/// <c>worker</c> (trains queued jobs; serves only the health endpoints), or both, the default.
/// </summary>
public sealed record ServiceRoles(bool Api, bool Worker)
{
    public const string Key = "Roles";

    public static ServiceRoles Both { get; } = new(true, true);

    /// <summary>Reads <c>Roles</c> (<c>api</c>, <c>worker</c>, or both separated by a comma); an unknown role stops the start.</summary>
    public static ServiceRoles From(IConfiguration configuration)
    {
        var text = configuration[Key];
        if (string.IsNullOrWhiteSpace(text)) return Both;
        bool api = false, worker = false;
        foreach (var part in text.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Equals("api", StringComparison.OrdinalIgnoreCase)) api = true;
            else if (part.Equals("worker", StringComparison.OrdinalIgnoreCase)) worker = true;
            else throw new InvalidOperationException($"Roles: '{part}' is not a role; use api, worker, or api,worker.");
        }
        if (!api && !worker) throw new InvalidOperationException($"Roles: '{text}' names no role; use api, worker, or api,worker.");
        return new ServiceRoles(api, worker);
    }

    public override string ToString() => Api && Worker ? "api,worker" : Api ? "api" : "worker";
}
