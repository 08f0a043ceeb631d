using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Registry.Storage;

namespace Registry.Auth;

/// <summary>A registry token: a named credential with up to two passwords and a scope map.</summary>
public sealed record RegistryToken(
    string Name, IReadOnlyList<string> PasswordHashes, IReadOnlyList<AccessRule> Rules, bool Enabled, DateTimeOffset? ExpiresOn)
{
    public bool IsUsableAt(DateTimeOffset now) => Enabled && (ExpiresOn is null || ExpiresOn > now);
}

/// <summary>
/// Registry tokens in table <c>auth</c>: PartitionKey <c>token</c>, RowKey = the token's name. Each row holds up to
/// two password hashes (Password1, Password2: rotation without downtime), Enabled, ExpiresOn and the scope map as
/// JSON (<c>[{"pattern":"app/*","actions":["pull","push"]}]</c>).
/// </summary>
public sealed class RegistryTokens(StorageClients clients, TimeProvider time)
{
    private const string Partition = "token";

    // Password hashing is deliberately slow; at most this many run at once, so a login storm cannot take every core.
    private static readonly SemaphoreSlim HashWork = new(2, 2);

    public async Task<RegistryToken?> FindAsync(string name, CancellationToken cancellationToken)
    {
        if (!IsValidName(name))
        {
            return null;
        }
        var response = await clients.AuthTable.GetEntityIfExistsAsync<TableEntity>(Partition, name, cancellationToken: cancellationToken);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    public async Task SaveAsync(RegistryToken token, CancellationToken cancellationToken)
    {
        if (!IsValidName(token.Name))
        {
            throw new ArgumentException("token names are 1-64 characters of [A-Za-z0-9_-]", nameof(token));
        }
        var entity = new TableEntity(Partition, token.Name)
        {
            ["Password1"] = token.PasswordHashes.ElementAtOrDefault(0),
            ["Password2"] = token.PasswordHashes.ElementAtOrDefault(1),
            ["Enabled"] = token.Enabled,
            ["ExpiresOn"] = token.ExpiresOn,
            ["Rules"] = JsonSerializer.Serialize(token.Rules.Select(r => new RuleDocument(r.Pattern, [.. r.Actions])).ToList(), AuthJson.Default.ListRuleDocument),
        };
        await clients.AuthTable.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>
    /// Every token, in name order. The records carry the password hashes (as <see cref="FindAsync"/> does); callers
    /// that show tokens must not print them.
    /// </summary>
    public async Task<IReadOnlyList<RegistryToken>> ListAsync(CancellationToken cancellationToken)
    {
        var tokens = new List<RegistryToken>();
        await foreach (var entity in clients.AuthTable.QueryAsync<TableEntity>(e => e.PartitionKey == Partition, cancellationToken: cancellationToken))
        {
            tokens.Add(FromEntity(entity));
        }
        return tokens;
    }

    /// <summary>Removes the token; true when it existed, false when there was no token of that name (nothing changes).</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        if (!IsValidName(name))
        {
            return false;
        }
        // The SDK treats a delete of a missing entity as done: the 404 comes back as the status, not as an exception.
        var response = await clients.AuthTable.DeleteEntityAsync(Partition, name, ETag.All, cancellationToken);
        return response.Status != 404;
    }

    /// <summary>The token when <paramref name="password"/> is one of its passwords and it is enabled and unexpired; otherwise null.</summary>
    public async Task<RegistryToken?> VerifyAsync(string name, string password, CancellationToken cancellationToken)
    {
        var token = await FindAsync(name, cancellationToken);
        return token is not null && await MatchesAsync(token, password, cancellationToken) ? token : null;
    }

    /// <summary>Whether <paramref name="token"/> is enabled, unexpired and has <paramref name="password"/> as one of its passwords.</summary>
    public async Task<bool> MatchesAsync(RegistryToken token, string password, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (!token.IsUsableAt(time.GetUtcNow()))
        {
            return false;
        }
        await HashWork.WaitAsync(cancellationToken);
        try
        {
            return token.PasswordHashes.Any(hash => PasswordHasher.Verify(password, hash));
        }
        finally
        {
            HashWork.Release();
        }
    }

    /// <summary>
    /// Makes sure the owner token exists with every right. With a configured password it is (re)hashed when it no
    /// longer matches; without one, a password is generated on the first start and returned so it can be shown once.
    /// </summary>
    public async Task<string?> EnsureOwnerAsync(string name, string? configuredPassword, CancellationToken cancellationToken)
    {
        var existing = await FindAsync(name, cancellationToken);
        var rules = new[] { new AccessRule("*", [Actions.All]) };
        if (configuredPassword is not null)
        {
            if (existing is null || !existing.PasswordHashes.Any(hash => PasswordHasher.Verify(configuredPassword, hash)))
            {
                await SaveAsync(new RegistryToken(name, [PasswordHasher.Hash(configuredPassword)], rules, true, null), cancellationToken);
            }
            return null;
        }
        if (existing is not null)
        {
            return null;
        }
        var generated = PasswordHasher.NewPassword();
        await SaveAsync(new RegistryToken(name, [PasswordHasher.Hash(generated)], rules, true, null), cancellationToken);
        return generated;
    }

    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && name != AccessTokens.AnonymousSubject && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static RegistryToken FromEntity(TableEntity entity)
    {
        var hashes = new[] { entity.GetString("Password1"), entity.GetString("Password2") }.OfType<string>().ToList();
        var rules = JsonSerializer.Deserialize(entity.GetString("Rules") ?? "[]", AuthJson.Default.ListRuleDocument) ?? [];
        return new RegistryToken(
            entity.RowKey,
            hashes,
            rules.Select(r => new AccessRule(r.Pattern, r.Actions)).ToList(),
            entity.GetBoolean("Enabled") ?? false,
            entity.GetDateTimeOffset("ExpiresOn"));
    }
}

internal sealed record RuleDocument(string Pattern, List<string> Actions);

[System.Text.Json.Serialization.JsonSerializable(typeof(List<RuleDocument>))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class AuthJson : System.Text.Json.Serialization.JsonSerializerContext;
