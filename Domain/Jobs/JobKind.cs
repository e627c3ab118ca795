namespace RnnService.Domain.Jobs;

/// <summary>What a job on the queue does: train a model, or predict with one over a stored dataset.</summary>
public enum JobKind
{
    Training,
    Prediction,
}
