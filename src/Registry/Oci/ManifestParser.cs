using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Registry.Oci;

/// <summary>
/// Parses and checks a manifest body. It reports every problem it finds, not just the first, so a client
/// sees all that is wrong at once. It checks only what the bytes say; whether referenced blobs exist is
/// the storage layer's question.
/// <para>
/// Hostile bodies are refused here, never half-read: the body must be UTF-8 (checked before any JSON is read); no
/// object may repeat a key (two <c>mediaType</c>s or two <c>layers</c> are refused, not resolved to the first or
/// the last, since other parsers would pick differently); strings must decode to valid Unicode (an escaped lone
/// surrogate is refused); media types follow the image spec's grammar, which leaves no room for control characters
/// or overlong values.
/// </para>
/// </summary>
public static class ManifestParser
{
    /// <summary>Largest manifest accepted, in bytes.</summary>
    public const int MaxManifestBytes = 4 * 1024 * 1024;

    /// <summary>Most descriptors (config, layers, children, subject) one manifest may carry.</summary>
    public const int MaxDescriptors = 1000;

    /// <summary>
    /// Most characters of <c>annotations</c> in a manifest with a <c>subject</c>: the referrers API answers them, so
    /// they are stored beside the referrer (a Table string property holds 32 Ki characters).
    /// </summary>
    public const int MaxReferrerAnnotationsLength = 16 * 1024;

