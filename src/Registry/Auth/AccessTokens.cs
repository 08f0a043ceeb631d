using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Registry.Auth;

/// <summary>What a verified refresh token says: who, and for identities outside the token table, their rules.</summary>
public sealed record RefreshGrant(string Subject, IReadOnlyList<AccessRule>? Rules);

/// <summary>What a verified access token says: who, and which actions on which resources.</summary>
public sealed record TokenGrant(string Subject, IReadOnlyList<ResourceAccess> Access);

/// <summary>
/// Signs and verifies the registry's JWTs (Microsoft.IdentityModel): ES256 only, keys from <see cref="SigningKeys"/> only
/// (a <c>jwk</c>, <c>jku</c> or <c>x5u</c> in a token's header is never trusted or fetched), with <c>iss</c>, <c>aud</c>,
/// <c>exp</c>, <c>nbf</c>, <c>iat</c>, <c>jti</c> and Docker's <c>access</c> claim. Refresh tokens are JWTs of the same
/// key with a different audience, so one can never pass for the other.
/// </summary>
public sealed class AccessTokens : IDisposable
{
    /// <summary>The subject of tokens issued without credentials; no registry token may carry this name.</summary>
    public const string AnonymousSubject = "anonymous";

    private const string Algorithm = SecurityAlgorithms.EcdsaSha256;
    private const string RefreshSuffix = ":refresh";

    private readonly AuthOptions _options;
    private readonly SigningKeys _keys;
    private readonly TimeProvider _time;
    private const int VerifiedCapacity = 10_000;

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    // Access tokens whose signature and claims were checked, until they expire: a client sends the same token with
    // every request, and an ES256 verification costs far more than the rest of a cached manifest read.
    private readonly MemoryCache _verified = new(new MemoryCacheOptions { SizeLimit = VerifiedCapacity });

    public AccessTokens(IOptions<AuthOptions> options, SigningKeys keys, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _keys = keys;
        _time = time;
    }

    /// <summary>A short-lived access token for <paramref name="subject"/> granting <paramref name="access"/>.</summary>
    public (string Token, DateTimeOffset IssuedAt, TimeSpan Lifetime) IssueAccess(string subject, IReadOnlyList<ResourceAccess> access)
    {
        var now = _time.GetUtcNow();
        var claims = new Dictionary<string, object>
        {
            ["access"] = access.Select(a => new Dictionary<string, object>
            {
                ["type"] = a.Type,
                ["name"] = a.Name,
                ["actions"] = a.Actions.ToList<object>(),
            }).ToList<object>(),
        };
        return (Create(subject, _options.Service, now, _options.AccessTokenLifetime, claims), now, _options.AccessTokenLifetime);
    }

    /// <summary>
    /// A long-lived refresh token for <paramref name="subject"/>; it grants nothing by itself. An identity that is not a
    /// registry token (an Entra ID principal) carries its <paramref name="rules"/> inside it, fixed at exchange time.
    /// </summary>
    public string IssueRefresh(string subject, IReadOnlyList<AccessRule>? rules = null, TimeSpan? lifetime = null)
    {
        var claims = new Dictionary<string, object>();
        if (rules is not null)
        {
            claims["rules"] = rules.Select(r => new Dictionary<string, object>
            {
                ["pattern"] = r.Pattern,
                ["actions"] = r.Actions.ToList<object>(),
            }).ToList<object>();
        }
        return Create(subject, _options.Service + RefreshSuffix, _time.GetUtcNow(), lifetime ?? _options.RefreshTokenLifetime, claims);
    }

    /// <summary>The grant of a valid access token; null for anything else (expired, forged, wrong audience, a refresh token).</summary>
    public async Task<TokenGrant?> ValidateAccessAsync(string token)
    {
        if (_verified.TryGetValue(token, out var known) && known is VerifiedAccess verified)
        {
            var now = _time.GetUtcNow().UtcDateTime;
            return verified.From <= now && now <= verified.Until ? verified.Grant : null;
        }
        var result = await ValidateAsync(token, _options.Service);
        if (result is null)
        {
            return null;
        }
        var grant = new TokenGrant(result.Subject, ReadAccess(result));
        // Valid for as long as the lifetime check below would pass it: between nbf and exp, widened by the allowed skew.
        var until = result.ValidTo + _options.ClockSkew;
        _verified.Set(token, new VerifiedAccess(grant, result.ValidFrom - _options.ClockSkew, until), new MemoryCacheEntryOptions
        {
            Size = 1,
            AbsoluteExpiration = new DateTimeOffset(until, TimeSpan.Zero),
        });
        return grant;
    }

    private sealed record VerifiedAccess(TokenGrant Grant, DateTime From, DateTime Until);

    private static List<ResourceAccess> ReadAccess(JsonWebToken result)
    {
        var access = new List<ResourceAccess>();
        if (result.TryGetPayloadValue<JsonElement>("access", out var claim) && claim.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in claim.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object
                    && item.TryGetProperty("type", out var type) && item.TryGetProperty("name", out var name)
                    && item.TryGetProperty("actions", out var actions) && actions.ValueKind == JsonValueKind.Array)
                {
                    access.Add(new ResourceAccess(type.GetString() ?? "", name.GetString() ?? "",
                        actions.EnumerateArray().Select(a => a.GetString() ?? "").ToList()));
                }
            }
        }
        return access;
    }

    /// <summary>The subject (and, for Entra identities, the rules) of a valid refresh token; null otherwise.</summary>
    public async Task<RefreshGrant?> ValidateRefreshAsync(string token)
    {
        var result = await ValidateAsync(token, _options.Service + RefreshSuffix);
        if (result is null)
        {
            return null;
        }
        List<AccessRule>? rules = null;
        if (result.TryGetPayloadValue<JsonElement>("rules", out var claim) && claim.ValueKind == JsonValueKind.Array)
        {
            rules = claim.EnumerateArray()
                .Where(r => r.ValueKind == JsonValueKind.Object && r.TryGetProperty("pattern", out _) && r.TryGetProperty("actions", out _))
                .Select(r => new AccessRule(r.GetProperty("pattern").GetString() ?? "",
                    r.GetProperty("actions").EnumerateArray().Select(a => a.GetString() ?? "").ToList()))
                .ToList();
        }
        return new RefreshGrant(result.Subject, rules);
    }

    public void Dispose() => _verified.Dispose();

    private string Create(string subject, string audience, DateTimeOffset now, TimeSpan lifetime, Dictionary<string, object> claims)
    {
        claims["jti"] = Guid.NewGuid().ToString("N");
        claims["sub"] = subject;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime).UtcDateTime,
            Claims = claims,
            SigningCredentials = _keys.Credentials,
        });
    }

    private async Task<JsonWebToken?> ValidateAsync(string token, string audience)
    {
        if (token.Length > 8192)
        {
            return null;
        }
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = _options.Issuer,
            ValidAudience = audience,
            IssuerSigningKeys = _keys.VerificationKeys,
            ValidAlgorithms = [Algorithm],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = _options.ClockSkew,
            LifetimeValidator = TokenLifetime.Validator(_time),
        };
        var result = await _handler.ValidateTokenAsync(token, parameters);
        return result.IsValid ? result.SecurityToken as JsonWebToken : null;
    }
}
