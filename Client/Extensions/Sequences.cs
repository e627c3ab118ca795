using Microsoft.Kiota.Abstractions.Serialization;

namespace RnnService.Client;

/// <summary>
/// Predict's <c>inputs</c> and <c>future</c> are lists of sequences of steps, a step a number or a list of numbers: JSON
/// the generated models hold as <see cref="UntypedNode"/>. These make and read them.
/// </summary>
public static class Sequences
{
    /// <summary>Sequences of one feature: each step a bare number.</summary>
    public static UntypedNode Of(IEnumerable<IEnumerable<double>> sequences) =>
        new UntypedArray(sequences.Select(steps => (UntypedNode)new UntypedArray(steps.Select(Number).ToList())).ToList());

    /// <summary>Sequences of several features: each step a list of numbers.</summary>
    public static UntypedNode Of(IEnumerable<IEnumerable<IEnumerable<double>>> sequences) =>
        new UntypedArray(sequences.Select(steps => (UntypedNode)new UntypedArray(
            steps.Select(step => (UntypedNode)new UntypedArray(step.Select(Number).ToList())).ToList())).ToList());

    /// <summary>A list of lists of numbers (a forecast: steps × targets; probabilities: classes) as arrays.</summary>
    public static double[][] Matrix(UntypedNode? node) => node is UntypedArray rows
        ? rows.GetValue().Select(row => row is UntypedArray values ? values.GetValue().Select(Value).ToArray() : [Value(row)]).ToArray()
        : [];

    /// <summary>A list of numbers as an array.</summary>
    public static double[] Vector(UntypedNode? node) => node is UntypedArray values ? values.GetValue().Select(Value).ToArray() : [];

    private static UntypedNode Number(double value) => new UntypedDouble(value);

    private static double Value(UntypedNode node) => node switch
    {
        UntypedDouble number => number.GetValue(),
        UntypedFloat number => number.GetValue(),
        UntypedDecimal number => (double)number.GetValue(),
        UntypedLong number => number.GetValue(),
        UntypedInteger number => number.GetValue(),
        _ => throw new FormatException($"expected a number, got {node.GetType().Name}"),
    };
}
