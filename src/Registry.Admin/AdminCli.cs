using System.CommandLine;
using System.Diagnostics.CodeAnalysis;
using Azure;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Audit;
using Registry.Auth;
using Registry.Storage;
using Registry.Storage.Audit;

namespace Registry.Admin;

/// <summary>
/// The <c>registry-admin</c> command line: registry tokens (<see cref="TokenCommands"/>) and anonymous-pull patterns
/// (<see cref="AnonymousCommands"/>), written straight to the registry's <c>auth</c> table, and the audit log
/// (<see cref="AuditCommands"/>). Every change it makes is itself audited.
///
/// <para>Exit codes: 0 done; 1 bad input or nothing to act on (the message says which and how to fix it);
/// 2 storage could not be reached or refused the call.</para>
/// </summary>
public static class AdminCli
{
    public const int Ok = 0;
    public const int UserError = 1;
    public const int StorageError = 2;

    /// <summary>Parses <paramref name="args"/> and runs the command: results on <paramref name="output"/>, notes and errors on <paramref name="error"/>.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) =>
        BuildCommand().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });

    private static RootCommand BuildCommand()
    {
        var connectionString = new Option<string?>("--connection-string")
        {
            Description = "Storage connection string. Default: environment variable Storage__ConnectionString, else UseDevelopmentStorage=true (Azurite).",
            Recursive = true,
        };
        var root = new RootCommand("Manages a Registry.Functions registry's tokens and anonymous-pull patterns in its storage.")
        {
            connectionString,
            TokenCommands.Build(connectionString),
            AnonymousCommands.Build(connectionString),
            AuditCommands.Build(connectionString),
            GcCommands.Build(connectionString),
            RepositoryCommands.BuildRepo(connectionString),
            RepositoryCommands.BuildUsage(connectionString),
            CostCommands.Build(connectionString),
            EventCommands.Build(connectionString),
            TagCommands.Build(connectionString),
            RestoreCommands.BuildRestore(connectionString),
            RestoreCommands.BuildDeleted(connectionString),
            PolicyCommands.Build(connectionString),
            QuotaCommands.Build(connectionString),
            RetentionCommands.Build(connectionString),
            ReplicationCommands.Build(connectionString),
        };
        foreach (var command in LockCommands.Build(connectionString))
        {
            root.Subcommands.Add(command);
        }
        return root;
    }

    /// <summary>
    /// Wraps a command's body: builds the storage context (the body checks its input, then calls
    /// <see cref="AdminContext.PrepareAsync"/> before its first storage call), then maps the failures a user can cause or meet to one
    /// line on the error stream and an exit code, never a stack trace.
    /// </summary>
    /// <param name="settings">Settings of the command's own options, over those of the environment (a replica's primary, say).</param>
    internal static Func<ParseResult, CancellationToken, Task<int>> Handler(
        Option<string?> connectionString, Func<AdminContext, ParseResult, CancellationToken, Task<int>> body,
        Func<ParseResult, IEnumerable<KeyValuePair<string, string?>>>? settings = null) =>
        async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            if (!AdminContext.TryCreate(parse.GetValue(connectionString), parse.InvocationConfiguration.Output, error, out var context, out var problem,
                    settings?.Invoke(parse)))
            {
                await error.WriteLineAsync($"error: the storage configuration is not usable: {problem}");
                return UserError;
            }
            using (context)
            {
                try
                {
                    return await body(context, parse, cancellationToken);
                }
                catch (RequestFailedException e)
                {
                    await error.WriteLineAsync($"error: storage refused the call: {Describe(e)}");
                    return StorageError;
                }
                catch (AggregateException e) when (e.InnerExceptions.All(inner => inner is RequestFailedException))
                {
                    await error.WriteLineAsync($"error: storage is unreachable: {Describe((RequestFailedException)e.InnerExceptions[^1])}");
                    return StorageError;
                }
                catch (OptionsValidationException e)
                {
                    await error.WriteLineAsync($"error: a setting is not valid: {e.Message}");
                    return UserError;
                }
                catch (AuthenticationFailedException e)
                {
                    await error.WriteLineAsync($"error: could not get an Entra ID token for storage: {FirstLine(e.Message)}");
                    return StorageError;
                }
            }
        };

    // The message of a RequestFailedException repeats headers and content; the first line says what happened.
    private static string Describe(RequestFailedException e) =>
        e.Status == 0 ? FirstLine(e.InnerException?.Message ?? e.Message) : $"{e.Status} {e.ErrorCode}: {FirstLine(e.Message)}";

    private static string FirstLine(string text) => text.Split('\n', 2)[0].TrimEnd('\r');
}

