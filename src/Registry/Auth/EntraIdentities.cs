using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Registry.Auth;

/// <summary>An Entra ID principal the registry accepted, with the rules its roles and groups map to.</summary>
public sealed record EntraPrincipal(string Subject, IReadOnlyList<AccessRule> Rules);

/// <summary>
/// Validates Entra ID access tokens with Microsoft.IdentityModel: issuer and signing keys from the tenant's OpenID
/// metadata (fetched and refreshed by the library), the configured audience, expiry; only RS256. Roles
/// (<c>roles</c>) and group ids (<c>groups</c>) are mapped to scope-map rules by <see cref="EntraOptions.RoleRules"/>.
/// </summary>
public sealed class EntraIdentities
{
    /// <summary>Subjects of Entra principals start with this; registry token names cannot contain ':'.</summary>
    public const string SubjectPrefix = "entra:";

    private readonly EntraOptions _options;
    private readonly ConfigurationManager<OpenIdConnectConfiguration>? _metadata;
    private readonly JsonWebTokenHandler _handler = new();
    private readonly TimeProvider _time;

    // Parsed once; AuthOptionsValidator refuses to start with a malformed one.
    private readonly Dictionary<string, List<AccessRule>> _rules;

    public EntraIdentities(IOptions<AuthOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value.Entra;
        _time = time;
        _rules = _options.RoleRules.ToDictionary(
            pair => pair.Key, pair => pair.Value.Select(ParseRule).OfType<AccessRule>().ToList(), StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(_options.Authority))
        {
            var address = _options.Authority.TrimEnd('/') + "/.well-known/openid-configuration";
            _metadata = new ConfigurationManager<OpenIdConnectConfiguration>(
                address, new OpenIdConnectConfigurationRetriever(), new HttpDocumentRetriever { RequireHttps = _options.RequireHttpsMetadata });
        }
    }

    public bool Enabled => _metadata is not null;

    /// <summary>The principal of a valid Entra access token that maps to at least one rule; null otherwise.</summary>
    public async Task<EntraPrincipal?> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        if (_metadata is null || token.Length > 16 * 1024)
        {
            return null;
        }
        var configuration = await _metadata.GetConfigurationAsync(cancellationToken);
        var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = configuration.Issuer,
            ValidAudience = _options.Audience,
            IssuerSigningKeys = configuration.SigningKeys,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromMinutes(1),
            LifetimeValidator = TokenLifetime.Validator(_time),
        });
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return null;
        }
        var memberships = Values(jwt, "roles").Concat(Values(jwt, "groups"));
        var rules = memberships.SelectMany(m => _rules.GetValueOrDefault(m) ?? []).ToList();
        var id = jwt.TryGetPayloadValue<string>("oid", out var oid) ? oid : jwt.Subject;
        return rules.Count == 0 || string.IsNullOrEmpty(id) ? null : new EntraPrincipal(SubjectPrefix + id, rules);
    }

    /// <summary><c>app/*=pull,push</c> → a rule; null when malformed.</summary>
    public static AccessRule? ParseRule(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            return null;
        }
        var actions = text[(equals + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return actions.All(a => a == Actions.All || Actions.Known.Contains(a)) && actions.Length > 0 ? new AccessRule(text[..equals].Trim(), actions) : null;
    }

    private static IEnumerable<string> Values(JsonWebToken jwt, string claim) =>
        jwt.Claims.Where(c => c.Type == claim).Select(c => c.Value);
}
