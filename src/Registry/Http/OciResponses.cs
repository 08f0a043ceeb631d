using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Registry.Oci;

namespace Registry.Http;

/// <summary>Writes the registry's responses: OCI error bodies and the common headers.</summary>
public static class OciResponses
{
    public const string DockerContentDigest = "Docker-Content-Digest";
    public const string DockerUploadUuid = "Docker-Upload-UUID";

    /// <summary>
    /// Writes <c>{"errors":[{"code","message","detail"}],"correlationId":"..."}</c> with the error's status (headers only
    /// for HEAD). The correlation id is the request's, as in its logs and traces.
    /// </summary>
    public static async Task WriteErrorAsync(HttpContext context, OciError error)
    {
        var response = context.Response;
        response.StatusCode = error.Status;
        if (error.RetryAfter is { } wait)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else if (error.Code == OciErrorCode.Unavailable && !response.Headers.ContainsKey("Retry-After"))
        {
            response.Headers.RetryAfter = "1";
        }
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }
        response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        json.WriteStartArray("errors");
        json.WriteStartObject();
        json.WriteString("code", OciErrorCodes.Wire(error.Code));
        json.WriteString("message", error.Message);
        if (error.Detail is null)
        {
            json.WriteNull("detail");
        }
        else
        {
            json.WriteString("detail", error.Detail);
        }
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteString("correlationId", context.TraceIdentifier);
        json.WriteEndObject();
    }

    public static Task ErrorAsync(HttpContext context, Failure failure, string? detail = null) =>
        WriteErrorAsync(context, new OciError(failure, detail));

    /// <summary>Upload progress headers: Location, Range (<c>0-&lt;last byte&gt;</c>, <c>0-0</c> when empty) and the upload id.</summary>
    public static void SetUploadHeaders(HttpResponse response, string name, string uploadId, long offset)
    {
        response.Headers.Location = $"/v2/{name}/blobs/uploads/{uploadId}";
        response.Headers.Range = $"0-{Math.Max(offset - 1, 0)}";
        response.Headers[DockerUploadUuid] = uploadId;
    }
}
