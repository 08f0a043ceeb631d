namespace Registry.Oci;

/// <summary>
/// Repository patterns, as scope maps, anonymous pull and the lifecycle policies write them: <c>*</c> (every
/// repository), <c>&lt;name&gt;/*</c> (every repository under <c>&lt;name&gt;/</c>, any depth) or one repository name.
/// </summary>
public static class RepositoryPatterns
{
    public static bool Matches(string pattern, string repository) =>
        pattern == "*"
        || (pattern.EndsWith("/*", StringComparison.Ordinal) && repository.StartsWith(pattern[..^1], StringComparison.Ordinal))
        || pattern == repository;

    /// <summary>Null when <paramref name="pattern"/> is valid; otherwise a message that says what a valid one looks like.</summary>
    public static string? Validate(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return "the pattern is empty: use '*', '<name>/*' or a repository name";
        }
        if (pattern == "*")
        {
            return null;
        }
        var name = pattern.EndsWith("/*", StringComparison.Ordinal) ? pattern[..^2] : pattern;
        return RepositoryName.TryParse(name, out _)
            ? null
            : $"'{pattern}' is not a repository pattern: use '*', '<name>/*' or a repository name, where a name is lowercase "
              + "letters and digits separated by '.', '_', '__', '-' or '/' (e.g. 'public/*', 'library/alpine')";
    }
}
