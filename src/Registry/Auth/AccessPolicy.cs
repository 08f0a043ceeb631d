using System.Net;
using Microsoft.Extensions.Options;
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

    /// <summary>Why the credentials could not be read, when they could not; no password was checked for them.</summary>
    public string? Problem { get; init; }

    /// <summary>Credentials that could not be read: refused without a password check, with what was wrong with them.</summary>
    public static Caller Unreadable(string problem) => new(null, null, null, true) { Problem = problem };
}

/// <summary>What a request may do: go on, or be refused (401 with a challenge, or 429 when the caller is throttled).</summary>
public sealed record AccessDecision(bool Allowed, Caller Caller, ResourceAccess? Needed)
{
    public static AccessDecision Allow(Caller caller) => new(true, caller, null);

    public static AccessDecision Refuse(Caller caller, ResourceAccess? needed) => new(false, caller, needed);
}

/// <summary>
/// Decides what a caller may do, knowing nothing of HTTP: it identifies a caller from the credentials a request
/// carried, and answers each request with an <see cref="AccessDecision"/>. The answer to a refusal is the same
/// whether or not the repository exists, since no storage is read before it.
/// </summary>
public sealed class AccessPolicy(
    IOptions<AuthOptions> options, AccessTokens tokens, TokenDirectory directory, AnonymousPullRules anonymousPull,
    LoginThrottle throttle, TimeProvider time)
{
    /// <summary>The user name docker sends when the password is a registry refresh token (an Entra ID sign-in).</summary>
    public const string RefreshTokenUser = "00000000-0000-0000-0000-000000000000";

    public bool Enabled => options.Value.Enabled;

    /// <summary>The caller behind a Bearer access token: refused when it does not verify or its registry token is no longer usable.</summary>
    public async Task<Caller> IdentifyBearerAsync(string accessToken, CancellationToken cancellationToken)
    {
        var grant = await tokens.ValidateAccessAsync(accessToken);
        if (grant is null || !await IsStillUsableAsync(grant.Subject, cancellationToken))
        {
            return new Caller(null, null, null, true);
        }
        return new Caller(grant.Subject == AccessTokens.AnonymousSubject ? null : grant.Subject, grant, null, false);
    }

    /// <summary>The caller behind Basic credentials: a registry token's password, or (user <see cref="RefreshTokenUser"/>) a refresh token.</summary>
    public async Task<Caller> IdentifyBasicAsync(string user, string password, IPAddress? client, CancellationToken cancellationToken)
    {
        if (user == RefreshTokenUser)
        {
            var identity = await IdentityOfRefreshTokenAsync(password, cancellationToken);
            return identity is null ? new Caller(null, null, null, true) : new Caller(identity.Name, null, identity, false);
        }
        var (token, retryAfter) = await VerifyPasswordAsync(user, password, client, cancellationToken);
        return token is null ? new Caller(null, null, null, true, retryAfter) : new Caller(token.Name, null, token, false);
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
    /// Checks a registry token's password, unless <paramref name="client"/>'s address is throttled (then RetryAfter says
    /// for how long, and no hash work is spent). Every wrong password counts against the address.
    /// </summary>
    public async Task<(RegistryToken? Token, TimeSpan? RetryAfter)> VerifyPasswordAsync(
        string user, string password, IPAddress? client, CancellationToken cancellationToken)
    {
        if (throttle.RetryAfter(client) is { } wait)
        {
            return (null, wait);
        }
        var token = await directory.VerifyAsync(user, password, cancellationToken);
        if (token is null)
        {
            throttle.RecordFailure(client);
        }
        return (token, null);
    }

    /// <summary>Whether <paramref name="caller"/> may do <paramref name="action"/> on <paramref name="repository"/>.</summary>
    public bool Allows(Caller caller, string repository, string action)
    {
        if (!Enabled)
        {
            return true;
        }
        if ((action == Actions.MetadataRead && Allows(caller, repository, Actions.Pull))
            || (action == Actions.Create && Allows(caller, repository, Actions.Push)))
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

    /// <summary>The caller with the anonymous-pull patterns loaded (they are read only when a decision needs them).</summary>
    public async Task<Caller> WithAnonymousPullAsync(Caller caller, CancellationToken cancellationToken) =>
        caller.AnonymousPull is not null ? caller : caller with { AnonymousPull = await AnonymousPatternsAsync(cancellationToken) };

    /// <summary>
    /// Whether the caller holds every one of <paramref name="actions"/> on <paramref name="repository"/>; the
    /// anonymous-pull patterns are read only when the caller's own rights fall short. The decision's caller is the one
    /// to keep for the rest of the request.
    /// </summary>
    public async Task<AccessDecision> DecideAsync(Caller caller, string repository, IReadOnlyList<string> actions, CancellationToken cancellationToken)
    {
        if (!Enabled || actions.All(a => Satisfies(caller, repository, a)))
        {
            return AccessDecision.Allow(caller);
        }
        caller = await WithAnonymousPullAsync(caller, cancellationToken);
        return actions.All(a => Satisfies(caller, repository, a))
            ? AccessDecision.Allow(caller)
            : AccessDecision.Refuse(caller, new ResourceAccess("repository", repository, actions));
    }

    /// <summary>
    /// Whether a route that needs <paramref name="action"/> may go on: push is satisfied by create, whose caller the
    /// handler then keeps from moving an existing tag (the challenge still names push, so clients ask for what they do).
    /// </summary>
    private bool Satisfies(Caller caller, string repository, string action) =>
        Allows(caller, repository, action) || (action == Actions.Push && Allows(caller, repository, Actions.Create));

    /// <summary>Any authenticated caller may go on (the <c>/v2/</c> check docker login makes); anonymous pull grants pulls, never a login.</summary>
    public AccessDecision DecideAuthenticated(Caller caller) =>
        !Enabled || caller.Name is not null ? AccessDecision.Allow(caller) : AccessDecision.Refuse(caller, null);

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
        // Push asked by a create-only token is granted as create.
        var granted = wanted
            .Select(a => a == Actions.Push && !Allows(caller, requested.Name, a) ? Actions.Create : a)
            .Where(a => Allows(caller, requested.Name, a));
        return requested with { Actions = granted.Distinct().ToList() };
    }

    private static bool RuleAllows(RegistryToken token, string repository, string action) =>
        token.Rules.Any(r => r.Matches(repository) && (r.Actions.Contains(action) || r.Actions.Contains(Actions.All)));
}
