using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Registry.Auth;
using Registry.Oci;

namespace Registry.Http;

/// <summary>
/// Where HTTP meets <see cref="AccessPolicy"/>: reads a request's Authorization header once (<see cref="Credentials"/>),
/// keeps the caller for the rest of the request (and names it to the audit log), and writes a refusal: 401 with the
/// Bearer challenge docker and containerd follow, scoped to what the request needed, or 429 with Retry-After.
/// </summary>
public sealed class AccessGate(AccessPolicy policy, PublicEndpoint endpoint, IOptions<AuthOptions> options)
{
    private const string CallerKey = "registry.caller";

    /// <summary>The caller of this request, resolved from its Authorization header once.</summary>
    public async Task<Caller> IdentifyAsync(HttpContext context)
    {
        if (context.Items.TryGetValue(CallerKey, out var cached) && cached is Caller known)
        {
            return known;
        }
        var credentials = Credentials.Parse(context.Request.Headers.Authorization);
        var caller = credentials.Kind switch
        {
            CredentialKind.None => Caller.Anonymous,
            CredentialKind.Bearer => await policy.IdentifyBearerAsync(credentials.Secret, context.RequestAborted),
            CredentialKind.Basic => await IdentifyBasicAsync(context, credentials),
            _ => Caller.Unreadable(credentials.Problem ?? "the Authorization header cannot be read"),
        };
        Keep(context, caller);
        return caller;
    }

    /// <summary>Checks a password for the token endpoint's password grant, naming the user tried to the audit log.</summary>
    public Task<(RegistryToken? Token, TimeSpan? RetryAfter)> VerifyPasswordAsync(HttpContext context, string user, string password)
    {
        context.Items[AuditMiddleware.ActorKey] = user; // the name tried; never the password
        return policy.VerifyPasswordAsync(user, password, context.Connection.RemoteIpAddress, context.RequestAborted);
    }

    /// <summary>Lets the request through when the caller holds every one of <paramref name="actions"/> on the repository; otherwise answers the refusal.</summary>
    public async Task<bool> AuthorizeAsync(HttpContext context, RepositoryName repository, IReadOnlyList<string> actions)
    {
        var decision = await policy.DecideAsync(await IdentifyAsync(context), repository.Value, actions, context.RequestAborted);
        return await ApplyAsync(context, decision);
    }

    /// <summary>Lets any authenticated caller through; a request without credentials gets the challenge without a storage call.</summary>
    public async Task<bool> AuthenticateAsync(HttpContext context) =>
        await ApplyAsync(context, policy.DecideAuthenticated(await IdentifyAsync(context)));

    /// <summary>Keeps the decision's caller for the request; when refused, writes the refusal and returns false.</summary>
    public async Task<bool> ApplyAsync(HttpContext context, AccessDecision decision)
    {
        Keep(context, decision.Caller);
        if (decision.Allowed)
        {
            return true;
        }
        await RefuseAsync(context, decision.Caller, decision.Needed);
        return false;
    }

    /// <summary>Answers 429 TOOMANYREQUESTS with Retry-After.</summary>
    public static Task TooManyAttemptsAsync(HttpContext context, TimeSpan retryAfter)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return OciResponses.ErrorAsync(context, Failure.TooManyRequests, "too many failed logins from this address; retry later");
    }

    private async Task RefuseAsync(HttpContext context, Caller caller, ResourceAccess? needed)
    {
        if (caller.RetryAfter is { } wait)
        {
            await TooManyAttemptsAsync(context, wait);
            return;
        }
        var challenge = new StringBuilder($"Bearer realm=\"{endpoint.TokenRealm}\",service=\"{options.Value.Service}\"");
        if (needed is not null)
        {
            challenge.Append(CultureInfo.InvariantCulture, $",scope=\"{needed}\"");
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
        await OciResponses.ErrorAsync(context, Failure.Unauthorized,
            caller.Problem ?? (needed is null ? "authentication required" : $"access to {needed} requires credentials that grant it"));
    }

    private async Task<Caller> IdentifyBasicAsync(HttpContext context, Credentials credentials)
    {
        if (credentials.User != AccessPolicy.RefreshTokenUser)
        {
            context.Items[AuditMiddleware.ActorKey] = credentials.User; // the name tried; never the password
        }
        return await policy.IdentifyBasicAsync(credentials.User, credentials.Secret, context.Connection.RemoteIpAddress, context.RequestAborted);
    }

    private static void Keep(HttpContext context, Caller caller)
    {
        context.Items[CallerKey] = caller;
        if (caller.Name is not null)
        {
            context.Items[AuditMiddleware.ActorKey] = caller.Name;
        }
    }
}
