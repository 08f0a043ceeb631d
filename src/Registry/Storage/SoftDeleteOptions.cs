namespace Registry.Storage;

/// <summary>Soft delete settings (configuration section <c>Lifecycle</c>).</summary>
public sealed class SoftDeleteOptions
{
    public const string Section = "Lifecycle";

    /// <summary>
    /// How long a deleted tag or manifest stays restorable (<c>registry-admin restore</c>); garbage collection keeps what a
    /// deleted manifest used until this window ended and its grace period passed. Zero turns soft delete off.
    /// </summary>
    public TimeSpan SoftDeleteWindow { get; set; } = TimeSpan.FromDays(7);
}
