namespace Registry.Oci;

/// <summary>
/// Every way a request can fail that the registry expects, named for what happened. <see cref="Failures"/> is the
/// one table that says which OCI error code and HTTP status each one answers with: call sites name the failure and
/// never a status.
/// </summary>
public enum Failure
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
    Unavailable,

    /// <summary>A chunk that does not start at the upload's offset, or raced another request changing it (416).</summary>
    UploadOutOfOrder,

    /// <summary>An upload body that sent nothing for the idle timeout (408).</summary>
    UploadBodyIdle,

    /// <summary>A body Kestrel could not read (broken off, malformed framing).</summary>
    BodyUnreadable,

    /// <summary>A body over what the endpoint accepts (413).</summary>
    BodyTooLarge,

    /// <summary>A manifest over the manifest size limit (413).</summary>
    ManifestTooLarge,

    /// <summary>A blob range outside the blob, or too many ranges (416).</summary>
    RangeUnsatisfiable,

    /// <summary>A delete refused because something of the repository still uses the target (409).</summary>
    InUse,

    /// <summary>What a request was about to change changed meanwhile; nothing was done, a retry may succeed (503).</summary>
    ChangedMeanwhile,

    /// <summary>A method the endpoint does not have (405).</summary>
    MethodNotAllowed,

    /// <summary>A feature this deployment does not have configured (404).</summary>
    NotConfigured,
}

/// <summary>The one mapping from a <see cref="Failure"/> to the OCI error code and the HTTP status it answers with.</summary>
public static class Failures
{
    public static OciErrorCode Code(Failure failure) => failure switch
    {
        Failure.BlobUnknown => OciErrorCode.BlobUnknown,
        Failure.BlobUploadInvalid or Failure.UploadOutOfOrder or Failure.UploadBodyIdle or Failure.BodyUnreadable => OciErrorCode.BlobUploadInvalid,
        Failure.BlobUploadUnknown => OciErrorCode.BlobUploadUnknown,
        Failure.DigestInvalid => OciErrorCode.DigestInvalid,
        Failure.ManifestBlobUnknown => OciErrorCode.ManifestBlobUnknown,
        Failure.ManifestInvalid or Failure.ManifestTooLarge => OciErrorCode.ManifestInvalid,
        Failure.ManifestUnknown => OciErrorCode.ManifestUnknown,
        Failure.NameInvalid => OciErrorCode.NameInvalid,
        Failure.NameUnknown => OciErrorCode.NameUnknown,
        Failure.SizeInvalid or Failure.BodyTooLarge or Failure.RangeUnsatisfiable => OciErrorCode.SizeInvalid,
        Failure.Unauthorized => OciErrorCode.Unauthorized,
        Failure.Denied or Failure.InUse => OciErrorCode.Denied,
        Failure.Unsupported or Failure.MethodNotAllowed or Failure.NotConfigured => OciErrorCode.Unsupported,
        Failure.TooManyRequests => OciErrorCode.TooManyRequests,
        Failure.Unavailable or Failure.ChangedMeanwhile => OciErrorCode.Unavailable,
        _ => throw new ArgumentOutOfRangeException(nameof(failure)),
    };

    public static int Status(Failure failure) => failure switch
    {
        Failure.BlobUnknown or Failure.BlobUploadUnknown or Failure.ManifestUnknown or Failure.NameUnknown or Failure.NotConfigured => 404,
        Failure.Unauthorized => 401,
        Failure.Denied => 403,
        Failure.MethodNotAllowed => 405,
        Failure.UploadBodyIdle => 408,
        Failure.InUse => 409,
        Failure.BodyTooLarge or Failure.ManifestTooLarge => 413,
        Failure.UploadOutOfOrder or Failure.RangeUnsatisfiable => 416,
        Failure.TooManyRequests => 429,
        Failure.Unavailable or Failure.ChangedMeanwhile => 503,
        _ => 400,
    };
}
