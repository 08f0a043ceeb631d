namespace Registry.Oci;

/// <summary>A manifest or index that passed <see cref="ManifestParser"/>: what the registry needs to know of it.</summary>
public sealed record ManifestDocument
{
    /// <summary>The manifest's media type, from its body or, where the body has none, its Content-Type.</summary>
    public required string MediaType { get; init; }
    public Descriptor? Config { get; init; }
    public IReadOnlyList<Descriptor> Layers { get; init; } = [];
    /// <summary>Child manifests of an index.</summary>
    public IReadOnlyList<Descriptor> Manifests { get; init; } = [];
    public Descriptor? Subject { get; init; }
    /// <summary>The artifact type as the referrers API reports it: <c>artifactType</c>, else the config's media type.</summary>
    public string? ArtifactType { get; init; }
    /// <summary>The manifest's top-level <c>annotations</c> object as raw JSON, or null.</summary>
    public string? AnnotationsJson { get; init; }
}
