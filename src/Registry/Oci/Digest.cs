namespace Registry.Oci;

/// <summary>How a digest string parsed.</summary>
public enum DigestParse
{
    /// <summary>A sha256 or sha512 digest in canonical form: 64 or 128 lowercase hex characters.</summary>
    Valid,
    /// <summary>Not a digest at all, or a registered algorithm with a malformed encoding.</summary>
    Invalid,
    /// <summary>Grammatical, but an algorithm this registry does not store (unregistered ones such as md5).</summary>
    Unsupported,
}

/// <summary>
/// A content digest: <c>sha256:&lt;64 lowercase hex&gt;</c> or <c>sha512:&lt;128 lowercase hex&gt;</c>. Only the
/// canonical spelling is accepted, so two spellings can never alias one blob, and the value is safe to embed in
/// storage keys and paths.
/// </summary>
public readonly record struct Digest
{
    public const string Sha256 = "sha256";
    public const string Sha512 = "sha512";

    private Digest(string value) => Value = value;

    /// <summary>The full digest, e.g. <c>sha256:e3b0…</c>.</summary>
    public string Value { get; }

    /// <summary><c>sha256</c> or <c>sha512</c>.</summary>
    public string Algorithm => Value[..Value.IndexOf(':', StringComparison.Ordinal)];

    /// <summary>The hex part after the algorithm.</summary>
    public string Hex => Value[(Algorithm.Length + 1)..];

    public override string ToString() => Value;

    public static Digest FromSha256(ReadOnlySpan<byte> hash) => FromHash(Sha256, hash);

    /// <summary>The digest of a finished hash of <paramref name="algorithm"/>.</summary>
    public static Digest FromHash(string algorithm, ReadOnlySpan<byte> hash)
    {
        var expected = algorithm switch
        {
            Sha256 => 32,
            Sha512 => 64,
            _ => throw new ArgumentException($"unsupported algorithm {algorithm}", nameof(algorithm)),
        };
        if (hash.Length != expected)
        {
            throw new ArgumentException($"A {algorithm} hash is {expected} bytes.", nameof(hash));
        }
        return new Digest(algorithm + ":" + Convert.ToHexStringLower(hash));
    }

    /// <summary>The digest of <paramref name="content"/> with the given algorithm (sha256 by default).</summary>
    public static Digest Compute(ReadOnlySpan<byte> content, string algorithm = Sha256) => algorithm switch
    {
        Sha512 => FromHash(Sha512, System.Security.Cryptography.SHA512.HashData(content)),
        _ => FromHash(Sha256, System.Security.Cryptography.SHA256.HashData(content)),
    };

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
        var hexLength = algorithm switch
        {
            Sha256 => 64,
            Sha512 => 128,
            _ => 0,
        };
        if (hexLength > 0)
        {
            if (encoded.Length != hexLength || !IsLowerHex(encoded))
            {
                return DigestParse.Invalid;
            }
            digest = new Digest(text);
            return DigestParse.Valid;
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

}
