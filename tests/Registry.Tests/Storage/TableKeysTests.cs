using Registry.Oci;
using Registry.Storage;

namespace Registry.Tests.Storage;

public sealed class TableKeysTests
{
    private static readonly char[] Forbidden = ['/', '\\', '#', '?'];

    [Fact]
    public void Repository_KeysHoldNoForbiddenCharacter_AndRoundTrip()
    {
        Assert.True(RepositoryName.TryParse("a/b.c/d-e", out var name));
        var key = TableKeys.Repository(name);
        Assert.Equal(-1, key.IndexOfAny(Forbidden));
        Assert.Equal("a/b.c/d-e", TableKeys.RepositoryFromKey(key));
    }

    [Fact]
    public void Repository_KeysSortLikeTheNames()
    {
        string[] names = ["a", "a-b", "a.b", "a/b", "a/b/c", "a0", "a_b", "ab", "a.x", "a.c-d", "b", "a/a", "a.z/b"];
        var byName = names.Order(StringComparer.Ordinal).ToList();
        var byKey = names
            .Select(n => RepositoryName.TryParse(n, out var r) ? TableKeys.Repository(r) : throw new InvalidOperationException(n))
            .Order(StringComparer.Ordinal)
            .Select(TableKeys.RepositoryFromKey)
            .ToList();
        Assert.Equal(byName, byKey);
    }

    [Fact]
    public void PrefixEnd_IsJustPastEveryKeyWithThePrefix()
    {
        var end = TableKeys.PrefixEnd(TableKeys.TagPrefix);
        Assert.True(string.CompareOrdinal("tag:zzzz", end) < 0);
        Assert.True(string.CompareOrdinal("tag:", end) < 0);
        Assert.True(string.CompareOrdinal("upload:", end) > 0);
    }

    [Fact]
    public void Event_KeysSortByTime()
    {
        var early = TableKeys.Event(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), "b");
        var late = TableKeys.Event(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), "a");
        Assert.True(string.CompareOrdinal(early, late) < 0);
    }
}
