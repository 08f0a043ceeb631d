using Microsoft.Extensions.Options;
using Registry.Admin;
using Registry.Auth;
using Registry.Storage;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Admin;

/// <summary>
/// A fresh Azurite of its own for the admin CLI's tests (no table exists until the CLI creates <c>auth</c>), and a
/// way to run the CLI in this process with its output captured. Tests use their own token names and patterns.
/// </summary>
public sealed class AdminStorage : IAsyncLifetime
{
    public Azurite Azurite { get; private set; } = null!;

    public StorageClients Clients { get; private set; } = null!;

    /// <summary>The registry's own view of the tokens, as the token endpoint uses it.</summary>
    public RegistryTokens Tokens => new(Clients, TimeProvider.System);

    public async Task InitializeAsync()
    {
        Azurite = await Azurite.StartAsync();
        Clients = new StorageClients(Options.Create(new StorageOptions { ConnectionString = Azurite.ConnectionString }), []);
    }

    public async Task DisposeAsync() => await Azurite.DisposeAsync();

    /// <summary>Runs <c>registry-admin &lt;args&gt; --connection-string &lt;this Azurite&gt;</c>.</summary>
    public Task<CliRun> RunAsync(params string[] args) => RunWithAsync(Azurite.ConnectionString, args);

    public static async Task<CliRun> RunWithAsync(string connectionString, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await AdminCli.RunAsync([.. args, "--connection-string", connectionString], output, error);
        return new CliRun(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>A token name no other test uses.</summary>
    public static string NewTokenName(string prefix = "t") => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}

public sealed record CliRun(int ExitCode, string Output, string Error)
{
    /// <summary>The output's lines, without the trailing empty one.</summary>
    public IReadOnlyList<string> Lines => Output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
}

[CollectionDefinition(Name)]
public sealed class AdminTestGroup : ICollectionFixture<AdminStorage>
{
    public const string Name = "admin";
}
