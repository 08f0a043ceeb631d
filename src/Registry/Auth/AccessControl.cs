using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Registry.Http;
using Registry.Oci;

namespace Registry.Auth;

/// <summary>
/// Who is calling: a verified access token, a registry token (Basic auth), or nobody. <see cref="RetryAfter"/> is set
/// when the caller's address is throttled after too many wrong passwords.
/// </summary>
public sealed record Caller(string? Name, TokenGrant? Grant, RegistryToken? Token, bool RejectedCredentials, TimeSpan? RetryAfter = null)
{
    public static readonly Caller Anonymous = new(null, null, null, false);

    /// <summary>
    /// The anonymous-pull patterns in force for this request (configuration and table <c>auth</c>); null until a
    /// decision needs them, since a caller whose own rights suffice never has them read.
    /// </summary>
    public IReadOnlyList<string>? AnonymousPull { get; init; }

    /// <summary>Why the Authorization header could not be read, when it could not (<see cref="Credentials.Problem"/>).</summary>
    public string? Problem { get; init; }
}

/// <summary>
/// Decides what a caller may do, and answers every refusal the same way whether or not the repository exists:
/// 401 with the Bearer challenge docker and containerd follow, scoped to what the request needed.
/// </summary>
public sealed class AccessControl(
    IOptions<AuthOptions> options, AccessTokens tokens, TokenDirectory directory, AnonymousPullRules anonymousPull,
    PublicEndpoint endpoint, LoginThrottle throttle, TimeProvider time)
{
    private const string CallerKey = "registry.caller";

    public bool Enabled => options.Value.Enabled;

    /// <summary>Resolves the Authorization header once per request.</summary>
    public async Task<Caller> IdentifyAsync(HttpContext context)
    {
        if (context.Items.TryGetValue(CallerKey, out var cached) && cached is Caller known)
        {
            return known;
        }
        var caller = await ResolveAsync(context);
        context.Items[CallerKey] = caller;
        if (caller.Name is not null)
        {
            context.Items[Http.AuditMiddleware.ActorKey] = caller.Name;
        }
        return caller;
    }

    private async Task<Caller> ResolveAsync(HttpContext context)
    {
        var credentials = Credentials.Parse(context.Request.Headers.Authorization);
        switch (credentials.Kind)
        {
            case CredentialKind.None:
                return Caller.Anonymous;
            case CredentialKind.Bearer:
                var grant = await tokens.ValidateAccessAsync(credentials.Secret);
                if (grant is null || !await IsStillUsableAsync(grant.Subject, context.RequestAborted))
                {
                    return new Caller(null, null, null, true);
                }
                return new Caller(grant.Subject == AccessTokens.AnonymousSubject ? null : grant.Subject, grant, null, false);
            case CredentialKind.Basic when credentials.User == RefreshTokenUser:
                var identity = await IdentityOfRefreshTokenAsync(credentials.Secret, context.RequestAborted);
                return identity is null ? new Caller(null, null, null, true) : new Caller(identity.Name, null, identity, false);
            case CredentialKind.Basic:
                var (token, retryAfter) = await VerifyPasswordAsync(context, credentials.User, credentials.Secret);
                return token is null ? new Caller(null, null, null, true, retryAfter) : new Caller(token.Name, null, token, false);
            default:
                // Unreadable: refused without a password check, and the challenge says what was wrong with it.
                return new Caller(null, null, null, true) { Problem = credentials.Problem };
        }
    }

    /// <summary>
    /// Whether the registry token behind an access token is still enabled and unexpired, so disabling a token stops
    /// its access tokens within <see cref="AuthOptions.TokenStateCache"/>. Anonymous and Entra subjects have no row.
    /// </summary>
    private async Task<bool> IsStillUsableAsync(string subject, CancellationToken cancellationToken)
    {
        if (subject == AccessTokens.AnonymousSubject || subject.StartsWith(EntraIdentities.SubjectPrefix, StringComparison.Ordinal))
        {
            return true;
        }
        var token = await directory.FindAsync(subject, cancellationToken);
        return token is not null && token.IsUsableAt(time.GetUtcNow());
    }

    /// <summary>The user name docker sends when the password is a registry refresh token (an Entra ID sign-in).</summary>
    public const string RefreshTokenUser = "00000000-0000-0000-0000-000000000000";

    /// <summary>
    /// Who a refresh token stands for: its registry token, as read at most <see cref="AuthOptions.TokenStateCache"/> ago;
    /// or, for an Entra ID principal, the rules fixed in it at exchange time. Null when invalid.
    /// </summary>
    public async Task<RegistryToken?> IdentityOfRefreshTokenAsync(string refreshToken, CancellationToken cancellationToken)
    {
        var grant = await tokens.ValidateRefreshAsync(refreshToken);
        if (grant is null)
        {
            return null;
        }
        if (grant.Rules is { } rules)
        {
            return new RegistryToken(grant.Subject, [], rules, true, null);
        }
        var token = await directory.FindAsync(grant.Subject, cancellationToken);
        return token is not null && token.IsUsableAt(time.GetUtcNow()) ? token : null;
    }

    /// <summary>
    /// Checks a registry token's password, unless the client's address is throttled (then RetryAfter says for how
    /// long, and no hash work is spent). Every wrong password counts against the address.
    /// </summary>
    public async Task<(RegistryToken? Token, TimeSpan? RetryAfter)> VerifyPasswordAsync(HttpContext context, string user, string password)
    {
        var client = context.Connection.RemoteIpAddress;
        context.Items[Http.AuditMiddleware.ActorKey] = user; // the name tried, for the audit log; never the password
        if (throttle.RetryAfter(client) is { } wait)
        {
            return (null, wait);
        }
        var token = await directory.VerifyAsync(user, password, context.RequestAborted);
        if (token is null)
        {
            throttle.RecordFailure(client);
        }
        return (token, null);
    }

    /// <summary>Answers 429 TOOMANYREQUESTS with Retry-After.</summary>
    public static Task TooManyAttemptsAsync(HttpContext context, TimeSpan retryAfter)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return OciResponses.ErrorAsync(context, OciErrorCode.TooManyRequests, "too many failed logins from this address; retry later");
    }

    /// <summary>Whether <paramref name="caller"/> may do <paramref name="action"/> on <paramref name="repository"/>.</summary>
    public bool Allows(Caller caller, string repository, string action)
    {
        if (!Enabled)
        {
            return true;
        }
        if (action == Actions.MetadataRead && Allows(caller, repository, Actions.Pull))
        {
            return true;
        }
        if (action == Actions.Pull && caller.AnonymousPull?.Any(p => new AccessRule(p, []).Matches(repository)) == true)
        {
            return true;
        }
        if (caller.Grant is { } grant)
        {
            return grant.Access.Any(a => a.Type == "repository" && a.Name == repository && (a.Actions.Contains(action) || a.Actions.Contains(Actions.All)));
        }
        return caller.Token is { } token && RuleAllows(token, repository, action);
    }

    /// <summary>Whether the caller may list the whole catalog (the owner's scope <c>registry:catalog:*</c>).</summary>
    public bool AllowsCatalog(Caller caller) =>
        !Enabled
        || caller.Grant?.Access.Any(a => a.Type == "registry" && a.Name == "catalog" && a.Actions.Contains(Actions.All)) == true
        || (caller.Token is { } token && token.Rules.Any(r => r.Pattern == "*" && r.Actions.Contains(Actions.All)));

    /// <summary>The caller of this request with the anonymous-pull patterns loaded.</summary>
    public async Task<Caller> WithAnonymousPullAsync(HttpContext context, Caller caller)
    {
        if (caller.AnonymousPull is not null)
        {
            return caller;
        }
        var loaded = caller with { AnonymousPull = await AnonymousPatternsAsync(context.RequestAborted) };
        context.Items[CallerKey] = loaded;
        return loaded;
    }

    /// <summary>
    /// The subset of <paramref name="requested"/> that <paramref name="token"/> (null: anonymous) may have. The
    /// anonymous-pull patterns are read only when the token's own rules leave out a pull it asked for.
    /// </summary>
    public async Task<ResourceAccess> GrantAsync(RegistryToken? token, ResourceAccess requested, CancellationToken cancellationToken)
    {
        var own = Grant(token, requested, []);
        var wantsPull = requested.Actions.Any(a => a is Actions.Pull or Actions.MetadataRead or Actions.All);
        if (requested.Type != "repository" || !wantsPull || own.Actions.Contains(Actions.Pull))
        {
            return own;
        }
        return Grant(token, requested, await AnonymousPatternsAsync(cancellationToken));
    }

    /// <summary>Anonymous-pull patterns: those in configuration and those an owner stored with the admin CLI.</summary>
    private async Task<IReadOnlyList<string>> AnonymousPatternsAsync(CancellationToken cancellationToken) =>
        [.. options.Value.AnonymousPull, .. await anonymousPull.SnapshotAsync(cancellationToken)];

    private ResourceAccess Grant(RegistryToken? token, ResourceAccess requested, IReadOnlyList<string> anonymousPatterns)
    {
        var caller = (token is null ? Caller.Anonymous : new Caller(token.Name, null, token, false)) with { AnonymousPull = anonymousPatterns };
        if (requested.Type == "registry" && requested.Name == "catalog")
        {
            return requested with { Actions = AllowsCatalog(caller) ? [Actions.All] : [] };
        }
        if (requested.Type != "repository" || !RepositoryName.TryParse(requested.Name, out _))
        {
            return requested with { Actions = [] };
        }
        var wanted = requested.Actions.Contains(Actions.All) ? Actions.Known.ToList() : requested.Actions.Where(Actions.Known.Contains);
        return requested with { Actions = wanted.Where(a => Allows(caller, requested.Name, a)).Distinct().ToList() };
    }

    /// <summary>
    /// Lets the request through when the caller holds every one of <paramref name="actions"/> on the repository;
    /// otherwise writes the 401 challenge and returns false.
    /// </summary>
    public async Task<bool> AuthorizeAsync(HttpContext context, RepositoryName repository, IReadOnlyList<string> actions)
    {
        if (!Enabled)
        {
            return true;
        }
        var caller = await IdentifyAsync(context);
        if (actions.All(a => Allows(caller, repository.Value, a)))
        {
            return true;
        }
        caller = await WithAnonymousPullAsync(context, caller);
        if (actions.All(a => Allows(caller, repository.Value, a)))
        {
            return true;
        }
        await ChallengeAsync(context, caller, new ResourceAccess("repository", repository.Value, actions));
        return false;
    }

    /// <summary>
    /// Lets any authenticated caller through (the <c>/v2/</c> check docker login makes). A request without credentials
    /// gets the challenge without a storage call: anonymous-pull patterns grant pulls, never a login.
    /// </summary>
    public async Task<bool> AuthenticateAsync(HttpContext context)
    {
        if (!Enabled)
        {
            return true;
        }
        var caller = await IdentifyAsync(context);
        if (caller.Name is not null)
        {
            return true;
        }
        await ChallengeAsync(context, caller, null);
        return false;
    }

    public async Task ChallengeAsync(HttpContext context, Caller caller, ResourceAccess? needed)
    {
        if (caller.RetryAfter is { } wait)
        {
            await TooManyAttemptsAsync(context, wait);
            return;
        }
        var challenge = new StringBuilder($"Bearer realm=\"{endpoint.TokenRealm}\",service=\"{options.Value.Service}\"");
        if (needed is not null)
        {
            challenge.Append($",scope=\"{needed}\"");
        }
        if (caller.RejectedCredentials)
        {
            challenge.Append(",error=\"invalid_token\"");
        }
        else if (caller.Name is not null)
        {
            challenge.Append(",error=\"insufficient_scope\"");
        }
        context.Response.Headers.WWWAuthenticate = challenge.ToString();
        await OciResponses.ErrorAsync(context, OciErrorCode.Unauthorized,
            caller.Problem ?? (needed is null ? "authentication required" : $"access to {needed} requires credentials that grant it"));
    }

    private static bool RuleAllows(RegistryToken token, string repository, string action) =>
        token.Rules.Any(r => r.Matches(repository) && (r.Actions.Contains(action) || r.Actions.Contains(Actions.All)));
}
