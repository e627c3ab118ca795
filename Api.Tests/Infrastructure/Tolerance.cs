namespace RnnService.Api.Tests.Infrastructure;

public static class Tolerance
{
    /// <summary>Asserts element-wise closeness and names the first element that is not.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (var i = 0; i < expected.Length; i++)
        {
            var difference = Math.Abs(expected[i] - actual[i]);
            Assert.True(difference <= tolerance, $"{what}[{i}]: {actual[i]} differs from {expected[i]} by {difference}");
        }
    }
}
