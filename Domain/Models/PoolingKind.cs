namespace RnnService.Domain.Models;

/// <summary>
/// How a many-to-one model reads one representation of a sequence from its top layer's per-step outputs <c>o</c>
/// (padded steps excluded).
/// </summary>
public enum PoolingKind
{
    /// <summary>The final hidden state at the sequence's own length: what <c>h_n</c> gives for a packed batch.</summary>
    Last,

    /// <summary>The average of the outputs over the real steps.</summary>
    Mean,

    /// <summary>The maximum of each unit over the real steps.</summary>
    Max,

    /// <summary>
    /// <c>w = softmax(attention(tanh(o)))</c> over the real steps, with <c>attention = nn.Linear(stateSize, 1)</c>, and the
    /// representation <c>sum_t w_t · o_t</c>.
    /// </summary>
    Attention,
}
