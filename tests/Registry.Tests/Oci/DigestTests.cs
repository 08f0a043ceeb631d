using Registry.Oci;

namespace Registry.Tests.Oci;

public sealed class DigestTests
{
    [Theory]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256")]
    [InlineData("sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", "sha512")]
    public void TryParse_CanonicalDigests_AreValid(string text, string algorithm)
    {
        Assert.Equal(DigestParse.Valid, Digest.TryParse(text, out var digest));
        Assert.Equal(text, digest.Value);
        Assert.Equal(algorithm, digest.Algorithm);
        Assert.Equal(text[7..], digest.Hex);
    }

    [Theory]
    [InlineData("sha256:zz")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85")] // 63 hex
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")] // uppercase alias
    [InlineData("sha256:../../../../etc/passwd")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\0")]
    [InlineData("")]
    [InlineData(":abc")]
    [InlineData("sha256:")]
    [InlineData("Sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha256")]
    [InlineData("sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3")]
    public void TryParse_Malformed_IsInvalid(string text) =>
        Assert.Equal(DigestParse.Invalid, Digest.TryParse(text, out _));

    [Theory]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    [InlineData("foo.bar:xyz")]
    public void TryParse_UnregisteredAlgorithm_IsUnsupported(string text) =>
        Assert.Equal(DigestParse.Unsupported, Digest.TryParse(text, out _));

    [Fact]
    public void Compute_EmptyContent_IsTheWellKnownEmptyDigest()
    {
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Digest.Compute([]).Value);
        Assert.StartsWith("sha512:cf83e1357eefb8bd", Digest.Compute([], Digest.Sha512).Value, StringComparison.Ordinal);
    }
}
