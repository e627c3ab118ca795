using System.Text.RegularExpressions;

namespace RnnService.Domain.Models;

/// <summary>Registry names: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 100 characters.</summary>
public static partial class ModelNames
{
    public const int MaxLength = 100;

    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    public const string Rule = "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit";

    /// <summary>Names a client may not train or import to: <c>tune_…</c> names hold the trials of the tuning job of that id.</summary>
    public static bool IsReserved(string name) => name.StartsWith(TrialPrefix, StringComparison.Ordinal);

    public const string TrialPrefix = "tune_";

    public const string ReservedRule = "starts with 'tune_', which names the trials of a tuning job; choose another name";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex Pattern();
}
