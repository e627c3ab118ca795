using System.Reflection;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Service;

/// <summary>
/// docs/configuration.md lists every setting: each public settable property of every options class (a class with a
/// <c>Section</c> constant, in the service's assemblies), nested classes by their path (<c>Inference:Batching:…</c>).
/// A setting added without its row fails here.
/// </summary>
public sealed class ConfigurationPageTests
{
    [Fact]
    public void EverySettingHasARowOnTheConfigurationPage()
    {
        var page = File.ReadAllLines(PyTorch.Manual("configuration.md")).Where(line => line.StartsWith('|')).ToList();
        var assemblies = new[] { typeof(Program).Assembly, typeof(Training.Jobs.JobQueue).Assembly };
        var sections = assemblies.SelectMany(assembly => assembly.GetTypes())
            .Select(type => (Type: type, Section: type.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string))
            .Where(option => option.Section is not null && option.Type.Name.EndsWith("Options", StringComparison.Ordinal))
            .ToList();
        Assert.True(sections.Count >= 8, $"found {sections.Count} options classes");

        var missing = new List<string>();
        foreach (var (type, section) in sections)
            foreach (var (path, name) in Settings(type, ""))
            {
                var key = $"{section}:{path}";
                // A row names the key in full (a list's, as its first item's keys), or (for a group in one row) its section and the
                // setting's own name.
                var listed = page.Any(line => line.Contains($"`{key}`", StringComparison.Ordinal) || line.Contains($"`{key}:", StringComparison.Ordinal))
                    || page.Any(line => line.Contains($"`{key[..(key.Length - name.Length)]}", StringComparison.Ordinal)
                                        && System.Text.RegularExpressions.Regex.IsMatch(line, $@"[`:/ ]{name}`"));
                if (!listed) missing.Add(key);
            }

        Assert.True(missing.Count == 0, "settings without a row in docs/configuration.md: " + string.Join(", ", missing));
    }

    /// <summary>The settable properties of an options class, nested option classes by their path; lists by their name only.</summary>
    private static IEnumerable<(string Path, string Name)> Settings(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var kind = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (kind.IsClass && kind != typeof(string) && !kind.IsGenericType && kind.Name.EndsWith("Options", StringComparison.Ordinal))
                foreach (var nested in Settings(kind, $"{prefix}{property.Name}:")) yield return nested;
            else yield return ($"{prefix}{property.Name}", property.Name);
        }
    }
}
