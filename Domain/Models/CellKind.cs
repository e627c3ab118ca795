namespace RnnService.Domain.Models;

/// <summary>The recurrent cell: PyTorch's <c>nn.LSTM</c>, <c>nn.GRU</c>, or the plain <c>nn.RNN</c> with tanh.</summary>
public enum CellKind
{
    Lstm,
    Gru,
    Rnn,
}
