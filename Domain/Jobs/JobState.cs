namespace RnnService.Domain.Jobs;

/// <summary>queued → running → succeeded | failed | cancelled; a running job whose worker died goes back to queued.</summary>
public enum JobState
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

public static class JobStates
{
    public static bool IsFinal(this JobState state) => state is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}
