namespace Registry.Http;

/// <summary>What a <c>/v2/...</c> path addresses.</summary>
public enum RouteKind
{
    Catalog,
    Tags,
    Manifest,
    Referrers,
    Blob,
    UploadStart,
    Upload,

    /// <summary><c>/v2/&lt;name&gt;/_history/tags/&lt;tag&gt;</c>: this registry's extension, a tag's moves.</summary>
    TagHistory,
}

/// <summary>
/// A parsed <c>/v2/&lt;name&gt;/...</c> path. Repository names contain <c>/</c>, so the path is read from the right:
/// the fixed tail (<c>/manifests/x</c>, <c>/blobs/uploads/x</c>, <c>/blobs/x</c>, <c>/tags/list</c>, <c>/referrers/x</c>,
/// <c>/_history/tags/x</c>)
/// decides the kind and whatever precedes it is the name, validated later.
/// </summary>
public sealed record RegistryRoute(RouteKind Kind, string Name, string Argument)
{
    /// <summary>Parses the part of the path after <c>/v2/</c>; null when it matches no endpoint.</summary>
    public static RegistryRoute? Parse(string path)
    {
        if (path == "_catalog")
        {
            return new RegistryRoute(RouteKind.Catalog, "", "");
        }
        var s = path.Split('/');
        if (s.Length >= 4 && s[^3] == "_history" && s[^2] == "tags" && s[^1].Length > 0)
        {
            return Make(RouteKind.TagHistory, s, 3, s[^1]);
        }
        if (s.Length >= 3 && s[^2] == "tags" && s[^1] == "list")
        {
            return Make(RouteKind.Tags, s, 2, "");
        }
        if (s.Length >= 4 && s[^3] == "blobs" && s[^2] == "uploads")
        {
            return s[^1].Length == 0 ? Make(RouteKind.UploadStart, s, 3, "") : Make(RouteKind.Upload, s, 3, s[^1]);
        }
        if (s.Length >= 3 && s[^2] == "blobs" && s[^1] == "uploads")
        {
            return Make(RouteKind.UploadStart, s, 2, "");
        }
        if (s.Length >= 3 && s[^1].Length > 0)
        {
            var kind = s[^2] switch
            {
                "manifests" => RouteKind.Manifest,
                "blobs" => RouteKind.Blob,
                "referrers" => RouteKind.Referrers,
                _ => (RouteKind?)null,
            };
            if (kind is { } k)
            {
                return Make(k, s, 2, s[^1]);
            }
        }
        return null;
    }

    private static RegistryRoute Make(RouteKind kind, string[] segments, int tail, string argument) =>
        new(kind, string.Join('/', segments[..^tail]), argument);
}
