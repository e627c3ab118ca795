using RnnService.Domain.Validation;
using RnnService.Training.Pipeline;

namespace RnnService.Training.Tasks;

/// <summary>Checks that more than one kind makes of an imported preprocessing.</summary>
public static class ImportChecks
{
    /// <summary>A scaler of <paramref name="width"/> columns: finite means, positive finite deviations.</summary>
    public static void Scaler(List<ValidationError> errors, string field, ColumnScaler? scaler, int width)
    {
        if (scaler is null) return;
        if (scaler.Mean is null || scaler.Std is null || scaler.Mean.Length != width || scaler.Std.Length != width)
            errors.Add(new(field, $"mean and std must each hold {width} numbers, one per column."));
        else if (scaler.Std.Any(s => !(s > 0) || !double.IsFinite(s)) || scaler.Mean.Any(m => !double.IsFinite(m)))
            errors.Add(new(field, "std must be positive and finite, and mean finite."));
    }
}
