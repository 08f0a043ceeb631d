using System.Security.Cryptography;
using Registry.Oci;

namespace Registry.Hashing;

/// <summary>A running hash over content as it streams past.</summary>
public interface IContentHash
{
    void Append(ReadOnlySpan<byte> data);

    /// <summary>The digest of everything appended so far.</summary>
    Digest CurrentDigest();
}

/// <summary>A hash that lives for one request (.NET's own implementation), for any supported algorithm.</summary>
public sealed class OneShotHash(string algorithm) : IContentHash, IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(
        algorithm == Digest.Sha512 ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256);

    public void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

    public Digest CurrentDigest() => Digest.FromHash(algorithm, _hash.GetCurrentHash());

    public void Dispose() => _hash.Dispose();
}
