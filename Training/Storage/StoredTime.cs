namespace RnnService.Training.Storage;

/// <summary>
/// The times the job store records: UTC, to the microsecond. PostgreSQL keeps no finer time than that, so a time
/// made finer would read back differently from what the API answered when the record was created.
/// </summary>
public static class StoredTime
{
    public static DateTime Now(TimeProvider time)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
    }
}
