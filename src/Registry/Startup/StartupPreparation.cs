using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Auth;
using Registry.Diagnostics;
using Registry.Storage;

namespace Registry.Startup;

/// <summary>
/// What an instance does with storage before it serves anything that needs storage: creates the container and tables
/// when configured to (<see cref="StorageOptions.CreateIfMissing"/>, local runs), loads the shared token signing key
/// (<see cref="SigningKeys.LoadAsync"/>, creating it on the very first start) and makes sure the owner token exists. A
/// generated owner password is printed once, on the first start, and never again. Then it reads every registry token
/// into the <see cref="TokenDirectory"/>.
///
/// <para>It starts with the host and runs in the background, so the process listens at once: <c>GET /v2/</c> without
/// credentials (the Bearer challenge), <c>GET /</c> and <c>/health</c> are answered without waiting for it, everything
/// else waits (<see cref="StartupPreparationMiddleware"/>). When an attempt fails, it is logged, everything that waited
/// for it fails with <see cref="StartupNotPreparedException"/> (503 UNAVAILABLE), and the next caller of
/// <see cref="EnsureAsync"/> starts another attempt: one transient failure does not leave the instance broken. At most
/// one attempt runs at a time.</para>
/// </summary>
public sealed partial class StartupPreparation(
    IOptions<StorageOptions> storage, IOptions<AuthOptions> auth, StorageClients clients, SigningKeys keys, RegistryTokens tokens,
    TokenDirectory directory, ILogger<StartupPreparation> logger) : IHostedService, IDisposable
{
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();
    private volatile Task? _attempt;

    /// <summary>Whether an attempt has succeeded; from then on, <see cref="EnsureAsync"/> returns at once.</summary>
    public bool IsPrepared => _attempt is { IsCompletedSuccessfully: true };

    /// <summary>
    /// Returns once storage is prepared, starting an attempt when none is running and none has succeeded.
    /// </summary>
    /// <exception cref="StartupNotPreparedException">The attempt this call waited for failed.</exception>
    public Task EnsureAsync(CancellationToken cancellationToken) =>
        IsPrepared ? Task.CompletedTask : WaitAsync(Current(), cancellationToken);

    /// <summary>Starts the first attempt in the background and returns: the server starts listening meanwhile.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Current();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    public void Dispose() => _stopping.Dispose();

    private Task Current()
    {
        lock (_lock)
        {
            if (_attempt is null or { IsFaulted: true } or { IsCanceled: true })
            {
                // On the thread pool: creating the Azure SDK clients and the first storage calls stay off the caller's thread.
                _attempt = Task.Run(() => PrepareAsync(_stopping.Token));
            }
            return _attempt;
        }
    }

    private static async Task WaitAsync(Task attempt, CancellationToken cancellationToken)
    {
        try
        {
            await attempt.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new StartupNotPreparedException(e);
        }
    }

    private async Task PrepareAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (storage.Value.CreateIfMissing)
            {
                await clients.CreateIfMissingAsync(cancellationToken);
            }
            // The key and the owner are independent: fetched side by side, preparation waits for one round trip, not two.
            await Task.WhenAll(keys.LoadAsync(cancellationToken), EnsureOwnerAsync(cancellationToken));
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogFailed(logger, e);
            throw;
        }
    }

    private async Task EnsureOwnerAsync(CancellationToken cancellationToken)
    {
        var options = auth.Value;
        if (!options.Enabled)
        {
            return;
        }
        var generated = await tokens.EnsureOwnerAsync(options.AdminName, options.AdminPassword, cancellationToken);
        if (generated is not null)
        {
            // To the console and never to the log: logs are exported (Application Insights, OTLP) and kept.
            Console.WriteLine($"Owner credential created (shown once, store it now): user '{options.AdminName}', password '{generated}'");
        }
        // After the owner is settled, so the first logins and token checks find every token in memory.
        await directory.PreloadAsync(cancellationToken);
    }

    [LoggerMessage(EventId = LogEvents.Preparation + 1, Level = LogLevel.Error,
        Message = "startup preparation failed (tables, signing key, owner); requests that need storage get 503 and the next one tries again")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}

/// <summary>The startup preparation (<see cref="StartupPreparation"/>) failed; the inner exception says why.</summary>
public sealed class StartupNotPreparedException(Exception inner)
    : Exception("storage could not be prepared (tables, signing key, owner); a later request tries again", inner);
