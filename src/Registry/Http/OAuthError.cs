using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Registry.Http;

/// <summary>
/// A refused token request, answered as RFC 6749 section 5.2 says: <c>{"error","error_description"}</c>, with
/// <c>Cache-Control: no-store</c>. The token endpoints use it for requests they cannot read; wrong credentials keep
/// the OCI <c>UNAUTHORIZED</c> answer every other route gives.
/// </summary>
public sealed record OAuthError(string Error, string Description, int Status = StatusCodes.Status400BadRequest)
{
    /// <summary>A parameter, the form or the Authorization header is malformed, repeated or too long.</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>A scope is malformed, or there are too many.</summary>
    public const string InvalidScope = "invalid_scope";

    public const string UnsupportedGrantType = "unsupported_grant_type";

    public async Task WriteAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.Response;
        response.StatusCode = Status;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        json.WriteString("error", Error);
        json.WriteString("error_description", Description);
        json.WriteEndObject();
    }
}
