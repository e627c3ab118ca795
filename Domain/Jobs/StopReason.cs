namespace RnnService.Domain.Jobs;

/// <summary>Why a succeeded job stopped training.</summary>
public enum StopReason
{
    /// <summary>It trained every epoch it asked for.</summary>
    Epochs,

    /// <summary>The validation loss stopped improving for <c>earlyStoppingPatience</c> epochs.</summary>
    EarlyStopping,

    /// <summary><c>training.maxDuration</c> was reached; the best epoch so far was registered.</summary>
    TimeLimit,

    /// <summary>A tuning job's early stopping (asha or median) ended the trial; its best epoch so far was registered.</summary>
    Pruned,
}