    /// <summary>The generic type some tools send for any JSON body: accepted when the body names its own mediaType.</summary>
    public const string GenericJson = "application/json";

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>
    /// Parses <paramref name="body"/>; on failure returns null and the problems found. <paramref name="contentType"/>
    /// is the request's Content-Type (parameters ignored, case-insensitive): a manifest media type, which must agree
    /// with the body's <c>mediaType</c> and stands in for it when the body has none; <c>application/json</c> or
    /// absent, when the body has a <c>mediaType</c>; anything else is refused.
    /// </summary>
    public static ManifestDocument? Parse(ReadOnlyMemory<byte> body, string? contentType, out IReadOnlyList<string> problems)
    {
        var found = new List<string>();
        problems = found;
        if (!Utf8.IsValid(body.Span))
        {
            found.Add($"body is not valid UTF-8 (byte {IndexOfInvalidUtf8(body.Span)}); JSON text is UTF-8");
            return null;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, Options);
        }
        catch (JsonException e)
        {
            found.Add($"body is not valid JSON: {e.Message}");
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                found.Add("body must be a JSON object");
                return null;
            }
            var result = ParseRoot(root, StripParameters(contentType)?.ToLowerInvariant(), found);
            return found.Count == 0 ? result : null;
        }
    }

    private static ManifestDocument? ParseRoot(JsonElement root, string? contentType, List<string> problems)
    {
        if (!root.TryGetProperty("schemaVersion", out var version) || version.ValueKind != JsonValueKind.Number
            || !version.TryGetInt32(out var v) || v != 2)
        {
            problems.Add("schemaVersion must be 2");
        }
        var bodyType = OptionalString(root, "mediaType", problems);
        var hasLayers = root.TryGetProperty("layers", out var layersElement);
        var hasManifests = root.TryGetProperty("manifests", out var manifestsElement);
        if (hasLayers && hasManifests)
        {
            problems.Add("a manifest cannot have both 'layers' and 'manifests'");
        }
        var mediaType = ResolveMediaType(bodyType, contentType, problems);
        if (mediaType is null)
        {
            return null;
        }

        var count = 0;
        Descriptor? config = null;
        IReadOnlyList<Descriptor> layers = [];
        IReadOnlyList<Descriptor> manifests = [];
        if (MediaTypes.IsImageManifest(mediaType))
        {
            if (hasManifests)
            {
                problems.Add($"an image manifest ({mediaType}) cannot have 'manifests'");
            }
            config = root.TryGetProperty("config", out var configElement)
                ? ParseDescriptor(configElement, "config", problems, ref count)
                : Missing("config", problems);
            layers = hasLayers ? ParseDescriptors(layersElement, "layers", problems, ref count) : Missing("layers", problems, []);
        }
        else
        {
            if (hasLayers)
            {
                problems.Add($"an index ({mediaType}) cannot have 'layers'");
            }
            manifests = hasManifests
                ? ParseDescriptors(manifestsElement, "manifests", problems, ref count)
                : Missing("manifests", problems, []);
        }
        var subject = root.TryGetProperty("subject", out var subjectElement)
            ? ParseDescriptor(subjectElement, "subject", problems, ref count)
            : null;
        var artifactType = OptionalMediaType(root, "artifactType", problems);
        string? annotations = null;
        if (root.TryGetProperty("annotations", out var annotationsElement))
        {
            if (annotationsElement.ValueKind != JsonValueKind.Object)
            {
                problems.Add("annotations must be an object");
            }
            else
            {
                annotations = annotationsElement.GetRawText();
                if (subject is not null && annotations.Length > MaxReferrerAnnotationsLength)
                {
                    problems.Add($"a manifest with a subject may carry at most {MaxReferrerAnnotationsLength} characters of annotations (the referrers API returns them)");
                }
            }
        }
        return new ManifestDocument
        {
            MediaType = mediaType,
            Config = config,
            Layers = layers,
            Manifests = manifests,
            Subject = subject,
            ArtifactType = artifactType ?? (MediaTypes.IsImageManifest(mediaType) ? config?.MediaType : null),
            AnnotationsJson = annotations,
        };
    }

    private static string? ResolveMediaType(string? bodyType, string? contentType, List<string> problems)
    {
        var before = problems.Count;
        var contentTypeIsManifest = contentType is not null && MediaTypes.IsManifest(contentType);
        if (contentType is not null && !contentTypeIsManifest && contentType != GenericJson)
        {
            problems.Add($"Content-Type '{contentType}' is not a manifest media type: send the manifest's own type "
                + $"(the body's mediaType, such as {MediaTypes.OciManifest}), or {GenericJson} with a mediaType in the body");
        }
        if (bodyType is not null)
        {
            if (!MediaTypes.IsManifest(bodyType))
            {
                problems.Add($"unsupported manifest mediaType '{bodyType}'");
            }
            else if (contentTypeIsManifest && contentType != bodyType)
            {
                problems.Add($"mediaType '{bodyType}' contradicts Content-Type '{contentType}'");
            }
            return problems.Count == before ? bodyType : null;
        }
        if (contentTypeIsManifest)
        {
            if (contentType is MediaTypes.DockerManifest or MediaTypes.DockerManifestList)
            {
                problems.Add($"a {contentType} body must carry its mediaType");
                return null;
            }
            return contentType;
        }
        if (problems.Count == before)
        {
            problems.Add(contentType is null
                ? "the manifest has no mediaType and no Content-Type names its type"
                : $"with Content-Type {contentType} the body must carry its mediaType");
        }
        return null;
    }

    private static List<Descriptor> ParseDescriptors(JsonElement array, string field, List<string> problems, ref int count)
    {
        var result = new List<Descriptor>();
        if (array.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"{field} must be an array");
            return result;
        }
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (count >= MaxDescriptors)
            {
                problems.Add($"a manifest may reference at most {MaxDescriptors} descriptors");
                break;
            }
            var descriptor = ParseDescriptor(item, $"{field}[{index}]", problems, ref count);
            if (descriptor is not null)
            {
                result.Add(descriptor);
            }
            index++;
        }
        return result;
    }

    private static Descriptor? ParseDescriptor(JsonElement element, string field, List<string> problems, ref int count)
    {
        count++;
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{field} must be an object");
            return null;
        }
        var before = problems.Count;
        var mediaType = OptionalString(element, "mediaType", problems, field);
        if (!MediaTypes.IsWellFormed(mediaType))
        {
            problems.Add($"{field}.mediaType must be a media type such as 'type/subtype' (RFC 6838 names, no parameters, at most {MediaTypes.MaxLength} characters)");
        }
        var digestText = OptionalString(element, "digest", problems, field);
        var parsed = Digest.TryParse(digestText, out var digest);
        if (parsed != DigestParse.Valid)
        {
            problems.Add(parsed == DigestParse.Unsupported
                ? $"{field}.digest '{digestText}' uses an algorithm this registry does not support (sha256 and sha512 only)"
                : $"{field}.digest must be a digest such as 'sha256:<64 lowercase hex>'");
        }
        long size = -1;
        if (!element.TryGetProperty("size", out var sizeElement) || sizeElement.ValueKind != JsonValueKind.Number
            || !sizeElement.TryGetInt64(out size) || size < 0)
        {
            problems.Add($"{field}.size must be a non-negative integer");
        }
        var artifactType = OptionalMediaType(element, "artifactType", problems, field);
        var hasUrls = element.TryGetProperty("urls", out var urls);
        if (hasUrls && urls.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"{field}.urls must be an array");
        }
        if (problems.Count != before)
        {
            return null;
        }
        return new Descriptor { MediaType = mediaType!, Digest = digest, Size = size, ArtifactType = artifactType, HasUrls = hasUrls };
    }

    private static string? OptionalString(JsonElement element, string name, List<string> problems, string? parent = null)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{(parent is null ? name : parent + "." + name)} must be a string");
            return null;
        }
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            // The bytes are UTF-8, so only an escape can do this: "\ud800" with no low surrogate after it.
            problems.Add($"{(parent is null ? name : parent + "." + name)} is not valid Unicode (an escaped unpaired surrogate)");
            return null;
        }
    }

    /// <summary>An optional <c>artifactType</c>: absent or empty means none (the spec treats both alike), else well-formed.</summary>
    private static string? OptionalMediaType(JsonElement element, string name, List<string> problems, string? parent = null)
    {
        var value = OptionalString(element, name, problems, parent);
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        if (!MediaTypes.IsWellFormed(value))
        {
            problems.Add($"{(parent is null ? name : parent + "." + name)} must be a media type such as 'application/vnd.example+json' (RFC 6838 names, no parameters, at most {MediaTypes.MaxLength} characters)");
            return null;
        }
        return value;
    }

    /// <summary>Where the first byte that is not part of a valid UTF-8 sequence sits.</summary>
    private static int IndexOfInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        var offset = 0;
        while (offset < bytes.Length)
        {
            var nonAscii = bytes[offset..].IndexOfAnyExceptInRange((byte)0, (byte)0x7f);
            if (nonAscii < 0)
            {
                break;
            }
            offset += nonAscii;
            if (Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed) != OperationStatus.Done)
            {
                return offset;
            }
            offset += consumed;
        }
        return -1;
    }

    private static Descriptor? Missing(string field, List<string> problems)
    {
        problems.Add($"{field} is required");
        return null;
    }

    private static IReadOnlyList<Descriptor> Missing(string field, List<string> problems, IReadOnlyList<Descriptor> empty)
    {
        problems.Add($"{field} is required");
        return empty;
    }

    /// <summary>"application/json; charset=utf-8" → "application/json".</summary>
    public static string? StripParameters(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }
        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim();
    }
}
