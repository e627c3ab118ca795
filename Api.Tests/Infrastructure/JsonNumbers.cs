using System.Text.Json.Nodes;

namespace RnnService.Api.Tests.Infrastructure;

public static class JsonNumbers
{
    /// <summary>
    /// The largest difference between the numbers of two JSON answers, side by side; infinity when their shapes, keys
    /// or other values differ.
    /// </summary>
    public static double LargestDifference(JsonNode? a, JsonNode? b) => (a, b) switch
    {
        (JsonArray x, JsonArray y) when x.Count == y.Count => x.Zip(y).Select(p => LargestDifference(p.First, p.Second)).DefaultIfEmpty(0).Max(),
        (JsonObject x, JsonObject y) when x.Count == y.Count => x.Select(p => LargestDifference(p.Value, y[p.Key])).DefaultIfEmpty(0).Max(),
        (JsonValue x, JsonValue y) when x.TryGetValue<double>(out var u) && y.TryGetValue<double>(out var v) => Math.Abs(u - v),
        (JsonValue x, JsonValue y) when x.ToJsonString() == y.ToJsonString() => 0,
        _ => double.PositiveInfinity,
    };
}
