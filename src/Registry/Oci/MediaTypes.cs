namespace Registry.Oci;

/// <summary>The manifest media types this registry accepts and serves.</summary>
public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsImageManifest(string mediaType) => mediaType is OciManifest or DockerManifest;

    public static bool IsManifest(string mediaType) => IsIndex(mediaType) || IsImageManifest(mediaType);

    /// <summary>Longest media type <see cref="IsWellFormed"/> accepts: two names of 127 characters and the slash.</summary>
    public const int MaxLength = 255;

    /// <summary>
    /// Whether <paramref name="text"/> is a media type as the image spec requires of <c>mediaType</c> and
    /// <c>artifactType</c> (RFC 6838 section 4.2 names, no parameters): the pattern of the spec's JSON schema,
    /// <c>^[A-Za-z0-9][A-Za-z0-9!#$&amp;^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&amp;^_.+-]{0,126}$</c>.
    /// </summary>
    public static bool IsWellFormed(string? text)
    {
        if (text is null)
        {
            return false;
        }
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash >= 0 && IsRestrictedName(text.AsSpan(0, slash)) && IsRestrictedName(text.AsSpan(slash + 1));
    }

    private static bool IsRestrictedName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > 127 || !char.IsAsciiLetterOrDigit(name[0]))
        {
            return false;
        }
        foreach (var c in name[1..])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('!' or '#' or '$' or '&' or '^' or '_' or '.' or '+' or '-'))
            {
                return false;
            }
        }
        return true;
    }
}
