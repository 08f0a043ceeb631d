using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Diagnostics;

namespace Registry.Auth;

/// <summary>
/// The registry tokens as this instance last read them, so that checking a password or an access token's subject
/// needs no storage call on the request path. Every token is read once at start (<see cref="PreloadAsync"/>); an
/// entry is trusted for <see cref="AuthOptions.TokenStateCache"/> after it was read, and re-read in the background
/// once it is half that old and still in use. A change made elsewhere (the admin CLI, another instance) therefore
/// takes effect here within that time, as disabling a token promises. A name this instance has not seen (a token
/// created since) is read from storage each time until it is found; an absence is never remembered.
/// </summary>
public sealed partial class TokenDirectory(RegistryTokens tokens, IOptions<AuthOptions> options, TimeProvider time, ILogger<TokenDirectory> logger)
{
    private readonly ConcurrentDictionary<string, Known> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _refreshing = new(StringComparer.Ordinal);

    private sealed record Known(RegistryToken Token, DateTimeOffset ReadAt);

    /// <summary>Reads every token, so the first requests after a start find them in memory.</summary>
    public async Task PreloadAsync(CancellationToken cancellationToken)
    {
        var readAt = time.GetUtcNow();
        foreach (var token in await tokens.ListAsync(cancellationToken))
        {
            Remember(token.Name, token, readAt);
        }
    }

    /// <summary>The token as stored at most <see cref="AuthOptions.TokenStateCache"/> ago; null when there is none.</summary>
    public async ValueTask<RegistryToken?> FindAsync(string name, CancellationToken cancellationToken) =>
        (await LookupAsync(name, cancellationToken)).Token;

    /// <summary>
    /// The token when <paramref name="password"/> is one of its passwords and it is enabled and unexpired; otherwise
    /// null. A password that fails against a remembered token is tried once more against storage when the stored
    /// token differs, so a rotation or re-enabling made elsewhere is honoured at once.
    /// </summary>
    public async Task<RegistryToken?> VerifyAsync(string name, string password, CancellationToken cancellationToken)
    {
        if (!RegistryTokens.IsValidName(name))
        {
            return null;
        }
        var (token, remembered) = await LookupAsync(name, cancellationToken);
        if (token is not null && await tokens.MatchesAsync(token, password, cancellationToken))
        {
            return token;
        }
        if (!remembered)
        {
            return null;
        }
        var current = await ReadAsync(name, cancellationToken);
        var changed = current is not null
            && (!current.PasswordHashes.SequenceEqual(token!.PasswordHashes) || current.Enabled != token.Enabled || current.ExpiresOn != token.ExpiresOn);
        return changed && await tokens.MatchesAsync(current!, password, cancellationToken) ? current : null;
    }

    private async ValueTask<(RegistryToken? Token, bool Remembered)> LookupAsync(string name, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var trusted = options.Value.TokenStateCache;
        if (_known.TryGetValue(name, out var known) && now - known.ReadAt < trusted)
        {
            if (now - known.ReadAt >= trusted / 2)
            {
                RefreshInBackground(name);
            }
            return (known.Token, true);
        }
        return (await ReadAsync(name, cancellationToken), false);
    }

    private async Task<RegistryToken?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var readAt = time.GetUtcNow();
        var token = await tokens.FindAsync(name, cancellationToken);
        Remember(name, token, readAt);
        return token;
    }

    private void Remember(string name, RegistryToken? token, DateTimeOffset readAt)
    {
        if (token is null)
        {
            _known.TryRemove(name, out _);
            return;
        }
        var fresh = new Known(token, readAt);
        _known.AddOrUpdate(name, fresh, (_, old) => old.ReadAt > readAt ? old : fresh);
    }

    private void RefreshInBackground(string name)
    {
        if (!_refreshing.TryAdd(name, 0))
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await ReadAsync(name, CancellationToken.None);
            }
            catch (Azure.RequestFailedException e)
            {
                // The entry stays until it is too old to trust; then a request reads it itself.
                LogRefreshFailed(logger, name, e);
            }
            finally
            {
                _refreshing.TryRemove(name, out _);
            }
        });
    }

    [LoggerMessage(EventId = LogEvents.TokenDirectory + 1, Level = LogLevel.Warning, Message = "Re-reading registry token {Name} in the background failed")]
    private static partial void LogRefreshFailed(ILogger logger, string name, Exception exception);
}
