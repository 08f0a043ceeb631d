namespace Registry.Oci;

/// <summary>
/// One expected failure, as a value. Handlers return it; the HTTP layer turns it into
/// <c>{"errors":[{"code","message","detail"}]}</c> with <see cref="Status"/>.
/// </summary>
public sealed record OciError(OciErrorCode Code, string? Detail = null, int? StatusOverride = null)
{
    public int Status => StatusOverride ?? OciErrorCodes.Status(Code);

    public string Message => OciErrorCodes.Message(Code);
}
