using Registry.Oci;

namespace Registry.Auth;

/// <summary>The actions a scope map can grant on repositories.</summary>
public static class Actions
{
    public const string Pull = "pull";
    public const string Push = "push";
    public const string Delete = "delete";

    /// <summary>
    /// Push new content and create tags, but never move or replace a tag that exists (RELIABILITY row 47): a create-only
    /// principal, as for CI jobs that publish releases. Implied by push; a token that asks for push and holds only this
    /// is granted this.
    /// </summary>
    public const string Create = "create";

    /// <summary>List tags and referrers without pulling content (implied by pull).</summary>
    public const string MetadataRead = "metadata-read";

    /// <summary>Change metadata such as tag locks (used by the lifecycle features; granted and carried today).</summary>
    public const string MetadataWrite = "metadata-write";

    public const string All = "*";

    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal) { Pull, Push, Create, Delete, MetadataRead, MetadataWrite };
}

/// <summary>One scope-map rule: the actions granted on repositories matching <see cref="Pattern"/>.</summary>
public sealed record AccessRule(string Pattern, IReadOnlyList<string> Actions)
{
    /// <summary>
    /// <c>*</c> matches every repository; <c>app/*</c> every repository under <c>app/</c> (any depth); anything else
    /// matches exactly that name.
    /// </summary>
    public bool Matches(string repository) => RepositoryPatterns.Matches(Pattern, repository);
}

/// <summary>A resource and the actions asked for or granted on it, as in a <c>scope</c> or a token's <c>access</c> claim.</summary>
public sealed record ResourceAccess(string Type, string Name, IReadOnlyList<string> Actions)
{
    /// <summary>Parses <c>repository:team/app:pull,push</c>; null when malformed.</summary>
    public static ResourceAccess? Parse(string scope)
    {
        var first = scope.IndexOf(':', StringComparison.Ordinal);
        var last = scope.LastIndexOf(':');
        if (first <= 0 || last <= first || scope.Length > 512)
        {
            return null;
        }
        var actions = scope[(last + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new ResourceAccess(scope[..first], scope[(first + 1)..last], actions);
    }

    public override string ToString() => $"{Type}:{Name}:{string.Join(',', Actions)}";
}
