using System.Text.RegularExpressions;

namespace RnnService.Domain.Models;

/// <summary>
/// How a client names a model to use: <c>name</c> (its latest version), <c>name:version</c>, or <c>name@alias</c> (the
/// version the alias points to; <c>latest</c> is the alias every model has).
/// </summary>
public readonly partial record struct ModelSelector(string Name, int? Version, string? Alias)
{
    public const string Latest = "latest";

    public const string Forms = "a model name, name:version or name@alias";

    public const string AliasRule = "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter";

    /// <summary>The reference in <paramref name="text"/>, or null with what is wrong with it in <paramref name="problem"/>.</summary>
    public static ModelSelector? Parse(string? text, out string? problem)
    {
        var reference = text?.Trim() ?? "";
        problem = null;
        if (reference.Length == 0)
        {
            problem = $"is required: {Forms}.";
            return null;
        }
        var at = reference.LastIndexOf('@');
        var colon = reference.LastIndexOf(':');
        var end = at >= 0 ? at : colon >= 0 ? colon : reference.Length;
        var name = reference[..end];
        if (!ModelNames.IsValid(name))
        {
            problem = $"'{reference}': the name {ModelNames.Rule}.";
            return null;
        }
        if (at >= 0)
        {
            var alias = reference[(at + 1)..];
            if (!IsValidAlias(alias))
            {
                problem = $"'{reference}': the alias after '@' {AliasRule}.";
                return null;
            }
            return new ModelSelector(name, null, alias == Latest ? null : alias);
        }
        if (colon < 0) return new ModelSelector(name, null, null);
        if (int.TryParse(reference[(colon + 1)..], out var number) && number >= 1) return new ModelSelector(name, number, null);
        problem = $"'{reference}': the version after ':' must be a whole number from 1.";
        return null;
    }

    public static bool IsValidAlias(string? alias) => alias is not null && AliasPattern().IsMatch(alias);

    public override string ToString() => Alias is not null ? $"{Name}@{Alias}" : Version is { } v ? $"{Name}:{v}" : Name;

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex AliasPattern();
}
