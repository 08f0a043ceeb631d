using Registry.Admin;
using Registry.Auth;

namespace Registry.Tests.Admin;

/// <summary><c>registry-admin token ...</c> run in this process against Azurite, checked through the registry's own <see cref="RegistryTokens"/>.</summary>
[Collection(AdminTestGroup.Name)]
public sealed class TokenCommandTests(AdminStorage storage)
{
    [Fact]
    public async Task Create_PrintsThePasswordOnce_ItVerifies_AndTheScopeMapIsStored()
    {
        var name = AdminStorage.NewTokenName("ci");
        var run = await storage.RunAsync("token", "create", name, "--scope", "app/*=push,PULL", "--scope", "lib/base=pull", "-s", "tools=pull,*", "--expires", "90d");

        Assert.Equal(AdminCli.Ok, run.ExitCode);
        var password = Assert.Single(run.Lines);
        Assert.Contains("shown only this once", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(password, run.Error, StringComparison.Ordinal);

        var token = await storage.Tokens.VerifyAsync(name, password, CancellationToken.None);
        Assert.NotNull(token);
        Assert.True(token.Enabled);
        Assert.Single(token.PasswordHashes); // slot 2 stays empty
        Assert.Equal(
            ["app/*=pull,push", "lib/base=pull", "tools=*"],
            token.Rules.Select(r => $"{r.Pattern}={string.Join(',', r.Actions)}"));
        Assert.InRange(token.ExpiresOn!.Value, DateTimeOffset.UtcNow.AddDays(90).AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(90));
        Assert.Null(await storage.Tokens.VerifyAsync(name, password + "x", CancellationToken.None));
    }

    [Fact]
    public async Task Create_WithAnIsoDate_ExpiresAtMidnightUtc()
    {
        var name = AdminStorage.NewTokenName();
        var run = await storage.RunAsync("token", "create", name, "--scope", "app=pull", "--expires", "2999-12-31");

        Assert.Equal(AdminCli.Ok, run.ExitCode);
        var token = await storage.Tokens.FindAsync(name, CancellationToken.None);
        Assert.Equal(new DateTimeOffset(2999, 12, 31, 0, 0, 0, TimeSpan.Zero), token!.ExpiresOn);
    }

    [Fact]
    public async Task Create_ExistingName_Exits1_AndKeepsTheExistingPassword()
    {
        var name = AdminStorage.NewTokenName();
        var first = await storage.RunAsync("token", "create", name, "--scope", "app=pull");

        var second = await storage.RunAsync("token", "create", name, "--scope", "*=*");

        Assert.Equal(AdminCli.UserError, second.ExitCode);
        Assert.Contains($"token '{name}' already exists", second.Error, StringComparison.Ordinal);
        Assert.Equal("", second.Output);
        var token = await storage.Tokens.VerifyAsync(name, first.Lines[0], CancellationToken.None);
        Assert.Equal("app", Assert.Single(token!.Rules).Pattern);
    }

    [Theory]
    [InlineData("unknown action 'fly'; actions are pull, push, create (push without moving an existing tag), delete, metadata-read, metadata-write or *", "--scope", "app/*=pull,fly")]
    [InlineData("has no '=': a scope is <pattern>=<actions>", "--scope", "app")]
    [InlineData("'App/*' is not a repository pattern: use '*', '<name>/*' or a repository name", "--scope", "App/*=pull")]
    [InlineData("'app/**' is not a repository pattern", "--scope", "app/**=pull")]
    [InlineData("grants no action", "--scope", "app=")]
    [InlineData("a token needs at least one --scope")]
    [InlineData("is given more than once", "--scope", "app=pull", "--scope", "app=push")]
    [InlineData("--expires '2001-01-01' is in the past", "--scope", "app=pull", "--expires", "2001-01-01")]
    [InlineData("--expires 'soon' is neither a date nor a duration", "--scope", "app=pull", "--expires", "soon")]
    [InlineData("--expires '0d' is neither a date nor a duration", "--scope", "app=pull", "--expires", "0d")]
    public async Task Create_WithBadInput_Exits1_WithAMessageThatSaysHowToFixIt(string message, params string[] options)
    {
        var name = AdminStorage.NewTokenName();
        var run = await storage.RunAsync(["token", "create", name, .. options]);

        Assert.Equal(AdminCli.UserError, run.ExitCode);
        Assert.Contains(message, run.Error, StringComparison.Ordinal);
        Assert.Equal("", run.Output);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal); // no stack trace
        Assert.Null(await storage.Tokens.FindAsync(name, CancellationToken.None));
    }

