using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Registry.Auth;
using Registry.Oci;

namespace Registry.Http;

/// <summary>
/// <c>/oauth2/token</c>: Docker's token endpoint. GET with Basic credentials (docker, containerd's fallback) and the
/// OAuth2 POST form (<c>grant_type=password</c> or <c>refresh_token</c>; podman puts its parameters in the query
/// string). It grants the requested scopes only as far as the credentials allow; no credentials means anonymous.
/// <c>/oauth2/exchange</c> turns an Entra ID access token into a registry refresh token.
/// A request either cannot read (a parameter that breaks <see cref="RequestParameters"/>' rules, a body that is not a
/// form, a malformed Authorization header or scope, an unknown grant type) gets a 4xx with an RFC 6749 body
/// (<see cref="OAuthError"/>); wrong credentials get 401 <c>UNAUTHORIZED</c>, as on every other route.
/// </summary>
public static class TokenEndpoint
{
    public const string Path = "/oauth2/token";

    public const string ExchangePath = "/oauth2/exchange";

    /// <summary>Most scopes one token request may name.</summary>
    public const int MaxScopes = 32;

    /// <summary>The one parameter a token request may repeat with different values (docker sends a scope per repository).</summary>
    private static readonly HashSet<string> MultiValued = new(StringComparer.Ordinal) { "scope" };

    public static IEndpointRouteBuilder MapTokenEndpoint(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(Path, [HttpMethods.Get, HttpMethods.Post], IssueAsync);
        endpoints.MapPost(ExchangePath, ExchangeAsync);
        return endpoints;
    }

    /// <summary>
    /// <c>POST /oauth2/exchange</c> (ACR's flow): an Entra ID access token in, a registry refresh token out. Docker then
    /// logs in with user <c>00000000-0000-0000-0000-000000000000</c> and that refresh token as the password.
    /// </summary>
    private static async Task ExchangeAsync(HttpContext context)
    {
        var entra = context.RequestServices.GetRequiredService<EntraIdentities>();
        if (!entra.Enabled)
        {
            await OciResponses.ErrorAsync(context, Failure.NotConfigured, "Entra ID sign-in is not configured (Auth:Entra:Authority)");
            return;
        }
        var parameters = await ReadParametersAsync(context);
        if (parameters is null)
        {
            return;
        }
        if (parameters["grant_type"] != "access_token")
        {
            await new OAuthError(OAuthError.UnsupportedGrantType, "grant_type must be access_token").WriteAsync(context);
            return;
        }
        var principal = await entra.ValidateAsync(parameters["access_token"] ?? "", context.RequestAborted);
        if (principal is null)
        {
            await DenyAsync(context, "the Entra ID token is invalid, expired, for another audience, or maps to no registry rights");
            return;
        }
        context.Items[AuditMiddleware.ActorKey] = principal.Subject;
        var options = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>().Value;
        var refresh = context.RequestServices.GetRequiredService<AccessTokens>().IssueRefresh(principal.Subject, principal.Rules, options.Entra.RefreshTokenLifetime);
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("refresh_token", refresh);
        json.WriteEndObject();
    }

    /// <summary>
    /// <c>/oauth2/token</c>, in its three steps: who is asking (<see cref="IdentifyAsync"/>), what they ask for
    /// (<see cref="ReadScopesAsync"/>), and the token for what of it they may have.
    /// </summary>
    private static async Task IssueAsync(HttpContext context)
    {
        var parameters = await ReadParametersAsync(context);
        if (parameters is null)
        {
            return;
        }
        var (identified, token) = await IdentifyAsync(context, parameters);
        if (!identified)
        {
            return;
        }
        var scopes = await ReadScopesAsync(context, parameters);
        if (scopes is null)
        {
            return;
        }
        // Whatever the credentials do not allow is left out, silently: the answer never says which repositories exist.
        var access = context.RequestServices.GetRequiredService<AccessPolicy>();
        var granted = new List<ResourceAccess>();
        foreach (var scope in scopes)
        {
            var allowed = await access.GrantAsync(token, scope, context.RequestAborted);
            if (allowed.Actions.Count > 0)
            {
                granted.Add(allowed);
            }
        }
        var wantsRefresh = token is not null
            && (parameters["grant_type"] is not null || parameters["offline_token"] == "true" || parameters["access_type"] == "offline");
        await WriteTokenAsync(context, token, granted, wantsRefresh);
    }