/// <summary>What every command works with: the storage classes over the configured account, and where to write.</summary>
internal sealed class AdminContext : IDisposable
{
    private readonly bool _createIfMissing;

    private AdminContext(StorageClients clients, ServiceProvider registry, bool createIfMissing, TextWriter output, TextWriter error)
    {
        Clients = clients;
        Registry = registry;
        _createIfMissing = createIfMissing;
        Tokens = new RegistryTokens(clients, Time);
        Audit = new AuditLog(clients);
        Anonymous = new AnonymousPullRules(clients, Time);
        Output = output;
        Error = error;
    }

    public StorageClients Clients { get; }

    /// <summary>The registry's own services over the same storage, for what the CLI runs as the registry does (garbage collection).</summary>
    public ServiceProvider Registry { get; }

    public static TimeProvider Time => TimeProvider.System;

    public RegistryTokens Tokens { get; }

    public AnonymousPullRules Anonymous { get; }

    public AuditLog Audit { get; }

    /// <summary>Records an admin change in the audit log, under the operating-system user who ran the CLI.</summary>
    public Task RecordAsync(string action, string subject, CancellationToken cancellationToken) =>
        Audit.AppendAsync(new AuditEntry(
            Time.GetUtcNow(), "cli:" + Environment.UserName, "admin:" + action, null, subject, 0, null, "registry-admin", "CLI", action),
            cancellationToken);

    /// <summary>Results: passwords, listings.</summary>
    public TextWriter Output { get; }

    /// <summary>Notes for the person at the terminal, and errors.</summary>
    public TextWriter Error { get; }

    /// <summary>
    /// Reads the <c>Storage</c> section from environment variables as the host does (<c>Storage__AuthTable</c>,
    /// <c>Storage__TableServiceUri</c>, ...). The connection string is <paramref name="connectionString"/>, else
    /// <c>Storage__ConnectionString</c>, else Azurite's; an empty one selects the Entra ID endpoints, as in the host.
    /// </summary>
    public static bool TryCreate(
        string? connectionString, TextWriter output, TextWriter error,
        [NotNullWhen(true)] out AdminContext? context, [NotNullWhen(false)] out string? problem,
        IEnumerable<KeyValuePair<string, string?>>? extraSettings = null)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var options = new StorageOptions();
        try
        {
            configuration.GetSection(StorageOptions.Section).Bind(options);
            options.ConnectionString = connectionString
                ?? configuration[$"{StorageOptions.Section}:{nameof(StorageOptions.ConnectionString)}"]
                ?? "UseDevelopmentStorage=true";
            var settings = new ConfigurationBuilder()
                .AddConfiguration(configuration)
                .AddInMemoryCollection([new($"{StorageOptions.Section}:{nameof(StorageOptions.ConnectionString)}", options.ConnectionString)])
                .AddInMemoryCollection(extraSettings ?? [])
                .Build();
            var registry = new ServiceCollection().AddLogging().AddRegistry(settings).BuildServiceProvider();
            var clients = registry.GetRequiredService<StorageClients>();
            // The SDK clients are built on first use; build them now, so a malformed setting is reported here.
            _ = clients.Container;
            context = new AdminContext(clients, registry, options.CreateIfMissing, output, error);
            problem = null;
            return true;
        }
        // What a malformed connection string, endpoint or setting throws, and StorageClients when neither a
        // connection string nor both endpoints are set.
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            context = null;
            problem = e.Message;
            return false;
        }
    }

    /// <summary>
    /// Creates the <c>auth</c> table when missing, as the host does at start-up unless <c>Storage__CreateIfMissing=false</c>.
    /// Commands call it once their input checked out, so bad input is reported without touching storage.
    /// </summary>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (_createIfMissing)
        {
            await Clients.CreateIfMissingAsync(cancellationToken);
        }
    }

    /// <summary>Writes each problem as an <c>error:</c> line and gives the exit code for bad input.</summary>
    public async Task<int> FailAsync(IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            await Error.WriteLineAsync("error: " + problem);
        }
        return AdminCli.UserError;
    }

    public void Dispose()
    {
        Anonymous.Dispose();
        Registry.Dispose();
    }
}
