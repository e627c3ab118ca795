namespace RnnService.Domain.Validation;

/// <summary>One problem with a request or spec, keyed by the field path a client sent (camelCase).</summary>
public sealed record ValidationError(string Field, string Message);
