using System.Security.Cryptography;
using Registry.Hashing;

namespace Registry.Tests.Storage;

public sealed class ResumableSha256Tests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(1_000_003)]
    public void SavedAndRestoredAtEveryCut_MatchesOneShotHash(int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);
        foreach (var cut in new[] { 0, length / 3, length / 2, length })
        {
            var first = new ResumableSha256();
            first.Append(data.AsSpan(0, cut));
            var resumed = ResumableSha256.Restore(first.SaveState())!;
            resumed.Append(data.AsSpan(cut));
            Assert.Equal(SHA256.HashData(data), resumed.PeekHash());
            Assert.Equal(length, resumed.Length);
        }
    }

    [Fact]
    public void PeekHash_LeavesTheStateUsable()
    {
        var hash = new ResumableSha256();
        hash.Append("ab"u8);
        _ = hash.PeekHash();
        hash.Append("c"u8);
        Assert.Equal(SHA256.HashData("abc"u8), hash.PeekHash());
    }

    [Fact]
    public void Restore_RejectsStateThatWouldIndexOutOfTheBlockBuffer()
    {
        var state = new ResumableSha256().SaveState();
        BitConverter.GetBytes(64u).CopyTo(state, 104);
        Assert.Null(ResumableSha256.Restore(state));
        Assert.Null(ResumableSha256.Restore(new byte[10]));
    }
}