    /// <summary>
    /// The registry token the request speaks for, from its grant (refresh token, password) or its Authorization header;
    /// null for an anonymous request. Not identified once a refusal has been answered.
    /// </summary>
    private static async Task<(bool Identified, RegistryToken? Token)> IdentifyAsync(HttpContext context, RequestParameters parameters)
    {
        var gate = context.RequestServices.GetRequiredService<AccessGate>();
        var grantType = parameters["grant_type"];
        if (grantType == "refresh_token")
        {
            var token = await context.RequestServices.GetRequiredService<AccessPolicy>()
                .IdentityOfRefreshTokenAsync(parameters["refresh_token"] ?? "", context.RequestAborted);
            return token is null
                ? (await DeniedAsync(context, "the refresh token is invalid, expired or its registry token was disabled"), null)
                : (true, token);
        }
        if (grantType == "password")
        {
            var (token, retryAfter) = await gate.VerifyPasswordAsync(context, parameters["username"] ?? "", parameters["password"] ?? "");
            return await CheckedAsync(context, token, retryAfter);
        }
        if (grantType is not null)
        {
            await new OAuthError(OAuthError.UnsupportedGrantType, $"grant_type '{grantType}' is not supported: use password or refresh_token").WriteAsync(context);
            return (false, null);
        }
        if (Credentials.Parse(context.Request.Headers.Authorization) is { Kind: CredentialKind.Malformed } malformed)
        {
            await new OAuthError(OAuthError.InvalidRequest, malformed.Problem!).WriteAsync(context);
            return (false, null);
        }
        if (context.Request.Headers.Authorization.Count == 0)
        {
            return (true, null);
        }
        var caller = await gate.IdentifyAsync(context);
        return await CheckedAsync(context, caller.Token, caller.RetryAfter);
    }

    private static async Task<(bool Identified, RegistryToken? Token)> CheckedAsync(HttpContext context, RegistryToken? token, TimeSpan? retryAfter)
    {
        if (retryAfter is { } wait)
        {
            await AccessGate.TooManyAttemptsAsync(context, wait);
            return (false, null);
        }
        return token is null ? (await DeniedAsync(context, "invalid username or password"), null) : (true, token);
    }

    private static async Task<bool> DeniedAsync(HttpContext context, string detail)
    {
        await DenyAsync(context, detail);
        return false;
    }

    /// <summary>The scopes asked for (space-separated, in any number of <c>scope</c> parameters); null once a bad one was answered.</summary>
    private static async Task<List<ResourceAccess>?> ReadScopesAsync(HttpContext context, RequestParameters parameters)
    {
        var scopes = parameters.All("scope").SelectMany(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        if (scopes.Count > MaxScopes)
        {
            await new OAuthError(OAuthError.InvalidScope, $"at most {MaxScopes} scopes per token request").WriteAsync(context);
            return null;
        }
        var parsed = scopes.Select(ResourceAccess.Parse).ToList();
        if (parsed.Any(p => p is null))
        {
            await new OAuthError(OAuthError.InvalidScope, "a scope is '<type>:<name>:<actions>', e.g. 'repository:team/app:pull,push'").WriteAsync(context);
            return null;
        }
        return parsed!;
    }

    private static async Task WriteTokenAsync(HttpContext context, RegistryToken? token, IReadOnlyList<ResourceAccess> granted, bool withRefresh)
    {
        var tokens = context.RequestServices.GetRequiredService<AccessTokens>();
        var subjectName = token?.Name ?? AccessTokens.AnonymousSubject;
        context.Items[AuditMiddleware.ActorKey] = subjectName;
        var issued = tokens.IssueAccess(subjectName, granted);
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("token", issued.Token);
        json.WriteString("access_token", issued.Token);
        json.WriteNumber("expires_in", (int)issued.Lifetime.TotalSeconds);
        json.WriteString("issued_at", issued.IssuedAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        if (withRefresh)
        {
            json.WriteString("refresh_token", tokens.IssueRefresh(subjectName));
        }
        json.WriteEndObject();
    }

    private static Task DenyAsync(HttpContext context, string detail) =>
        OciResponses.ErrorAsync(context, Failure.Unauthorized, detail);

    /// <summary>
    /// Query parameters, plus the form body of a POST, read by <see cref="RequestParameters"/> (only <c>scope</c> may
    /// repeat with different values). Null once a request that breaks its rules has been answered with
    /// <c>invalid_request</c>.
    /// </summary>
    private static async Task<RequestParameters?> ReadParametersAsync(HttpContext context)
    {
        var (parameters, problem) = await RequestParameters.FromQueryAndFormAsync(context.Request, MultiValued);
        if (problem is not null)
        {
            await new OAuthError(OAuthError.InvalidRequest, problem.Detail, problem.Status).WriteAsync(context);
        }
        return parameters;
    }
}
