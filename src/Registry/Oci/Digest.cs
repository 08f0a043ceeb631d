namespace Registry.Oci;

/// <summary>How a digest string parsed.</summary>
public enum DigestParse
{
    /// <summary>A sha256 digest in canonical form: 64 lowercase hex characters.</summary>
    Valid,
    /// <summary>Not a digest at all, or a registered algorithm with a malformed encoding.</summary>
    Invalid,
    /// <summary>Grammatical, but an algorithm this registry does not store (sha512, or unregistered ones).</summary>
    Unsupported,
}

/// <summary>
/// A content digest, <c>sha256:&lt;64 lowercase hex&gt;</c>. Only the canonical spelling is accepted, so two
/// spellings can never alias one blob, and the value is safe to embed in storage keys and paths.
/// </summary>
public readonly record struct Digest
{
    public const string Sha256Prefix = "sha256:";
    private const int Sha256HexLength = 64;

    private Digest(string value) => Value = value;

    /// <summary>The full digest, e.g. <c>sha256:e3b0…</c>.</summary>
    public string Value { get; }

    /// <summary>The hex part after the algorithm.</summary>
    public string Hex => Value[Sha256Prefix.Length..];

    public override string ToString() => Value;

    public static Digest FromSha256(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != 32)
        {
            throw new ArgumentException("A SHA-256 hash is 32 bytes.", nameof(hash));
        }
        return new Digest(Sha256Prefix + Convert.ToHexStringLower(hash));
    }

    public static Digest Compute(ReadOnlySpan<byte> content) =>
        FromSha256(System.Security.Cryptography.SHA256.HashData(content));

    /// <summary>Parses a digest; <paramref name="digest"/> is set only when the result is <see cref="DigestParse.Valid"/>.</summary>
    public static DigestParse TryParse(string? text, out Digest digest)
    {
        digest = default;
        if (string.IsNullOrEmpty(text) || text.Length > 256)
        {
            return DigestParse.Invalid;
        }
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
        {
            return DigestParse.Invalid;
        }
        var algorithm = text.AsSpan(0, colon);
        var encoded = text.AsSpan(colon + 1);
        if (!IsAlgorithm(algorithm) || !IsEncoded(encoded))
        {
            return DigestParse.Invalid;
        }
        if (algorithm.SequenceEqual("sha256"))
        {
            if (encoded.Length != Sha256HexLength || !IsLowerHex(encoded))
            {
                return DigestParse.Invalid;
            }
            digest = new Digest(text);
            return DigestParse.Valid;
        }
        if (algorithm.SequenceEqual("sha512"))
        {
            return encoded.Length == 128 && IsLowerHex(encoded) ? DigestParse.Unsupported : DigestParse.Invalid;
        }
        return DigestParse.Unsupported;
    }

    // algorithm-component (algorithm-separator algorithm-component)*, component [a-z0-9]+, separator [+._-]
    private static bool IsAlgorithm(ReadOnlySpan<char> s)
    {
        var previousWasSeparator = true;
        foreach (var c in s)
        {
            var isSeparator = c is '+' or '.' or '_' or '-';
            if (isSeparator)
            {
                if (previousWasSeparator)
                {
                    return false;
                }
            }
            else if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
            previousWasSeparator = isSeparator;
        }
        return !previousWasSeparator;
    }

    // encoded [a-zA-Z0-9=_-]+
    private static bool IsEncoded(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('=' or '_' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsLowerHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The 32 raw bytes of the hash.</summary>
    public byte[] ToBytes() => Convert.FromHexString(Hex);
}
