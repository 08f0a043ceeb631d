using Azure.Data.Tables;
using Registry.Admin;
using Registry.Auth;

namespace Registry.Tests.Admin;

/// <summary><c>registry-admin anonymous ...</c> run in this process against Azurite.</summary>
[Collection(AdminTestGroup.Name)]
public sealed class AnonymousCommandTests(AdminStorage storage)
{
    [Fact]
    public async Task AddListRemove_RoundTrip()
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        var under = $"public{id}/*";
        var exact = $"library{id}/alpine";

        Assert.Equal(AdminCli.Ok, (await storage.RunAsync("anonymous", "add", under)).ExitCode);
        Assert.Equal(AdminCli.Ok, (await storage.RunAsync("anonymous", "add", exact)).ExitCode);
        Assert.Equal(AdminCli.Ok, (await storage.RunAsync("anonymous", "add", exact)).ExitCode); // adding twice changes nothing

        var listed = await storage.RunAsync("anonymous", "list");
        Assert.Equal(AdminCli.Ok, listed.ExitCode);
        Assert.Contains(under, listed.Lines);
        Assert.Single(listed.Lines, line => line == exact);

        var removed = await storage.RunAsync("anonymous", "remove", under);
        Assert.Equal(AdminCli.Ok, removed.ExitCode);
        var after = await storage.RunAsync("anonymous", "list");
        Assert.DoesNotContain(under, after.Lines);
        Assert.Contains(exact, after.Lines);

        var again = await storage.RunAsync("anonymous", "remove", under);
        Assert.Equal(AdminCli.UserError, again.ExitCode);
        Assert.Contains($"'{under}' is not an anonymous-pull pattern", again.Error, StringComparison.Ordinal);
        await storage.RunAsync("anonymous", "remove", exact);
    }

    [Fact]
    public async Task Add_StoresThePatternUnderPartitionAnonymous_WithSlashSpelledDotTilde()
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        await storage.RunAsync("anonymous", "add", $"team{id}/sub/*");

        var entity = await storage.Clients.AuthTable.GetEntityIfExistsAsync<TableEntity>("anonymous", $"team{id}.~sub.~*");

        Assert.True(entity.HasValue);
        await storage.RunAsync("anonymous", "remove", $"team{id}/sub/*");
    }

    [Theory]
    [InlineData("Public/*")]
    [InlineData("app/**")]
    [InlineData("*/app")]
    [InlineData("app/*/x")]
    [InlineData("a//b")]
    [InlineData("-app")]
    [InlineData("app/")]
    [InlineData("app*")]
    public async Task AddOrRemove_InvalidPattern_Exits1_AndSaysWhatAPatternLooksLike(string pattern)
    {
        foreach (var command in new[] { "add", "remove" })
        {
            var run = await storage.RunAsync("anonymous", command, pattern);

            Assert.Equal(AdminCli.UserError, run.ExitCode);
            Assert.Contains($"'{pattern}' is not a repository pattern: use '*', '<name>/*' or a repository name", run.Error, StringComparison.Ordinal);
            Assert.Equal("", run.Output);
        }
        Assert.DoesNotContain(pattern, (await storage.RunAsync("anonymous", "list")).Lines);
    }

    [Fact]
    public async Task Add_EmptyPattern_Exits1()
    {
        var run = await storage.RunAsync("anonymous", "add", "");

        Assert.Equal(AdminCli.UserError, run.ExitCode);
        Assert.Contains("the pattern is empty", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("public/*")]
    [InlineData("library/alpine")]
    [InlineData("a.b/c__d/e-f")]
    public void ValidatePattern_AcceptsStarPrefixAndExactNames(string pattern) =>
        Assert.Null(AnonymousPullRules.ValidatePattern(pattern));
}
