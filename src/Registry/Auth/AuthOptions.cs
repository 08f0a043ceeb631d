namespace Registry.Auth;

/// <summary>Access control settings (configuration section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>When false every request is anonymous and allowed: for local experiments only.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The <c>service</c> of the Bearer challenge and the <c>aud</c> of access tokens.</summary>
    public string Service { get; set; } = "registry";

    /// <summary>The <c>iss</c> of the tokens this registry signs.</summary>
    public string Issuer { get; set; } = "registry-functions";

    /// <summary>
    /// The ES256 (P-256) private key that signs access tokens, as PEM. When unset an ephemeral key is generated at
    /// start-up: fine for one local process, wrong for several instances (each would reject the others' tokens).
    /// </summary>
    public string? SigningKeyPem { get; set; }

    /// <summary>Public keys (PEM) of earlier signing keys whose tokens are still accepted: key rotation without downtime.</summary>
    public List<string> VerificationKeysPem { get; set; } = [];

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long an instance trusts its last read of a registry token (passwords, enabled, expiry, rules) before
    /// reading it again (<see cref="TokenDirectory"/>): the longest a disabled token, or a rotated-out password, keeps
    /// working on an instance that did not make the change.
    /// </summary>
    public TimeSpan TokenStateCache { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Accepted clock difference when checking <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The owner token's name.</summary>
    public string AdminName { get; set; } = "admin";

    /// <summary>The owner's password. When unset, one is generated at the first start and printed once.</summary>
    public string? AdminPassword { get; set; }

    /// <summary>Repository patterns (<c>public/*</c>, <c>library/alpine</c>) anyone may pull without credentials.</summary>
    public List<string> AnonymousPull { get; set; } = [];

    /// <summary>Entra ID sign-in; off while <see cref="EntraOptions.Authority"/> is unset.</summary>
    public EntraOptions Entra { get; set; } = new();
}

/// <summary>
/// Entra ID identities (people, managed identities, CI federated identities) exchange their Entra access token for a
/// registry refresh token at <c>/oauth2/exchange</c>. Which repositories they reach comes from their app roles or
/// group ids, mapped to scope-map rules here.
/// </summary>
public sealed class EntraOptions
{
    /// <summary>e.g. <c>https://login.microsoftonline.com/&lt;tenant id&gt;/v2.0</c>; its OpenID metadata gives issuer and keys.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience Entra tokens must carry: the registry's application id URI or client id.</summary>
    public string? Audience { get; set; }

    /// <summary>Fetch metadata over HTTPS only (tests point it at a local endpoint).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>App role name or group object id → rules like <c>app/*=pull,push</c>.</summary>
    public Dictionary<string, List<string>> RoleRules { get; set; } = [];

    /// <summary>How long the registry refresh token from an exchange is valid (ACR: 3 hours).</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromHours(3);
}
