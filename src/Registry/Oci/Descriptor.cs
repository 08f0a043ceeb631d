namespace Registry.Oci;

/// <summary>An OCI content descriptor as it appears inside a manifest.</summary>
public sealed record Descriptor
{
    public required string MediaType { get; init; }
    public required Digest Digest { get; init; }
    public required long Size { get; init; }
    public string? ArtifactType { get; init; }
    /// <summary>True when the descriptor lists <c>urls</c>: content the registry never fetches.</summary>
    public bool HasUrls { get; init; }

    /// <summary>
    /// A layer that is not pushed to registries: it has <c>urls</c>, or a non-distributable / foreign layer media type.
    /// The registry neither requires nor fetches it.
    /// </summary>
    public bool IsForeign => HasUrls
        || MediaType.StartsWith("application/vnd.oci.image.layer.nondistributable.", StringComparison.Ordinal)
        || MediaType == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}
