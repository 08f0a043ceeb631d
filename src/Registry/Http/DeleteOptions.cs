namespace Registry.Http;

/// <summary>
/// Whether clients may delete content (configuration section <c>Registry</c>, key <c>DeletesEnabled</c>, default true).
/// Off, every DELETE of a manifest, a tag or a blob is 405 UNSUPPORTED before anything is read, whatever the caller's
/// rights; cancelling an upload stays allowed, and operators still delete with registry-admin, retention and gc.
/// </summary>
public sealed class DeleteOptions
{
    public const string Section = "Registry";

    public bool DeletesEnabled { get; set; } = true;
}
