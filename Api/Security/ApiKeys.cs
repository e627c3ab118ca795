using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace RnnService.Api.Security;

/// <summary>What a key may do. <c>admin</c> includes the other two.</summary>
public static class Scopes
{
    /// <summary><c>POST /predict</c>, and reading models.</summary>
    public const string Predict = "predict";

    /// <summary>Datasets (upload, read) and training jobs (submit, read, cancel, follow), and reading models.</summary>
    public const string Train = "train";

    /// <summary>Deletes (datasets, model versions) and model imports, and everything else.</summary>
    public const string Admin = "admin";

    public static readonly string[] All = [Predict, Train, Admin];
}

/// <summary>The <c>Auth</c> section: the operator's API keys. None configured: the service is open (the embedded default).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    public List<ApiKeyOptions> Keys { get; set; } = [];
}

/// <summary>One key, stored as its SHA-256 only: <c>printf %s "$KEY" | sha256sum</c>.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>Who holds it: in logs, rate-limit partitions and 403 answers; never the key.</summary>
    public string Name { get; set; } = "";

    /// <summary>SHA-256 of the key's UTF-8 bytes, 64 hexadecimal digits.</summary>
    public string Sha256 { get; set; } = "";

    public List<string> Scopes { get; set; } = [];

    /// <summary>This key's own rate, instead of <c>RateLimits:PermitsPerSecond</c>.</summary>
    public int? PermitsPerSecond { get; set; }
}

/// <summary>Start-up checks of <see cref="AuthOptions"/>: a broken key list stops the start, naming the setting.</summary>
public sealed class AuthOptionsValidation : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            var at = $"Auth:Keys:{i}";
            if (string.IsNullOrWhiteSpace(key.Name)) failures.Add($"{at}:Name is required.");
            else if (!names.Add(key.Name)) failures.Add($"{at}:Name '{key.Name}' is used by another key.");
            if (key.Sha256.Length != 64 || !key.Sha256.All(Uri.IsHexDigit))
                failures.Add($"{at}:Sha256 must be the key's SHA-256 in 64 hexadecimal digits (printf %s \"$KEY\" | sha256sum).");
            else if (!hashes.Add(key.Sha256)) failures.Add($"{at}:Sha256 is the hash of another key.");
            if (key.Scopes.Count == 0) failures.Add($"{at}:Scopes needs at least one of {string.Join(", ", Scopes.All)}.");
            foreach (var scope in key.Scopes.Where(scope => !Scopes.All.Contains(scope)))
                failures.Add($"{at}:Scopes: '{scope}' is not one of {string.Join(", ", Scopes.All)}.");
            if (key.PermitsPerSecond is < 1) failures.Add($"{at}:PermitsPerSecond must be at least 1.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>A configured key, as the service holds it: its hash, never the key.</summary>
public sealed record ApiKey(string Name, byte[] Hash, IReadOnlySet<string> Scopes, int? PermitsPerSecond);

/// <summary>The configured keys; finds the one a request presents by hash, in time that does not depend on which.</summary>
public sealed class ApiKeyStore
{
    private readonly ApiKey[] keys;

    public ApiKeyStore(IOptions<AuthOptions> options) =>
        keys = options.Value.Keys
            .Select(key => new ApiKey(key.Name, Convert.FromHexString(key.Sha256), key.Scopes.ToHashSet(StringComparer.Ordinal), key.PermitsPerSecond))
            .ToArray();

    /// <summary>The key of that name, for its own settings.</summary>
    public ApiKey? Named(string name) => keys.FirstOrDefault(key => key.Name == name);

    /// <summary>Keys are required as soon as one is configured.</summary>
    public bool Enabled => keys.Length > 0;

    public ApiKey? Find(string presented)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        ApiKey? found = null;
        // Every key is compared, each in constant time: how long this takes says nothing about which key nearly matched.
        foreach (var key in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash)) found = key;
        }
        return found;
    }
}
