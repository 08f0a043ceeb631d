namespace Registry.Oci;

/// <summary>
/// A repository name as the distribution spec defines it:
/// <c>[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*</c>.
/// </summary>
public readonly record struct RepositoryName
{
    /// <summary>Longest accepted name. Distribution allows 255 characters for host + "/" + name;
    /// we keep the name alone under 255 so that any reasonable host still fits.</summary>
    public const int MaxLength = 200;

    private RepositoryName(string value) => Value = value;

    public string Value { get; }

    public override string ToString() => Value;

    public static bool TryParse(string? text, out RepositoryName name)
    {
        name = default;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength || !IsValid(text))
        {
            return false;
        }
        name = new RepositoryName(text);
        return true;
    }

    private static bool IsValid(string s)
    {
        foreach (var component in s.Split('/'))
        {
            if (!IsComponent(component))
            {
                return false;
            }
        }
        return true;
    }

    // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
    private static bool IsComponent(string c)
    {
        if (c.Length == 0 || !IsAlnum(c[0]) || !IsAlnum(c[^1]))
        {
            return false;
        }
        var i = 0;
        while (i < c.Length)
        {
            if (IsAlnum(c[i]))
            {
                i++;
                continue;
            }
            var start = i;
            while (i < c.Length && !IsAlnum(c[i]))
            {
                i++;
            }
            var separator = c.AsSpan(start, i - start);
            if (!IsSeparator(separator))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsSeparator(ReadOnlySpan<char> s) =>
        s is "." or "_" or "__" || (s.Length > 0 && !s.ContainsAnyExcept('-'));

    private static bool IsAlnum(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
}
