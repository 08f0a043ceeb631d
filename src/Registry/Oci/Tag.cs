namespace Registry.Oci;

/// <summary>A tag: <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>.</summary>
public readonly record struct Tag
{
    public const int MaxLength = 128;

    private Tag(string value) => Value = value;

    public string Value { get; }

    public override string ToString() => Value;

    public static bool TryParse(string? text, out Tag tag)
    {
        tag = default;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength || !IsFirst(text[0]))
        {
            return false;
        }
        foreach (var c in text.AsSpan(1))
        {
            if (!IsFirst(c) && c is not ('.' or '-'))
            {
                return false;
            }
        }
        tag = new Tag(text);
        return true;
    }

    private static bool IsFirst(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
