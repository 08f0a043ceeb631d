using Registry.Oci;

namespace Registry.Admin;

/// <summary>A command line's <c>REPO:TAG</c> or <c>REPO@DIGEST</c>: exactly one of the two is set.</summary>
internal sealed record ImageReference(RepositoryName Repository, Tag? Tag, Digest? Digest)
{
    public static ImageReference? Parse(string text, out string problem)
    {
        problem = $"'{text}' is neither REPO:TAG nor REPO@DIGEST (e.g. team/app:prod, team/app@sha256:…)";
        var at = text.IndexOf('@', StringComparison.Ordinal);
        var colon = text.LastIndexOf(':');
        var (name, tagText, digestText) = at >= 0
            ? (text[..at], null, text[(at + 1)..])
            : colon >= 0 ? (text[..colon], text[(colon + 1)..], null) : (text, (string?)null, (string?)null);
        if (!RepositoryName.TryParse(name, out var repository))
        {
            return null;
        }
        if (tagText is not null && Oci.Tag.TryParse(tagText, out var tag))
        {
            return new ImageReference(repository, tag, null);
        }
        if (digestText is not null && Oci.Digest.TryParse(digestText, out var digest) == DigestParse.Valid)
        {
            return new ImageReference(repository, null, digest);
        }
        return null;
    }

    public override string ToString() => Tag is { } tag ? $"{Repository}:{tag}" : $"{Repository}@{Digest}";
}
