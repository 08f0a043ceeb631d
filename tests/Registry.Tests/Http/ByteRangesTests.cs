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
    [InlineData(null, ByteRanges.Fit.Whole)]
    [InlineData("bytes=0-10", ByteRanges.Fit.Satisfiable)]
    [InlineData("bytes=5000-10000", ByteRanges.Fit.Unsatisfiable)]
    [InlineData("bytes=500-0", ByteRanges.Fit.Unsatisfiable)]
    [InlineData("bytes=-500", ByteRanges.Fit.Satisfiable)]
    [InlineData("bytes=500-", ByteRanges.Fit.Satisfiable)]
    [InlineData("bytes=4000-", ByteRanges.Fit.Unsatisfiable)]
    [InlineData("bytes=0-1,5-6", ByteRanges.Fit.Satisfiable)]
    [InlineData("items=0-1", ByteRanges.Fit.Whole)]
    public void Classify_AgainstA4000ByteBlob(string? header, ByteRanges.Fit expected) =>
        Assert.Equal(expected, ByteRanges.Classify(header, 4000));
}
