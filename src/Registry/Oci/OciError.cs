namespace Registry.Oci;

/// <summary>
/// One expected failure, as a value. Stores and handlers return it; the HTTP layer turns it into
/// <c>{"errors":[{"code","message","detail"}]}</c> with the status <see cref="Failures"/> gives it.
/// </summary>
public sealed record OciError(Failure Failure, string? Detail = null)
{
    public OciErrorCode Code => Failures.Code(Failure);

    public int Status => Failures.Status(Failure);

    public string Message => OciErrorCodes.Message(Code);

    /// <summary>How long the client should wait before it tries again (the Retry-After header), when the failure passes.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
