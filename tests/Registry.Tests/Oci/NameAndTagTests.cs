using Registry.Oci;

namespace Registry.Tests.Oci;

public sealed class NameAndTagTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("team/app")]
    [InlineData("a.b_c__d---e/f0")]
    [InlineData("library/alpine")]
    [InlineData("x/y/z/w")]
    public void RepositoryName_SpecExamples_AreValid(string name) => Assert.True(RepositoryName.TryParse(name, out _));

    [Theory]
    [InlineData("Library/Alpine")]
    [InlineData("a//b")]
    [InlineData("-a")]
    [InlineData("a_")]
    [InlineData("a..b")]
    [InlineData("a___b")]
    [InlineData("a/")]
    [InlineData("/a")]
    [InlineData("")]
    [InlineData("../etc")]
    [InlineData("a/../b")]
    [InlineData("a%2fb")]
    [InlineData("a b")]
    [InlineData("é")]
    public void RepositoryName_OffGrammar_IsInvalid(string name) => Assert.False(RepositoryName.TryParse(name, out _));

    [Fact]
    public void RepositoryName_LongerThanTheLimit_IsInvalid()
    {
        Assert.True(RepositoryName.TryParse(new string('a', RepositoryName.MaxLength), out _));
        Assert.False(RepositoryName.TryParse(new string('a', RepositoryName.MaxLength + 1), out _));
        Assert.False(RepositoryName.TryParse(string.Join('/', Enumerable.Repeat("a", 10_000)), out _));
    }

    [Theory]
    [InlineData("latest")]
    [InlineData("1.0")]
    [InlineData("_x")]
    [InlineData("v1.2.3-rc_1")]
    public void Tag_SpecExamples_AreValid(string tag) => Assert.True(Tag.TryParse(tag, out _));

    [Theory]
    [InlineData("-bad")]
    [InlineData(".x")]
    [InlineData("a/b")]
    [InlineData("a:b")]
    [InlineData("tëst")]
    [InlineData("")]
    public void Tag_OffGrammar_IsInvalid(string tag) => Assert.False(Tag.TryParse(tag, out _));

    [Fact]
    public void Tag_Of129Characters_IsInvalid()
    {
        Assert.True(Tag.TryParse(new string('a', 128), out _));
        Assert.False(Tag.TryParse(new string('a', 129), out _));
    }
}
