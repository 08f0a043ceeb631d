namespace Registry.Oci;

/// <summary>
/// Tag patterns, as the lifecycle policies write them: tag characters and <c>*</c> for any run of them (<c>v*</c>,
/// <c>prod-*</c>, <c>*-release</c>, <c>latest</c>).
/// </summary>
public static class TagPatterns
{
    /// <summary>Null when <paramref name="pattern"/> is valid; otherwise what a valid one looks like.</summary>
    public static string? Validate(string? pattern) =>
        pattern is { Length: > 0 and <= Tag.MaxLength } && pattern.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' or '*')
            ? null
            : $"'{pattern}' is not a tag pattern: tag characters ([a-zA-Z0-9_.-]) and '*' for any run of them, e.g. 'v*', 'prod-*', 'latest'";

    /// <summary>Whether <paramref name="tag"/> matches <paramref name="pattern"/>, where <c>*</c> matches any run of characters.</summary>
    public static bool Matches(string pattern, string tag)
    {
        var parts = pattern.Split('*');
        if (parts.Length == 1)
        {
            return pattern == tag;
        }
        if (!tag.StartsWith(parts[0], StringComparison.Ordinal) || !tag.EndsWith(parts[^1], StringComparison.Ordinal)
            || tag.Length < parts[0].Length + parts[^1].Length)
        {
            return false;
        }
        var at = parts[0].Length;
        var end = tag.Length - parts[^1].Length;
        foreach (var middle in parts[1..^1])
        {
            var found = tag.IndexOf(middle, at, end - at, StringComparison.Ordinal);
            if (found < 0)
            {
                return false;
            }
            at = found + middle.Length;
        }
        return true;
    }
}
