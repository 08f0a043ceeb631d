namespace Registry.Oci;

/// <summary>An OCI content descriptor as it appears inside a manifest.</summary>
public sealed record Descriptor
{
    public required string MediaType { get; init; }
    public required Digest Digest { get; init; }
    public required long Size { get; init; }
    public string? ArtifactType { get; init; }
    /// <summary>True when the descriptor lists <c>urls</c>: a non-distributable layer the registry never fetches.</summary>
    public bool HasUrls { get; init; }
}
