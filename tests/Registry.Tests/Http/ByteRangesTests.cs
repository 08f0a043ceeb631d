using Registry.Http;

namespace Registry.Tests.Http;

public sealed class ByteRangesTests
{
    [Theory]
    [InlineData("0-99", 0, 99)]
    [InlineData("100-199", 100, 199)]
    [InlineData("bytes 5-9", 5, 9)]
    [InlineData("bytes=5-9", 5, 9)]
    [InlineData("bytes 5-9/100", 5, 9)]
    public void TryParseContentRange_WellFormed_Parses(string value, long start, long end)
    {
        Assert.True(ByteRanges.TryParseContentRange(value, out var s, out var e));
        Assert.Equal((start, end), (s, e));
    }

    [Theory]
    [InlineData("500-0")]
    [InlineData("-5")]
    [InlineData("a-b")]
    [InlineData("5")]
    [InlineData("")]
    [InlineData("99999999999999999999-1")]
    public void TryParseContentRange_Malformed_Fails(string value) => Assert.False(ByteRanges.TryParseContentRange(value, out _, out _));

    [Theory]
    [InlineData(null, RangeAnswer.Whole)]
    [InlineData("items=0-1", RangeAnswer.Whole)]
    [InlineData("bytes=0-10", RangeAnswer.RedirectedSlice)]
    [InlineData("bytes=500-", RangeAnswer.RedirectedSlice)]
    [InlineData("bytes=5000-10000", RangeAnswer.Unsatisfiable)]
    [InlineData("bytes=500-0", RangeAnswer.Unsatisfiable)]
    [InlineData("bytes=4000-", RangeAnswer.Unsatisfiable)]
    [InlineData("bytes=-500", RangeAnswer.ServedHere)]
    [InlineData("bytes=0-1,5-6", RangeAnswer.ServedHere)]
    public void Resolve_AgainstA4000ByteBlob(string? header, RangeAnswer expected) =>
        Assert.Equal(expected, ByteRanges.Resolve(header, 4000).Answer);

    [Fact]
    public void Resolve_NormalisesSuffixAndClampsEnds()
    {
        Assert.Equal([(3500L, 3999L)], ByteRanges.Resolve("bytes=-500", 4000).Ranges);
        Assert.Equal([(0L, 3999L)], ByteRanges.Resolve("bytes=-9000", 4000).Ranges);
        Assert.Equal([(0L, 1L), (3990L, 3999L)], ByteRanges.Resolve("bytes=0-1,3990-99999", 4000).Ranges);
    }

    [Fact]
    public void Resolve_TooManyRanges_IsUnsatisfiable() =>
        Assert.Equal(RangeAnswer.Unsatisfiable, ByteRanges.Resolve("bytes=" + string.Join(',', Enumerable.Range(0, 17).Select(i => $"{i}-{i}")), 4000).Answer);
}
