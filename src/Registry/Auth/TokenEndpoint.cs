using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Registry.Http;
using Registry.Oci;

namespace Registry.Auth;

/// <summary>
/// <c>/oauth2/token</c>: Docker's token endpoint. GET with Basic credentials (docker, containerd's fallback) and the
/// OAuth2 POST form (<c>grant_type=password</c> or <c>refresh_token</c>; podman puts its parameters in the query
/// string). It grants the requested scopes only as far as the credentials allow; no credentials means anonymous.
/// <c>/oauth2/exchange</c> turns an Entra ID access token into a registry refresh token.
/// </summary>
public static class TokenEndpoint
{
    public const string Path = "/oauth2/token";

    public const string ExchangePath = "/oauth2/exchange";

    /// <summary>Most scopes one token request may name.</summary>
    public const int MaxScopes = 32;

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
            await OciResponses.ErrorAsync(context, OciErrorCode.Unsupported, "Entra ID sign-in is not configured (Auth:Entra:Authority)", 404);
            return;
        }
        var parameters = await ReadParametersAsync(context.Request);
        if (parameters.GetValueOrDefault("grant_type")?.FirstOrDefault() != "access_token")
        {
            await OciResponses.ErrorAsync(context, OciErrorCode.Unsupported, "grant_type must be access_token");
            return;
        }
        var principal = await entra.ValidateAsync(parameters.GetValueOrDefault("access_token")?.FirstOrDefault() ?? "", context.RequestAborted);
        if (principal is null)
        {
            await DenyAsync(context, "the Entra ID token is invalid, expired, for another audience, or maps to no registry rights");
            return;
        }
        context.Items[Http.AuditMiddleware.ActorKey] = principal.Subject;
        var options = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>().Value;
        var refresh = context.RequestServices.GetRequiredService<AccessTokens>().IssueRefresh(principal.Subject, principal.Rules, options.Entra.RefreshTokenLifetime);
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("refresh_token", refresh);
        json.WriteEndObject();
    }

    private static async Task IssueAsync(HttpContext context)
    {
        var access = context.RequestServices.GetRequiredService<AccessControl>();
        var tokens = context.RequestServices.GetRequiredService<AccessTokens>();
        var parameters = await ReadParametersAsync(context.Request);
        var ct = context.RequestAborted;

        RegistryToken? token = null;
        var grantType = parameters.GetValueOrDefault("grant_type")?.FirstOrDefault();
        if (grantType == "refresh_token")
        {
            token = await access.IdentityOfRefreshTokenAsync(parameters.GetValueOrDefault("refresh_token")?.FirstOrDefault() ?? "", ct);
            if (token is null)
            {
                await DenyAsync(context, "the refresh token is invalid, expired or its registry token was disabled");
                return;
            }
        }
        else if (grantType == "password")
        {
            (token, var retryAfter) = await access.VerifyPasswordAsync(
                context, parameters.GetValueOrDefault("username")?.FirstOrDefault() ?? "", parameters.GetValueOrDefault("password")?.FirstOrDefault() ?? "");
            if (retryAfter is { } wait)
            {
                await AccessControl.TooManyAttemptsAsync(context, wait);
                return;
            }
            if (token is null)
            {
                await DenyAsync(context, "invalid username or password");
                return;
            }
        }
        else if (grantType is not null)
        {
            await OciResponses.ErrorAsync(context, OciErrorCode.Unsupported, $"grant_type {grantType} is not supported");
            return;
        }
        else if (context.Request.Headers.Authorization.Count > 0)
        {
            var caller = await access.IdentifyAsync(context);
            if (caller.RetryAfter is { } wait)
            {
                await AccessControl.TooManyAttemptsAsync(context, wait);
                return;
            }
            if (caller.Token is null)
            {
                await DenyAsync(context, "invalid username or password");
                return;
            }
            token = caller.Token;
        }

        var scopes = (parameters.GetValueOrDefault("scope") ?? []).SelectMany(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        if (scopes.Count > MaxScopes)
        {
            await OciResponses.ErrorAsync(context, OciErrorCode.Unsupported, $"at most {MaxScopes} scopes per token request");
            return;
        }
        var parsed = scopes.Select(ResourceAccess.Parse).ToList();
        if (parsed.Any(p => p is null))
        {
            await OciResponses.ErrorAsync(context, OciErrorCode.Unsupported, "a scope is '<type>:<name>:<actions>', e.g. 'repository:team/app:pull,push'");
            return;
        }
        // Whatever the credentials do not allow is left out, silently: the answer never says which repositories exist.
        var requested = new List<ResourceAccess>();
        foreach (var scope in parsed)
        {
            var granted = await access.GrantAsync(token, scope!, ct);
            if (granted.Actions.Count > 0)
            {
                requested.Add(granted);
            }
        }
        var subjectName = token?.Name ?? AccessTokens.AnonymousSubject;
        context.Items[Http.AuditMiddleware.ActorKey] = subjectName;
        var issued = tokens.IssueAccess(subjectName, requested);
        var wantsRefresh = token is not null
            && (grantType is not null
                || parameters.GetValueOrDefault("offline_token")?.FirstOrDefault() == "true"
                || parameters.GetValueOrDefault("access_type")?.FirstOrDefault() == "offline");

        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("token", issued.Token);
        json.WriteString("access_token", issued.Token);
        json.WriteNumber("expires_in", (int)issued.Lifetime.TotalSeconds);
        json.WriteString("issued_at", issued.IssuedAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        if (wantsRefresh)
        {
            json.WriteString("refresh_token", tokens.IssueRefresh(subjectName));
        }
        json.WriteEndObject();
    }

    private static Task DenyAsync(HttpContext context, string detail) =>
        OciResponses.ErrorAsync(context, OciErrorCode.Unauthorized, detail);

    /// <summary>Query parameters, plus the form body of a POST; repeated names keep every value.</summary>
    private static async Task<Dictionary<string, List<string>>> ReadParametersAsync(HttpRequest request)
    {
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string key, IEnumerable<string?> values)
        {
            if (!result.TryGetValue(key, out var list))
            {
                result[key] = list = [];
            }
            list.AddRange(values.OfType<string>());
        }
        foreach (var (key, values) in request.Query)
        {
            Add(key, values);
        }
        if (HttpMethods.IsPost(request.Method) && request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            foreach (var (key, values) in form)
            {
                Add(key, values);
            }
        }
        return result;
    }
}
