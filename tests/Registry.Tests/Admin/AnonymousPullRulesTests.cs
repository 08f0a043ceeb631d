using Microsoft.Extensions.Options;
using Registry.Auth;
using Registry.Storage;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Admin;

/// <summary>
/// <see cref="AnonymousPullRules"/> on Azurite, each test on an <c>auth</c> table of its own: request-time checks are
/// served from memory and see changes made elsewhere once <see cref="AnonymousPullRules.RefreshInterval"/> passed.
/// </summary>
[Collection(AdminTestGroup.Name)]
public sealed class AnonymousPullRulesTests(AdminStorage storage)
{
    [Fact]
    public async Task Snapshot_ServesFromMemory_AndSeesAnotherWritersChange_After10Seconds()
    {
        var (clients, calls) = await NewTableAsync();
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        using var reader = new AnonymousPullRules(clients, clock);
        using var writer = new AnonymousPullRules(clients, TimeProvider.System);

        Assert.False(await MatchesAsync(reader, "public/app"));
        await writer.AddAsync("public/*", CancellationToken.None);
        var before = calls.Count;

        clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(await MatchesAsync(reader, "public/app"));
        Assert.Empty(await reader.SnapshotAsync(CancellationToken.None));
        Assert.Equal(before, calls.Count); // served from memory: no storage call

        clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(await MatchesAsync(reader, "public/app"));
        Assert.Equal(before + 1, calls.Count);
        Assert.Equal(["public/*"], await reader.SnapshotAsync(CancellationToken.None));
        Assert.Equal(before + 1, calls.Count);

        await writer.RemoveAsync("public/*", CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(await MatchesAsync(reader, "public/app")); // still the copy from 5 s ago
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(await MatchesAsync(reader, "public/app"));
    }

    [Fact]
    public async Task ChangesThroughTheSameInstance_TakeEffectAtOnce()
    {
        var (clients, _) = await NewTableAsync();
        using var rules = new AnonymousPullRules(clients, new ManualClock(DateTimeOffset.UtcNow));
        Assert.False(await MatchesAsync(rules, "library/alpine"));

        await rules.AddAsync("library/alpine", CancellationToken.None);
        Assert.True(await MatchesAsync(rules, "library/alpine"));

        Assert.True(await rules.RemoveAsync("library/alpine", CancellationToken.None));
        Assert.False(await MatchesAsync(rules, "library/alpine"));
        Assert.False(await rules.RemoveAsync("library/alpine", CancellationToken.None));
    }

    [Fact]
    public async Task Patterns_MatchLikeScopeMapRules()
    {
        var (clients, _) = await NewTableAsync();
        using var rules = new AnonymousPullRules(clients, TimeProvider.System);
        await rules.AddAsync("team/*", CancellationToken.None);
        await rules.AddAsync("library/alpine", CancellationToken.None);

        Assert.True(await MatchesAsync(rules, "team/app"));
        Assert.True(await MatchesAsync(rules, "team/a/b"));
        Assert.False(await MatchesAsync(rules, "team"));
        Assert.False(await MatchesAsync(rules, "teamx/app"));
        Assert.True(await MatchesAsync(rules, "library/alpine"));
        Assert.False(await MatchesAsync(rules, "library/alpine2"));
        Assert.Equal(["library/alpine", "team/*"], await rules.ListAsync(CancellationToken.None));

        await rules.AddAsync("*", CancellationToken.None);
        Assert.True(await MatchesAsync(rules, "anything/at/all"));
    }

    [Fact]
    public async Task AddAsync_RejectsAnInvalidPattern_WithTheValidationMessage()
    {
        var (clients, calls) = await NewTableAsync();
        using var rules = new AnonymousPullRules(clients, TimeProvider.System);
        var before = calls.Count;

        var error = await Assert.ThrowsAsync<ArgumentException>(() => rules.AddAsync("Public/*", CancellationToken.None));

        Assert.Contains("'Public/*' is not a repository pattern", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, calls.Count);
        Assert.Empty(await rules.ListAsync(CancellationToken.None));
    }

    private async Task<(StorageClients Clients, CallCounter Calls)> NewTableAsync()
    {
        var calls = new CallCounter();
        var options = new StorageOptions { ConnectionString = storage.Azurite.ConnectionString, AuthTable = "auth" + Guid.NewGuid().ToString("N")[..12] };
        var clients = new StorageClients(Options.Create(options), [calls]);
        await clients.AuthTable.CreateIfNotExistsAsync();
        return (clients, calls);
    }

    private static async Task<bool> MatchesAsync(AnonymousPullRules rules, string repository) =>
        (await rules.SnapshotAsync(CancellationToken.None)).Any(pattern => new AccessRule(pattern, []).Matches(repository));
}
