namespace Registry.Oci;

/// <summary>
/// The <c>&lt;reference&gt;</c> of <c>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</c>, parsed once: a tag, a digest, or
/// neither (and then how a digest failed to parse, so each method can answer as the spec expects).
/// </summary>
public readonly record struct ManifestReference(Tag? Tag, Digest? Digest, DigestParse DigestProblem)
{
    public static ManifestReference Parse(string text)
    {
        if (Oci.Tag.TryParse(text, out var tag))
        {
            return new ManifestReference(tag, null, DigestParse.Valid);
        }
        var parse = Oci.Digest.TryParse(text, out var digest);
        return parse == DigestParse.Valid ? new ManifestReference(null, digest, parse) : new ManifestReference(null, null, parse);
    }

    /// <summary>Why a reference that is neither cannot be used, for a request that must name one (PUT, DELETE).</summary>
    public OciError Problem => DigestProblem switch
    {
        DigestParse.Unsupported => new OciError(Failure.Unsupported, "only sha256 and sha512 digests are supported"),
        _ => new OciError(Failure.DigestInvalid, "a digest is 'sha256:' followed by 64, or 'sha512:' followed by 128, lowercase hex characters"),
    };
}