    [Fact]
    public async Task Create_WithSeveralProblems_ReportsEveryOne()
    {
        var run = await storage.RunAsync("token", "create", "no spaces", "--scope", "App=pull", "--scope", "app=fly", "--expires", "later");

        Assert.Equal(AdminCli.UserError, run.ExitCode);
        var errors = run.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, errors.Length);
        Assert.All(errors, line => Assert.StartsWith("error: ", line, StringComparison.Ordinal));
        Assert.Contains("'no spaces' is not a token name", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_ShowsNameEnabledExpiryAndScopes_ButNoSecret()
    {
        var name = AdminStorage.NewTokenName("list");
        var created = await storage.RunAsync("token", "create", name, "--scope", "app/*=pull,push", "--scope", "lib=pull", "--expires", "2999-01-02T03:04:05Z");
        var rotated = await storage.RunAsync("token", "rotate", name, "--slot", "2");
        await storage.RunAsync("token", "disable", name);

        var run = await storage.RunAsync("token", "list");

        Assert.Equal(AdminCli.Ok, run.ExitCode);
        Assert.Equal(["NAME", "ENABLED", "EXPIRES", "PASSWORDS", "SCOPES"], run.Lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var row = Assert.Single(run.Lines, line => line.StartsWith(name + " ", StringComparison.Ordinal));
        Assert.Equal([name, "no", "2999-01-02T03:04:05Z", "1,2", "app/*=pull,push", "lib=pull"], row.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        var stored = await storage.Tokens.FindAsync(name, CancellationToken.None);
        var everything = run.Output + run.Error;
        foreach (var secret in stored!.PasswordHashes.Concat([created.Lines[0], rotated.Lines[0]]))
        {
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("pbkdf2", everything, StringComparison.Ordinal);
        foreach (var hash in stored.PasswordHashes)
        {
            Assert.DoesNotContain(hash.Split('$')[^1], everything, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Rotate_Slot2_KeepsTheOldPasswordWorking_ThenSlot1_RetiresIt()
    {
        var name = AdminStorage.NewTokenName("rot");
        var first = (await storage.RunAsync("token", "create", name, "--scope", "app=pull")).Lines[0];

        var rotate2 = await storage.RunAsync("token", "rotate", name, "--slot", "2");

        Assert.Equal(AdminCli.Ok, rotate2.ExitCode);
        var second = Assert.Single(rotate2.Lines);
        Assert.NotEqual(first, second);
        Assert.Contains("slot 1's password keeps working", rotate2.Error, StringComparison.Ordinal);
        Assert.NotNull(await storage.Tokens.VerifyAsync(name, first, CancellationToken.None));
        Assert.NotNull(await storage.Tokens.VerifyAsync(name, second, CancellationToken.None));

        var third = (await storage.RunAsync("token", "rotate", name)).Lines[0]; // slot 1 by default

        Assert.Null(await storage.Tokens.VerifyAsync(name, first, CancellationToken.None));
        Assert.NotNull(await storage.Tokens.VerifyAsync(name, second, CancellationToken.None));
        Assert.NotNull(await storage.Tokens.VerifyAsync(name, third, CancellationToken.None));
        var token = await storage.Tokens.FindAsync(name, CancellationToken.None);
        Assert.Equal(2, token!.PasswordHashes.Count);
        Assert.Equal("app", Assert.Single(token.Rules).Pattern); // the scope map survives rotation
    }

    [Fact]
    public async Task Rotate_MissingTokenOrUnknownSlot_Exits1()
    {
        var missing = await storage.RunAsync("token", "rotate", AdminStorage.NewTokenName());
        Assert.Equal(AdminCli.UserError, missing.ExitCode);
        Assert.Contains("there is no token named", missing.Error, StringComparison.Ordinal);

        var name = AdminStorage.NewTokenName();
        var password = (await storage.RunAsync("token", "create", name, "--scope", "app=pull")).Lines[0];
        var badSlot = await storage.RunAsync("token", "rotate", name, "--slot", "3");
        Assert.Equal(AdminCli.UserError, badSlot.ExitCode);
        Assert.Contains("--slot 3 does not exist: a token has password slots 1 and 2", badSlot.Error, StringComparison.Ordinal);
        Assert.Equal("", badSlot.Output);
        Assert.NotNull(await storage.Tokens.VerifyAsync(name, password, CancellationToken.None));
    }

    [Fact]
    public async Task Disable_MakesVerifyReturnNull_AndEnableRestoresIt()
    {
        var name = AdminStorage.NewTokenName();
        var password = (await storage.RunAsync("token", "create", name, "--scope", "app=pull")).Lines[0];

        var disabled = await storage.RunAsync("token", "disable", name);

        Assert.Equal(AdminCli.Ok, disabled.ExitCode);
        Assert.Null(await storage.Tokens.VerifyAsync(name, password, CancellationToken.None));
        Assert.False((await storage.Tokens.FindAsync(name, CancellationToken.None))!.Enabled);

        var enabled = await storage.RunAsync("token", "enable", name);

        Assert.Equal(AdminCli.Ok, enabled.ExitCode);
        Assert.NotNull(await storage.Tokens.VerifyAsync(name, password, CancellationToken.None));
        Assert.DoesNotContain(password, disabled.Output + disabled.Error + enabled.Output + enabled.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_RemovesTheToken_AndASecondDeleteExits1()
    {
        var name = AdminStorage.NewTokenName();
        var password = (await storage.RunAsync("token", "create", name, "--scope", "app=pull")).Lines[0];

        var deleted = await storage.RunAsync("token", "delete", name);

        Assert.Equal(AdminCli.Ok, deleted.ExitCode);
        Assert.Null(await storage.Tokens.FindAsync(name, CancellationToken.None));
        Assert.Null(await storage.Tokens.VerifyAsync(name, password, CancellationToken.None));
        Assert.DoesNotContain((await storage.Tokens.ListAsync(CancellationToken.None)).Select(t => t.Name), n => n == name);

        var again = await storage.RunAsync("token", "delete", name);
        Assert.Equal(AdminCli.UserError, again.ExitCode);
        Assert.Contains($"there is no token named '{name}'", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnableDisableDelete_WithAnInvalidName_Exit1WithoutTouchingStorage()
    {
        foreach (var command in new[] { "enable", "disable", "delete", "rotate" })
        {
            var run = await AdminStorage.RunWithAsync(Unreachable, "token", command, "bad/name");
            Assert.Equal(AdminCli.UserError, run.ExitCode);
            Assert.Contains("'bad/name' is not a token name", run.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task MalformedConnectionString_Exits1_WithAMessage()
    {
        var run = await AdminStorage.RunWithAsync("not a connection string", "token", "list");

        Assert.Equal(AdminCli.UserError, run.ExitCode);
        Assert.StartsWith("error: the storage configuration is not usable: ", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableStorage_Exits2_WithOneLineAndNoStackTrace()
    {
        var run = await AdminStorage.RunWithAsync(Unreachable, "token", "list");

        Assert.Equal(AdminCli.StorageError, run.ExitCode);
        Assert.StartsWith("error: storage is unreachable: ", run.Error, StringComparison.Ordinal);
        Assert.Single(run.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    // Nothing listens on port 1 of the loopback address.
    private static string Unreachable =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Fixtures.Azurite.AccountKey};" +
        "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;";
}
