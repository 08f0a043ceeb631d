namespace Registry.Collection;

/// <summary>Garbage collection settings (configuration section <c>GarbageCollection</c>).</summary>
public sealed class CollectionOptions
{
    public const string Section = "GarbageCollection";

    /// <summary>The shortest <see cref="Grace"/> accepted: longer than any request and than the read cache's content lifetime.</summary>
    public static readonly TimeSpan MinimumGrace = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long after a manifest or a link went the collector waits before it deletes what that left unused: no
    /// request that read the old state (a push checking its blobs, a pull holding a redirect, another instance's read
    /// cache) is still running by then.
    /// </summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long an uploaded blob that no manifest uses is kept (a push may upload its layers long before its manifest).</summary>
    public TimeSpan UnusedBlobGrace { get; set; } = TimeSpan.FromHours(24);
}
