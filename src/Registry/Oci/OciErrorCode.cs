namespace Registry.Oci;

/// <summary>The error codes of the OCI distribution spec, plus the two the spec's ecosystem relies on.</summary>
public enum OciErrorCode
{
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    /// <summary>Storage is unavailable; the client should retry. Not in the OCI list, sent with 503.</summary>
    Unavailable,
}

/// <summary>
/// The one table that maps each error code to its wire spelling, default HTTP status and message.
/// A few answers use another status for the same code (416 for a bad upload range, 413 for an oversized
/// manifest); those pass it explicitly.
/// </summary>
public static class OciErrorCodes
{
    public static string Wire(OciErrorCode code) => code switch
    {
        OciErrorCode.BlobUnknown => "BLOB_UNKNOWN",
        OciErrorCode.BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
        OciErrorCode.BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
        OciErrorCode.DigestInvalid => "DIGEST_INVALID",
        OciErrorCode.ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
        OciErrorCode.ManifestInvalid => "MANIFEST_INVALID",
        OciErrorCode.ManifestUnknown => "MANIFEST_UNKNOWN",
        OciErrorCode.NameInvalid => "NAME_INVALID",
        OciErrorCode.NameUnknown => "NAME_UNKNOWN",
        OciErrorCode.SizeInvalid => "SIZE_INVALID",
        OciErrorCode.Unauthorized => "UNAUTHORIZED",
        OciErrorCode.Denied => "DENIED",
        OciErrorCode.Unsupported => "UNSUPPORTED",
        OciErrorCode.TooManyRequests => "TOOMANYREQUESTS",
        OciErrorCode.Unavailable => "UNAVAILABLE",
        _ => throw new ArgumentOutOfRangeException(nameof(code)),
    };

    public static int Status(OciErrorCode code) => code switch
    {
        OciErrorCode.BlobUnknown or OciErrorCode.BlobUploadUnknown or OciErrorCode.ManifestUnknown
            or OciErrorCode.NameUnknown => 404,
        OciErrorCode.Unauthorized => 401,
        OciErrorCode.Denied => 403,
        OciErrorCode.Unsupported => 400,
        OciErrorCode.TooManyRequests => 429,
        OciErrorCode.Unavailable => 503,
        _ => 400,
    };

    public static string Message(OciErrorCode code) => code switch
    {
        OciErrorCode.BlobUnknown => "blob unknown to registry",
        OciErrorCode.BlobUploadInvalid => "blob upload invalid",
        OciErrorCode.BlobUploadUnknown => "blob upload unknown to registry",
        OciErrorCode.DigestInvalid => "provided digest did not match uploaded content",
        OciErrorCode.ManifestBlobUnknown => "manifest references a manifest or blob unknown to registry",
        OciErrorCode.ManifestInvalid => "manifest invalid",
        OciErrorCode.ManifestUnknown => "manifest unknown to registry",
        OciErrorCode.NameInvalid => "invalid repository name",
        OciErrorCode.NameUnknown => "repository name not known to registry",
        OciErrorCode.SizeInvalid => "provided length did not match content length",
        OciErrorCode.Unauthorized => "authentication required",
        OciErrorCode.Denied => "requested access to the resource is denied",
        OciErrorCode.Unsupported => "the operation is unsupported",
        OciErrorCode.TooManyRequests => "too many requests",
        OciErrorCode.Unavailable => "storage is temporarily unavailable, retry later",
        _ => throw new ArgumentOutOfRangeException(nameof(code)),
    };
}
